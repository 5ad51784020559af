"""Hamming ranking of a database for a block of queries, with a fixed tie rule.

Hamming distances are small integers (0..L), so many database items tie. Two
rules order a tie group, and both are deterministic:

- ``"index"``: items at equal distance are ranked by ascending database row.
  This is a stable sort on the distance; numpy's stable sort of 16-bit keys is a
  radix sort, so the result never depends on a sort algorithm's whims and costs
  O(N) per query.
- ``"average"``: the expectation over all orders of each tie group, each order
  equally likely. For a quantity that is a sum over rank positions (P@k, ACG,
  DCG) the expectation equals the same quantity computed on the *expected value
  at each position*, which is the mean over the tie group covering that
  position. :func:`group_means_by_rank` returns exactly those means.
  Average precision is not linear; see ``metrics.expected_average_precision_at_k``.

Two ways produce the first ``depth`` ranks of the "index" rule, with identical output:

- :func:`rank_order`: a stable sort of all N distances of a query;
- :func:`select_nearest`: faiss' counting k-selection, which never materialises the
  distances and wins while ``depth`` is a small share of N (:func:`sorting_wins`).

Queries are processed in blocks (:func:`query_blocks`) so that memory stays
bounded (a block holds about ``budget`` distances) for 10k x 100k evaluations.
"""

from __future__ import annotations

from typing import Iterator

import faiss
import numpy as np

TIE_RULES = ("index", "average")


def hamming_distances(query_codes: np.ndarray, db_codes: np.ndarray) -> np.ndarray:
    """All Hamming distances between packed codes, computed by faiss' popcount kernel.

    ``query_codes`` ``[Q, B]`` and ``db_codes`` ``[N, B]`` uint8 (packed, zero padded).
    Returns ``[Q, N]`` uint16 distances in bits (L < 65536 always holds for hash codes).
    """
    query_codes = np.ascontiguousarray(query_codes, dtype=np.uint8)
    db_codes = np.ascontiguousarray(db_codes, dtype=np.uint8)
    out = np.empty((len(query_codes), len(db_codes)), dtype=np.int32)
    if out.size:
        faiss.hammings(faiss.swig_ptr(query_codes), faiss.swig_ptr(db_codes), len(query_codes),
                       len(db_codes), query_codes.shape[1], faiss.swig_ptr(out))
    return out.astype(np.uint16)


