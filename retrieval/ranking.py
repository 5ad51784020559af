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

Queries are processed in blocks (:func:`query_blocks`) so that memory stays
bounded (a block holds about ``budget`` distances) for 10k x 50k evaluations.
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
    width = (bits + 1) * num_classes
    flat = dist.astype(np.int64) * num_classes + db_labels[None, :]
    flat += width * np.arange(len(dist), dtype=np.int64)[:, None]
    counts = np.bincount(flat.ravel(), minlength=width * len(dist))
    return counts.reshape(len(dist), bits + 1, num_classes).astype(np.float64)


def rank_order(dist: np.ndarray, depth: int) -> np.ndarray:
    """Database rows of the first ``depth`` ranks, ordered by (distance, database row).

    ``dist`` ``[q, N]`` uint16. Returns ``[q, depth]`` int64; column i is rank i + 1.
    """
    return np.argsort(dist, axis=1, kind="stable")[:, :depth]


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
