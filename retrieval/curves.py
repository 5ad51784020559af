"""Mean precision at many cutoffs at once (the P@k curve), ranking ties by database row."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.ranking import hamming_distances, query_blocks, rank_order


def precision_curve(codes: CodeSet, ks: Sequence[int], block_budget: int = 1 << 22) -> np.ndarray:
    """Mean P@k over all queries for every k in ``ks`` (binary relevance: same class).

    The ranking is the one of ``evaluate(..., ties="index")``: Hamming distance, then
    database row. A k above the database size is clamped to it.

    Returns:
        ``[len(ks)]`` float64 precisions in [0, 1].
    """
    num_db = len(codes.db_codes)
    if not ks or any(isinstance(k, bool) or int(k) != k or k < 1 for k in ks):
        raise ConfigError(f"cutoffs {list(ks)!r} must be positive integers, e.g. 1, 10, 100")
    cut = np.minimum(np.asarray(ks, dtype=np.int64), num_db)
    depth = int(cut.max())
    total = np.zeros(len(cut))
    for rows in query_blocks(len(codes.query_codes), num_db, block_budget):
        order = rank_order(hamming_distances(codes.query_codes[rows], codes.db_codes), depth)
        hits = np.cumsum(codes.db_labels[order] == codes.query_labels[rows, None], axis=1)
        total += (hits[:, cut - 1] / cut).sum(axis=0)
    return total / len(codes.query_codes)


def default_cutoffs(num_db: int, points: int = 20) -> list[int]:
    """About ``points`` log-spaced cutoffs from 1 to the database size (for plotting)."""
    return sorted({int(round(k)) for k in np.geomspace(1, max(1, num_db), points)})
