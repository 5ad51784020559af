"""codes.py: bit packing, zero padding and the codes.npz file."""

from __future__ import annotations

import os

import numpy as np
import pytest

from spikinghash.errors import DataError, UserError
from spikinghash.retrieval.codes import (CodeSet, load_codes, pack_codes, save_codes,
                                         unpack_codes)


def _pack_by_hand(row: list[int]) -> list[int]:
    """MSB-first bytes, the tail padded with zeros, built from a bit string."""
    text = "".join(map(str, row))
    text += "0" * (-len(text) % 8)
    return [int(text[i:i + 8], 2) for i in range(0, len(text), 8)]


@pytest.mark.parametrize("bits", [1, 7, 8, 13, 16, 64, 70])
def test_pack_matches_hand_packing_and_round_trips(rng, bits):
    codes = rng.integers(0, 2, size=(5, bits), dtype=np.uint8)
    packed = pack_codes(codes)
    assert packed.dtype == np.uint8 and packed.shape == (5, (bits + 7) // 8)
    assert packed.tolist() == [_pack_by_hand(row) for row in codes.tolist()]
    np.testing.assert_array_equal(unpack_codes(packed, bits), codes)


@pytest.mark.parametrize("bits", [1, 5, 13, 63])
def test_padding_never_changes_a_distance(rng, brute, bits):
    codes = rng.integers(0, 2, size=(12, bits), dtype=np.uint8)
    packed = pack_codes(codes)
    for i in range(12):
        for j in range(12):
            assert brute.popcount_xor(bytes(packed[i]), bytes(packed[j])) == \
                brute.hamming(codes[i].tolist(), codes[j].tolist())


def test_pack_rejects_non_binary_and_bad_shapes():
    with pytest.raises(DataError, match="only 0 and 1"):
        pack_codes(np.array([[0, 2, 1]]))
    with pytest.raises(DataError, match=r"\[N, L\]"):
        pack_codes(np.array([0, 1, 1]))


def _codeset(rng, bits: int = 13) -> CodeSet:
    return CodeSet.from_bits(rng.integers(0, 2, size=(4, bits)), rng.integers(0, 2, size=(9, bits)),
                             np.array([0, 1, 2, 1]), rng.integers(0, 3, size=9))


def test_codes_npz_round_trip(tmp_path, rng):
    codes = _codeset(rng)
    path = tmp_path / "run" / "codes.npz"
    save_codes(path, codes)
    assert sorted(os.listdir(path.parent)) == ["codes.npz"]  # no temporary file left behind
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["bits", "db_codes", "db_labels", "query_codes", "query_labels"]
        assert npz["query_codes"].dtype == np.uint8
    back = load_codes(path)
    assert back.bits == 13
    for name in ("query_codes", "db_codes", "query_labels", "db_labels"):
        np.testing.assert_array_equal(getattr(back, name), getattr(codes, name))


def test_save_is_atomic_when_writing_fails(tmp_path, rng, monkeypatch):
    path = tmp_path / "codes.npz"
    save_codes(path, _codeset(rng))
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", explode)
    with pytest.raises(OSError):
        save_codes(path, _codeset(rng, bits=8))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["codes.npz"]


def test_load_refuses_bad_files(tmp_path, rng):
    with pytest.raises(DataError, match="does not exist"):
        load_codes(tmp_path / "missing.npz")
    codes = _codeset(rng)
    partial = tmp_path / "partial.npz"
    np.savez(partial, query_codes=codes.query_codes, bits=13)
    with pytest.raises(DataError, match="lacks db_codes"):
        load_codes(partial)
    dirty = tmp_path / "dirty.npz"
    db = codes.db_codes.copy()
    db[0, -1] |= 1  # a padding bit (13 bits use 3 of the last byte's 8)
    np.savez(dirty, query_codes=codes.query_codes, db_codes=db, query_labels=codes.query_labels,
             db_labels=codes.db_labels, bits=13)
    with pytest.raises(DataError, match="padding"):
        load_codes(dirty)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, query_codes=np.array([object()]), db_codes=db, query_labels=codes.query_labels,
             db_labels=codes.db_labels, bits=13)
    with pytest.raises(UserError, match="unreadable"):
        load_codes(pickled)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not a zip file")
    with pytest.raises(DataError, match="unreadable"):
        load_codes(garbage)


def test_codeset_checks_labels_and_widths(rng):
    q, d = pack_codes(rng.integers(0, 2, (2, 10))), pack_codes(rng.integers(0, 2, (3, 10)))
    with pytest.raises(DataError, match="db_labels"):
        CodeSet(q, d, np.array([0, 1]), np.array([0, 1]), 10)
    with pytest.raises(DataError, match="uint8 of shape"):
        CodeSet(q, d, np.array([0, 1]), np.array([0, 1, 2]), 17)
    with pytest.raises(DataError, match="negative"):
        CodeSet(q, d, np.array([0, -1]), np.array([0, 1, 2]), 10)
