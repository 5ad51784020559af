"""Hash codes at rest: bit packing and the ``codes.npz`` file.

A code matrix ``[N, L]`` of {0, 1} is stored as ``[N, ceil(L / 8)]`` uint8, eight
bits per byte, most significant bit first (``np.packbits``' order, which is also
the byte layout faiss binary indexes expect). When ``L`` is not a multiple of 8 the
last byte is padded with zero bits. Every code carries the same zeros there, so the
padding XORs to zero and never changes a Hamming distance; :func:`load_codes`
refuses a file whose padding bits are not zero.

``codes.npz`` holds five arrays and nothing pickled:

- ``query_codes`` ``[Q, ceil(L/8)]`` uint8, packed query codes
- ``db_codes`` ``[N, ceil(L/8)]`` uint8, packed database (retrieval set) codes
- ``query_labels`` ``[Q]`` int64 class index, ``db_labels`` ``[N]`` int64
- ``bits`` 0-d int64, the code length ``L``
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass

import numpy as np

from spikinghash.atomic_io import write_npz
from spikinghash.errors import DataError

CODES_KEYS = ("query_codes", "db_codes", "query_labels", "db_labels", "bits")


def code_bytes(bits: int) -> int:
    """Bytes per packed code of ``bits`` bits: ``ceil(bits / 8)``."""
    return (bits + 7) // 8


def pack_codes(codes: np.ndarray) -> np.ndarray:
    """Pack a {0, 1} code matrix ``[N, L]`` into ``[N, ceil(L/8)]`` uint8 (zero padded)."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] < 1:
        raise DataError(f"hash codes must be a [N, L] matrix with L >= 1, got shape {codes.shape}; "
                        "pass one code per row")
    if codes.size and not np.isin(codes, (0, 1)).all():
        raise DataError("hash codes must hold only 0 and 1; binarise them (code > 0) before packing")
    return np.packbits(codes.astype(np.uint8), axis=1)


def unpack_codes(packed: np.ndarray, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``[N, ceil(L/8)]`` uint8 to ``[N, L]`` uint8 in {0, 1}."""
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=1, count=bits)


def check_packed(packed: np.ndarray, bits: int, name: str) -> np.ndarray:
    """Validate a packed code matrix (dtype, width, zero padding) and return it C-contiguous."""
    if bits < 1:
        raise DataError(f"code length must be at least 1 bit, got {bits}; check the 'bits' value")
    if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != code_bytes(bits):
        raise DataError(f"{name} must be uint8 of shape [N, {code_bytes(bits)}] for {bits}-bit codes, "
                        f"got {packed.dtype} {packed.shape}; pack the codes with pack_codes()")
    pad = 8 * code_bytes(bits) - bits
    if pad and packed.shape[0] and np.any(packed[:, -1] & np.uint8((1 << pad) - 1)):
        raise DataError(f"{name} has non-zero padding bits beyond bit {bits}; "
                        "re-pack the codes with pack_codes() so padding cannot change distances")
    return np.ascontiguousarray(packed)


def check_labels(labels: np.ndarray, rows: int, name: str) -> np.ndarray:
    """Validate class labels ``[rows]`` (non-negative integers) and return them as int64."""
    labels = np.asarray(labels)
    if labels.shape != (rows,) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{name} must be {rows} integer class indices (one per code), "
                        f"got {labels.dtype} {labels.shape}; store one class index per sample")
    if rows and labels.min() < 0:
        raise DataError(f"{name} holds negative class indices; use indices 0..C-1")
    return labels.astype(np.int64)


@dataclass(frozen=True)
class CodeSet:
    """Packed query and database codes with their class labels.

    ``query_codes`` ``[Q, ceil(bits/8)]`` uint8, ``db_codes`` ``[N, ceil(bits/8)]`` uint8,
    ``query_labels`` ``[Q]`` int64, ``db_labels`` ``[N]`` int64, ``bits`` = code length L.
    Construction validates shapes, dtypes and zero padding.
    """

    query_codes: np.ndarray
    db_codes: np.ndarray
    query_labels: np.ndarray
    db_labels: np.ndarray
    bits: int

    def __post_init__(self) -> None:
        bits = int(self.bits)
        object.__setattr__(self, "bits", bits)
        for name in ("query_codes", "db_codes"):
            object.__setattr__(self, name, check_packed(getattr(self, name), bits, name))
        object.__setattr__(self, "query_labels",
                           check_labels(self.query_labels, len(self.query_codes), "query_labels"))
        object.__setattr__(self, "db_labels",
                           check_labels(self.db_labels, len(self.db_codes), "db_labels"))

    @classmethod
    def from_bits(cls, query_bits: np.ndarray, db_bits: np.ndarray,
                  query_labels: np.ndarray, db_labels: np.ndarray) -> CodeSet:
        """Build from unpacked {0, 1} matrices ``[Q, L]`` and ``[N, L]``."""
        query_bits, db_bits = np.asarray(query_bits), np.asarray(db_bits)
        if query_bits.ndim != 2 or db_bits.ndim != 2 or query_bits.shape[1] != db_bits.shape[1]:
            raise DataError(f"query and database codes need the same length L, got shapes "
                            f"{query_bits.shape} and {db_bits.shape}; encode both with one model")
        return cls(pack_codes(query_bits), pack_codes(db_bits), query_labels, db_labels,
                   query_bits.shape[1])


def save_codes(path: str | os.PathLike, codes: CodeSet) -> None:
    """Write ``codes.npz`` atomically (temporary file + ``os.replace``)."""
    write_npz(path, query_codes=codes.query_codes, db_codes=codes.db_codes,
              query_labels=codes.query_labels, db_labels=codes.db_labels,
              bits=np.asarray(codes.bits, dtype=np.int64))


def load_npz(path: str | os.PathLike, keys: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    """Read the arrays ``keys`` from an ``.npz`` file without unpickling anything.

    Raises :class:`DataError` naming the file when it is missing, unreadable or
    lacks a key; ``what`` names the file's role in those messages.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{what} {path} lacks {', '.join(missing)}; it was not written by "
                                "this version of spikinghash, write it again")
            return {k: npz[k] for k in keys}
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist; create it first") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:  # EOFError: an empty file
        raise DataError(f"{what} {path} is unreadable ({err}); delete it and write it again") from None


def load_codes(path: str | os.PathLike) -> CodeSet:
    """Read a ``codes.npz`` written by :func:`save_codes` (``allow_pickle=False``)."""
    arrays = load_npz(path, CODES_KEYS, "codes file")
    if arrays["bits"].shape != () or not np.issubdtype(arrays["bits"].dtype, np.integer):
        raise DataError(f"codes file {path} has a malformed 'bits' entry; write it again")
    return CodeSet(arrays["query_codes"], arrays["db_codes"], arrays["query_labels"],
                   arrays["db_labels"], int(arrays["bits"]))
