"""Top-k Hamming search: neighbour rows, distances and labels for each query.

Exact (``"flat"``) indexes are searched with the tie rule the metrics use (distance,
then database row) by ``ranking.ranked_rows``: faiss' counting k-selection, whose
buckets keep equally distant rows in row order, or a stable sort of all distances
when k is a large share of the database.

Approximate indexes (``"hnsw"``, ``"ivf"``) return what faiss finds; each row is then
sorted by (distance, database row). Slots they leave empty hold index -1, distance -1
and label -1, after all found items. For HNSW the search breadth ``efSearch`` is
raised to at least k for the call, since a narrower beam cannot return k items.
"""

from __future__ import annotations

from typing import NamedTuple

import faiss
import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.retrieval.codes import check_packed
from spikinghash.retrieval.index import HashIndex
from spikinghash.retrieval.ranking import ranked_rows


class SearchResult(NamedTuple):
    """Nearest first. All ``[Q, k']`` with k' = min(k, N); -1 marks an empty slot."""

    indices: np.ndarray    # int64 database rows
    distances: np.ndarray  # int32 Hamming distances in bits
    labels: np.ndarray     # int64 database labels


def _exact(hash_index: HashIndex, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    index = hash_index.index
    db = faiss.vector_to_array(index.xb).reshape(index.ntotal, index.code_size)
    return ranked_rows(queries, db, k)


def _approximate(hash_index: HashIndex, queries: np.ndarray,
                 k: int) -> tuple[np.ndarray, np.ndarray]:
    index = hash_index.index
    hnsw = getattr(index, "hnsw", None)
    saved_ef = hnsw.efSearch if hnsw is not None else 0
    if hnsw is not None:
        hnsw.efSearch = max(saved_ef, k)
    try:
        dist, rows = index.search(queries, k)
    finally:
        if hnsw is not None:
            hnsw.efSearch = saved_ef
    rows = rows.astype(np.int64)
    empty = rows < 0
    dist = np.where(empty, -1, dist).astype(np.int32)
    # Sort keys: empty slots last, then distance, then database row.
    order = np.lexsort((rows, dist, empty), axis=-1)
    return np.take_along_axis(rows, order, axis=1), np.take_along_axis(dist, order, axis=1)


_SEARCHERS = {"flat": _exact, "hnsw": _approximate, "ivf": _approximate}


def search(hash_index: HashIndex, query_codes: np.ndarray, k: int) -> SearchResult:
    """The k nearest database items of each packed query code ``[Q, ceil(L/8)]`` uint8.

    k larger than the database returns the whole database (k' = N columns).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}; e.g. -k 10")
    queries = check_packed(np.asarray(query_codes), hash_index.bits, "query_codes")
    k = min(int(k), hash_index.index.ntotal)
    rows, dist = _SEARCHERS[hash_index.kind](hash_index, queries, k)
    labels = np.where(rows >= 0, hash_index.labels[np.maximum(rows, 0)], -1)
    return SearchResult(rows, dist, labels)
