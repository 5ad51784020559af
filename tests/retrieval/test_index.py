"""index.py: building, saving and loading faiss binary indexes with a fingerprint."""

from __future__ import annotations

import os

import numpy as np
import pytest

from spikinghash.errors import ConfigError, DataError, UserError
from spikinghash.retrieval.codes import pack_codes
from spikinghash.retrieval.index import (StaleIndexError, build_index, fingerprint, load_index,
                                         save_index)

SPEC = {"model": "spikinghash_s", "bits": 13, "checkpoint_sha256": "ab" * 32}


@pytest.fixture
def database(rng):
    codes = rng.integers(0, 2, size=(200, 13), dtype=np.uint8)
    return pack_codes(codes), rng.integers(0, 10, size=200)


def test_fingerprint_is_sha256_of_canonical_json():
    import hashlib
    import json

    want = hashlib.sha256(json.dumps({"a": 1, "b": [2, 3]}, sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()
    assert fingerprint({"b": [2, 3], "a": 1}) == want
    assert fingerprint("model-v1") == hashlib.sha256(b"model-v1").hexdigest()
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    with pytest.raises(ConfigError, match="JSON"):
        fingerprint({"a": object()})


@pytest.mark.parametrize("kind,params", [("flat", {}), ("hnsw", {"M": 8, "ef_search": 16}),
                                         ("ivf", {"nlist": 4, "nprobe": 4})])
def test_index_distances_match_popcount(database, brute, kind, params):
    codes, labels = database
    index = build_index(codes, labels, 13, SPEC, kind=kind, params=params).index
    assert index.ntotal == 200 and index.d == 16
    dist, rows = index.search(codes[:5], 10)
    for qi in range(5):
        for dval, row in zip(dist[qi], rows[qi]):
            if row >= 0:
                assert dval == brute.popcount_xor(bytes(codes[qi]), bytes(codes[row]))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_load_round_trip(tmp_path, database, kind):
    codes, labels = database
    built = build_index(codes, labels, 13, SPEC, kind=kind)
    path = tmp_path / "index" / f"{kind}.npz"
    save_index(path, built)
    assert os.listdir(path.parent) == [f"{kind}.npz"]
    with np.load(path, allow_pickle=False) as npz:  # readable without pickles
        assert str(npz["kind"]) == kind
    loaded = load_index(path, dict(reversed(list(SPEC.items()))))  # key order is irrelevant
    assert (loaded.kind, loaded.bits, loaded.fingerprint) == (kind, 13, built.fingerprint)
    np.testing.assert_array_equal(loaded.labels, labels)
    d0, i0 = built.index.search(codes[:8], 5)
    d1, i1 = loaded.index.search(codes[:8], 5)
    np.testing.assert_array_equal(d0, d1)
    np.testing.assert_array_equal(i0, i1)


def test_fingerprint_mismatch_is_refused(tmp_path, database):
    codes, labels = database
    path = tmp_path / "index.npz"
    save_index(path, build_index(codes, labels, 13, SPEC))
    with pytest.raises(StaleIndexError, match="fingerprint .* delete it and build the index again"):
        load_index(path, {**SPEC, "bits": 64})
    assert issubclass(StaleIndexError, UserError)


def test_bad_index_requests(tmp_path, database):
    codes, labels = database
    with pytest.raises(ConfigError, match="unknown index kind"):
        build_index(codes, labels, 13, SPEC, kind="lsh")
    with pytest.raises(ConfigError, match="no option nprobe"):
        build_index(codes, labels, 13, SPEC, kind="hnsw", params={"nprobe": 3})
    with pytest.raises(ConfigError, match="nlist"):
        build_index(codes, labels, 13, SPEC, kind="ivf", params={"nlist": 500})
    with pytest.raises(DataError, match="uint8 of shape"):
        build_index(codes, labels, 64, SPEC)
    with pytest.raises(DataError, match="does not exist"):
        load_index(tmp_path / "nope.npz", SPEC)
    broken = tmp_path / "broken.npz"
    np.savez(broken, format=1, index=np.arange(10, dtype=np.uint8), labels=labels, bits=13,
             kind="flat", fingerprint=fingerprint(SPEC))
    with pytest.raises(DataError, match="corrupt"):
        load_index(broken, SPEC)
