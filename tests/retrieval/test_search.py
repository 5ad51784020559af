"""search.py: top-k neighbours, distances and labels against a brute-force ranking."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.retrieval.codes import pack_codes
from spikinghash.retrieval.index import build_index, load_index, save_index
from spikinghash.retrieval.search import search


@pytest.mark.parametrize("bits,k", [(1, 3), (4, 10), (13, 5), (13, 60), (64, 1)])
def test_exact_search_matches_brute_force(rng, brute, bits, k):
    q = rng.integers(0, 2, size=(6, bits), dtype=np.uint8)
    d = rng.integers(0, 2, size=(50, bits), dtype=np.uint8)
    labels = rng.integers(0, 7, size=50)
    index = build_index(pack_codes(d), labels, bits, "spec")
    got = search(index, pack_codes(q), k)
    kk = min(k, 50)
    assert got.indices.shape == got.distances.shape == got.labels.shape == (6, kk)
    for row, query in enumerate(q.tolist()):
        order = brute.rank(query, d.tolist())[:kk]
        assert got.indices[row].tolist() == order
        assert got.distances[row].tolist() == [brute.hamming(query, d[i].tolist()) for i in order]
        assert got.labels[row].tolist() == [labels[i] for i in order]


def test_search_after_reload(tmp_path, rng):
    d = pack_codes(rng.integers(0, 2, size=(30, 9), dtype=np.uint8))
    labels = rng.integers(0, 3, size=30)
    built = build_index(d, labels, 9, {"run": 1})
    save_index(tmp_path / "i.npz", built)
    a, b = search(built, d[:4], 7), search(load_index(tmp_path / "i.npz", {"run": 1}), d[:4], 7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert (a.distances[:, 0] == 0).all()


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_search_is_sorted_and_true(rng, brute, kind):
    d = rng.integers(0, 2, size=(300, 32), dtype=np.uint8)
    q = rng.integers(0, 2, size=(10, 32), dtype=np.uint8)
    labels = rng.integers(0, 5, size=300)
    params = {"M": 8, "ef_search": 4} if kind == "hnsw" else {"nlist": 8, "nprobe": 8}
    index = build_index(pack_codes(d), labels, 32, "spec", kind=kind, params=params)
    got = search(index, pack_codes(q), 50)
    for row, query in enumerate(q.tolist()):
        found = got.indices[row]
        assert (found >= 0).all()  # HNSW's beam is widened to k, IVF visits every list here
        dist = [brute.hamming(query, d[i].tolist()) for i in found]
        assert got.distances[row].tolist() == dist
        assert sorted(zip(dist, found.tolist())) == list(zip(dist, found.tolist()))
        assert got.labels[row].tolist() == [labels[i] for i in found]
        exact = sorted(brute.hamming(query, x) for x in d.tolist())[:50]
        assert all(a >= b for a, b in zip(dist, exact))  # never nearer than the true neighbours
    if kind == "ivf":  # nprobe = nlist scans everything: the distances are the exact ones
        assert got.distances.tolist() == [
            sorted(brute.hamming(qq, x) for x in d.tolist())[:50] for qq in q.tolist()]


def test_empty_slots_are_marked(rng):
    d = pack_codes(rng.integers(0, 2, size=(40, 16), dtype=np.uint8))
    index = build_index(d, np.zeros(40, dtype=int), 16, "s", kind="ivf", params={"nlist": 8, "nprobe": 1})
    got = search(index, d[:3], 40)
    empty = got.indices < 0
    assert empty.any()  # one list out of eight cannot hold all 40 codes
    assert (got.distances[empty] == -1).all() and (got.labels[empty] == -1).all()
    for row in range(3):  # empty slots come after every found item
        n_found = int((~empty[row]).sum())
        assert not empty[row, :n_found].any() and empty[row, n_found:].all()


def test_bad_k(rng):
    d = pack_codes(rng.integers(0, 2, size=(5, 8), dtype=np.uint8))
    index = build_index(d, np.arange(5), 8, "s")
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ConfigError, match="k must be"):
            search(index, d, bad)