def query_blocks(num_queries: int, per_query: int, budget: int = 1 << 22) -> Iterator[slice]:
    """Slices of query rows such that each block holds about ``budget`` values when each
    query needs ``per_query`` of them (e.g. one distance per database item)."""
    step = max(1, budget // max(1, per_query))
    for start in range(0, num_queries, step):
        yield slice(start, min(start + step, num_queries))


def class_histogram(dist: np.ndarray, db_labels: np.ndarray, bits: int,
                    num_classes: int) -> np.ndarray:
    """How many database items of each class lie at each distance from each query.

    ``dist`` ``[q, N]`` integer distances, ``db_labels`` ``[N]`` in 0..C-1.
    Returns ``[q, L + 1, C]`` float64 counts. Every relevance-weighted sum over a tie
    group (relevant items, graded gain) is a contraction of this table over classes.
    """
    width = bits + 1
    # One bincount per query on class-major keys (label * (L + 1) + distance): the N-long
    # key buffer is reused and stays in cache, and no [q, N] int64 temporary is built
    # (4x faster than one bincount over the whole block's keys at 100,000 items).
    offset = db_labels.astype(np.int64) * width
    key = np.empty(dist.shape[1], dtype=np.int64)
    counts = np.empty((len(dist), num_classes, width), dtype=np.float64)
    for row, distances in enumerate(dist):
        np.add(distances, offset, out=key)
        counts[row] = np.bincount(key, minlength=width * num_classes).reshape(num_classes, width)
    return counts.transpose(0, 2, 1)


def rank_order(dist: np.ndarray, depth: int) -> np.ndarray:
    """Database rows of the first ``depth`` ranks, ordered by (distance, database row).

    ``dist`` ``[q, N]`` uint16. Returns ``[q, depth]`` int64; column i is rank i + 1.
    """
    return np.argsort(dist, axis=1, kind="stable")[:, :depth]


# Ranking deeper than N / SORT_SHARE is faster by sorting all distances (rank_order) than
# by faiss' counting selection, whose per-distance buckets grow with depth. Measured at
# N = 100,000, 64 bits, one thread of a 2-core Xeon: selection 3.6x faster at depth 100,
# 1.8x at 1,000, 1.3x at 3,000; 1.2x slower at 10,000, 3x slower at 100,000.
SORT_SHARE = 16


def sorting_wins(depth: int, num_db: int) -> bool:
    """Whether :func:`rank_order` on all distances beats :func:`select_nearest` for this depth."""
    return depth * SORT_SHARE > num_db


def select_nearest(query_codes: np.ndarray, db_codes: np.ndarray,
                   depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``depth`` ranks by (distance, database row), by faiss' counting k-selection.

    ``query_codes`` ``[Q, B]``, ``db_codes`` ``[N, B]`` uint8 packed; ``1 <= depth <= N``.
    Returns rows ``[Q, depth]`` int64 and distances ``[Q, depth]`` int32, exactly
    ``rank_order``'s ranks: faiss' ``hammings_knn_mc`` visits each query's database rows
    in increasing order and appends each kept row to the bucket of its distance, so a
    bucket lists its rows in increasing order and the buckets are read in distance order;
    it drops a row only once ``depth`` nearer-or-earlier rows are held.
    """
    query_codes = np.ascontiguousarray(query_codes, dtype=np.uint8)
    db_codes = np.ascontiguousarray(db_codes, dtype=np.uint8)
    rows = np.empty((len(query_codes), depth), dtype=np.int64)
    dist = np.empty((len(query_codes), depth), dtype=np.int32)
    # faiss reserves (8B + 1) * depth int64 bucket slots per query. Blocks of ~4M slots
    # keep the buckets written to cache-sized: at depth 1,000 of 100,000, blocks of 64
    # queries ran as fast as faiss' own 32-query batches, blocks of 512 queries 1.5x slower.
    slots = (8 * db_codes.shape[1] + 1) * depth
    for block in query_blocks(len(query_codes), slots):
        faiss.hammings_knn_mc(faiss.swig_ptr(query_codes[block]), faiss.swig_ptr(db_codes),
                              block.stop - block.start, len(db_codes), depth, db_codes.shape[1],
                              faiss.swig_ptr(dist[block]), faiss.swig_ptr(rows[block]))
    return rows, dist


def ranked_rows(query_codes: np.ndarray, db_codes: np.ndarray,
                depth: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``depth`` ranks (distance, then database row) of every query.

    ``query_codes`` ``[Q, B]``, ``db_codes`` ``[N, B]`` uint8 packed; ``1 <= depth <= N``.
    Returns rows ``[Q, depth]`` int64 and distances ``[Q, depth]`` int32, by the faster
    of a full sort and faiss' selection (:func:`sorting_wins`); both give the same ranks.
    """
    if not sorting_wins(depth, len(db_codes)):
        return select_nearest(query_codes, db_codes, depth)
    rows, dists = [], []
    for block in query_blocks(len(query_codes), len(db_codes)):
        dist = hamming_distances(query_codes[block], db_codes)
        order = rank_order(dist, depth)
        rows.append(order)
        dists.append(np.take_along_axis(dist, order, axis=1).astype(np.int32))
    if not rows:
        return np.empty((0, depth), dtype=np.int64), np.empty((0, depth), dtype=np.int32)
    return np.concatenate(rows), np.concatenate(dists)


def group_means_by_rank(counts: np.ndarray, sums: np.ndarray, depth: int) -> np.ndarray:
    """Value at each of the first ``depth`` ranks of a list made of consecutive groups,
    each rank holding the mean of its group.

    ``counts`` ``[q, G]`` group sizes in rank order, ``sums`` ``[q, G]`` the sum of the
    value over each group; ``depth`` must not exceed any row's total count. With tie
    groups (one per distance) this is the expected value at each rank when ties are
    shuffled; with groups of equal value it expands a run-length list. Returns ``[q, depth]``.
    """
    end = np.cumsum(counts, axis=1)
    start = end - counts
    # How many of each group's positions fall inside the first `depth` ranks.
    inside = (np.minimum(end, depth) - np.minimum(start, depth)).astype(np.int64)
    means = np.divide(sums, counts, out=np.zeros_like(sums, dtype=np.float64), where=counts > 0)
    return np.repeat(means.ravel(), inside.ravel()).reshape(len(counts), depth)
