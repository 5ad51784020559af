"""faiss binary indexes over packed hash codes, saved with the fingerprint of what made them.

Kinds (one builder each in ``INDEX_BUILDERS``):

- ``"flat"``: ``faiss.IndexBinaryFlat``, exact. Searching it ranks the whole database
  with the project-wide tie rule (see ``search``).
- ``"hnsw"``: ``faiss.IndexBinaryHNSW``, approximate graph search for large databases
  (parameters ``M``, ``ef_construction``, ``ef_search``).
- ``"ivf"``: ``faiss.IndexBinaryIVF`` over a flat coarse quantizer, approximate
  (``nlist`` lists, trained on the database codes; ``nprobe`` lists visited per query).

faiss binary indexes need a dimension that is a multiple of 8; the index dimension is
the packed width ``8 * ceil(L / 8)`` and the zero padding adds nothing to distances.

An index file (``.npz``, no pickles, written atomically) holds the serialised index,
the database labels, the code length, the kind and a sha256 fingerprint of a
caller-given string or JSON-able dict (model + config). :func:`load_index` refuses a
file whose fingerprint differs from the caller's with :class:`StaleIndexError`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import faiss
import numpy as np

from spikinghash.atomic_io import write_npz
from spikinghash.errors import ConfigError, DataError
from spikinghash.retrieval.codes import check_labels, check_packed, code_bytes, load_npz

INDEX_FORMAT = 1
INDEX_KEYS = ("format", "index", "labels", "bits", "kind", "fingerprint")


class StaleIndexError(DataError):
    """An index file was built from another model or config than the one in use."""


def fingerprint(spec: str | Mapping[str, Any]) -> str:
    """sha256 hex digest of a string, or of a dict as canonical JSON (sorted keys)."""
    if isinstance(spec, str):
        text = spec
    else:
        try:
            text = json.dumps(spec, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"the index fingerprint must be JSON-serialisable ({err}); "
                              "pass plain numbers, strings, lists and dicts") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build_flat(dim: int, codes: np.ndarray) -> faiss.IndexBinary:
    return faiss.IndexBinaryFlat(dim)


def _build_hnsw(dim: int, codes: np.ndarray, M: int = 32, ef_construction: int = 40,
                ef_search: int = 64) -> faiss.IndexBinary:
    index = faiss.IndexBinaryHNSW(dim, M)
    index.hnsw.efConstruction = ef_construction
    index.hnsw.efSearch = ef_search
    return index


def _build_ivf(dim: int, codes: np.ndarray, nlist: int | None = None,
               nprobe: int = 8) -> faiss.IndexBinary:
    # sqrt(N) lists keeps both the coarse search and each list scan near sqrt(N) codes.
    nlist = nlist if nlist is not None else max(1, int(math.sqrt(len(codes))))
    if not 1 <= nlist <= len(codes):
        raise ConfigError(f"ivf nlist must be between 1 and the database size {len(codes)}, "
                          f"got {nlist}; use fewer lists")
    # faiss' Python wrapper keeps a reference to the quantizer inside the index.
    index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(dim), dim, nlist)
    index.train(codes)
    index.nprobe = min(nprobe, nlist)
    return index


INDEX_BUILDERS: dict[str, Callable[..., faiss.IndexBinary]] = {
    "flat": _build_flat, "hnsw": _build_hnsw, "ivf": _build_ivf}


@dataclass(frozen=True)
class HashIndex:
    """A faiss binary index with its database labels ``[N]`` int64, code length and identity."""

    index: faiss.IndexBinary
    labels: np.ndarray
    bits: int
    kind: str
    fingerprint: str


def build_index(db_codes: np.ndarray, db_labels: np.ndarray, bits: int,
                spec: str | Mapping[str, Any], kind: str = "flat",
                params: Mapping[str, Any] | None = None) -> HashIndex:
    """Index packed database codes ``[N, ceil(bits/8)]`` uint8 with their labels ``[N]``.

    ``spec``: the model + config identity to fingerprint. ``params``: the kind's
    keyword options (see the module docstring).
    """
    if kind not in INDEX_BUILDERS:
        raise ConfigError(f"unknown index kind {kind!r}; choose one of {', '.join(INDEX_BUILDERS)}")
    codes = check_packed(np.asarray(db_codes), bits, "db_codes")
    labels = check_labels(db_labels, len(codes), "db_labels")
    if len(codes) == 0:
        raise DataError("cannot index an empty database; encode at least one sample first")
    builder = INDEX_BUILDERS[kind]
    allowed = set(inspect.signature(builder).parameters) - {"dim", "codes"}
    params = dict(params or {})
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"index kind {kind!r} has no option {', '.join(unknown)}; "
                          f"its options are {', '.join(sorted(allowed)) or 'none'}")
    index = builder(8 * code_bytes(bits), codes, **params)
    index.add(codes)
    return HashIndex(index, labels, int(bits), kind, fingerprint(spec))


def save_index(path: str | os.PathLike, hash_index: HashIndex) -> None:
    """Write the index, labels, code length, kind and fingerprint to ``path`` atomically."""
    write_npz(path, format=np.asarray(INDEX_FORMAT, dtype=np.int64),
              index=faiss.serialize_index_binary(hash_index.index),
              labels=hash_index.labels, bits=np.asarray(hash_index.bits, dtype=np.int64),
              kind=np.asarray(hash_index.kind), fingerprint=np.asarray(hash_index.fingerprint))


def load_index(path: str | os.PathLike, spec: str | Mapping[str, Any]) -> HashIndex:
    """Read an index written by :func:`save_index`, refusing one made for another ``spec``.

    Raises :class:`StaleIndexError` on a fingerprint mismatch and :class:`DataError` on
    a missing, corrupt or foreign file.
    """
    arrays = load_npz(path, INDEX_KEYS, "index file")
    if int(arrays["format"]) != INDEX_FORMAT:
        raise DataError(f"index file {path} has format {int(arrays['format'])}, this version "
                        f"reads format {INDEX_FORMAT}; delete it and build the index again")
    stored, wanted = str(arrays["fingerprint"]), fingerprint(spec)
    if stored != wanted:
        raise StaleIndexError(f"index file {path} was built for model/config fingerprint "
                              f"{stored[:12]}, but the current one is {wanted[:12]}; delete it and "
                              "build the index again from the current model's codes")
    try:
        index = faiss.deserialize_index_binary(np.ascontiguousarray(arrays["index"], dtype=np.uint8))
    except RuntimeError as err:
        raise DataError(f"index file {path} holds a corrupt faiss index ({err}); "
                        "delete it and build the index again") from None
    bits, kind = int(arrays["bits"]), str(arrays["kind"])
    labels = check_labels(arrays["labels"], index.ntotal, "index labels")
    if index.d != 8 * code_bytes(bits) or kind not in INDEX_BUILDERS:
        raise DataError(f"index file {path} is inconsistent (dimension {index.d} for {bits} bits, "
                        f"kind {kind!r}); delete it and build the index again")
    return HashIndex(index, labels, bits, kind, stored)
