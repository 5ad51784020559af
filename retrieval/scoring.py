"""Score hash codes: every metric in one pass over blocks of queries.

``evaluate(codes, map_k=..., precision_k=..., ndcg_n=..., similar_pairs=..., ties=...)``
returns a :class:`RetrievalMetrics` holding per-query scores and the PR curve; the
definitions are in ``metrics``' module docstring, the tie rules in ``ranking``'s.
All metrics are always computed, so the result has one shape whatever the options.

``top_k_scores(codes, map_k=..., precision_k=...)`` computes only AP@k and P@k (ties by
database row), the same numbers as ``evaluate``'s, without the full-database
histograms the other metrics need; it is the cheap check to run every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, NamedTuple, Sequence

import numpy as np

from spikinghash.errors import ConfigError, DataError
from spikinghash.retrieval import metrics as M
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.ranking import (TIE_RULES, class_histogram, group_means_by_rank,
                                           hamming_distances, query_blocks, rank_order,
                                           select_nearest, sorting_wins)

Cutoff = int | Literal["all"]


def resolve_cutoff(k: Cutoff, num_db: int, name: str) -> int:
    """``"all"`` -> N; an integer k >= 1 -> min(k, N). Anything else is a ConfigError."""
    if k == "all":
        return num_db
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1:
        return min(int(k), num_db)
    raise ConfigError(f"{name} must be a positive integer or 'all', got {k!r}; e.g. {name}=100")


@dataclass(frozen=True)
class RetrievalMetrics:
    """Scores of Q queries against a database of N items.

    Cutoffs are stored after clamping to N. Per-query arrays are ``[Q]`` float64;
    ``pr_precision`` and ``pr_recall`` are ``[L + 1]``, index r = Hamming radius r.
    """

    bits: int
    ties: str
    map_k: int
    precision_k: int
    ndcg_n: int
    average_precision: np.ndarray
    precision_at_k: np.ndarray
    acg_at_n: np.ndarray
    ndcg_at_n: np.ndarray
    pr_precision: np.ndarray
    pr_recall: np.ndarray
    queries_without_relevant: int

    @property
    def map(self) -> float:
        """Mean AP@map_k over all queries."""
        return float(self.average_precision.mean())

    def summary(self) -> dict[str, Any]:
        """JSON-ready means, cutoffs and the PR curve."""
        return {
            "bits": self.bits, "ties": self.ties, "queries": int(len(self.average_precision)),
            "queries_without_relevant": self.queries_without_relevant,
            "map_k": self.map_k, "map": self.map,
            "precision_k": self.precision_k, "precision": float(self.precision_at_k.mean()),
            "ndcg_n": self.ndcg_n, "acg": float(self.acg_at_n.mean()),
            "ndcg": float(self.ndcg_at_n.mean()),
            "pr_curve": {"radius": list(range(self.bits + 1)),
                         "precision": self.pr_precision.tolist(), "recall": self.pr_recall.tolist()},
        }


@dataclass(frozen=True)
class _Block:
    """One block of q queries against the database.

    ``query_codes`` ``[q, B]`` and ``db_codes`` ``[N, B]`` packed, ``dist`` ``[q, N]``
    distances, ``query_labels`` ``[q]``, ``db_labels`` ``[N]``, ``table`` ``[C, C]``
    graded relevance; per-distance histograms ``[q, L + 1]``.
    """

    query_codes: np.ndarray
    db_codes: np.ndarray
    dist: np.ndarray
    query_labels: np.ndarray
    db_labels: np.ndarray
    table: np.ndarray
    counts: np.ndarray
    relevant_counts: np.ndarray
    gain_sums: np.ndarray


def _ranks(query_codes: np.ndarray, db_codes: np.ndarray, dist: np.ndarray | None,
           depth: int) -> np.ndarray:
    """Rows ``[q, depth]`` of the first ranks (distance, then row): faiss' selection when
    shallow, else a sort of the block's distances ``dist`` (computed here when None)."""
    if not sorting_wins(depth, len(db_codes)):
        return select_nearest(query_codes, db_codes, depth)[0]
    return rank_order(hamming_distances(query_codes, db_codes) if dist is None else dist, depth)


def _rank_index(block: _Block, depth: int, gain_depth: int) -> tuple[np.ndarray, np.ndarray]:
    ranked_labels = block.db_labels[_ranks(block.query_codes, block.db_codes, block.dist, depth)]
    query = block.query_labels[:, None]
    return ranked_labels == query, block.table[query, ranked_labels[:, :gain_depth]]


def _rank_average(block: _Block, depth: int, gain_depth: int) -> tuple[np.ndarray, np.ndarray]:
    return (group_means_by_rank(block.counts, block.relevant_counts, depth),
            group_means_by_rank(block.counts, block.gain_sums, gain_depth))


def _ap_index(block: _Block, ranked_relevant: np.ndarray, k: int) -> np.ndarray:
    return M.average_precision_at_k(ranked_relevant, k)


def _ap_average(block: _Block, ranked_relevant: np.ndarray, k: int) -> np.ndarray:
    return M.expected_average_precision_at_k(block.counts, block.relevant_counts, k)


# Each ranker returns (relevance [q, depth], graded gain [q, gain_depth]) in rank order.
_RANKERS: dict[str, Callable[[_Block, int, int], tuple[np.ndarray, np.ndarray]]] = {
    "index": _rank_index, "average": _rank_average}
_AVERAGE_PRECISION: dict[str, Callable[[_Block, np.ndarray, int], np.ndarray]] = {
    "index": _ap_index, "average": _ap_average}


def _compact(labels: np.ndarray) -> np.ndarray:
    """Non-negative labels in int16 when they fit: a label is gathered for every ranked
    item, and the narrower gather costs less at depth N."""
    fits = len(labels) == 0 or labels.max() <= np.iinfo(np.int16).max
    return labels.astype(np.int16) if fits else labels


def _check_nonempty(codes: CodeSet) -> None:
    if len(codes.query_codes) == 0 or len(codes.db_codes) == 0:
        raise DataError(f"evaluation needs at least one query and one database code, got "
                        f"{len(codes.query_codes)} and {len(codes.db_codes)}; check the splits "
                        "the codes were computed from")


def _present_pairs(similar_pairs: Sequence[tuple[int, int]],
                   classes: np.ndarray) -> list[tuple[int, int]]:
    """Validate similar class pairs; return those whose classes occur, renumbered to
    positions in ``classes`` (a pair naming an absent class cannot change any score)."""
    kept = []
    for pair in similar_pairs:
        try:
            a, b = (int(v) for v in pair)
        except (TypeError, ValueError):
            raise ConfigError(f"similar class pair {pair!r} is not two class indices; "
                              "write pairs as [a, b]") from None
        if a == b or min(a, b) < 0:
            raise ConfigError(f"similar class pair {tuple(pair)} is invalid: it needs two different "
                              "non-negative class indices; fix the dataset's similar pairs")
        ia, ib = np.searchsorted(classes, (a, b))
        if ia < len(classes) and ib < len(classes) and classes[ia] == a and classes[ib] == b:
            kept.append((int(ia), int(ib)))
    return kept


def evaluate(codes: CodeSet, *, map_k: Cutoff = "all", precision_k: Cutoff = 100,
             ndcg_n: Cutoff = 100, similar_pairs: Sequence[tuple[int, int]] = (),
             ties: str = "index", block_budget: int = 1 << 22) -> RetrievalMetrics:
    """Score every query of ``codes`` against its database.

    ``map_k`` / ``precision_k`` / ``ndcg_n``: cutoffs ("all" or k >= 1, clamped to N).
    ``similar_pairs``: class pairs of relevance 0.5 for ACG/NDCG (Eqs. 27-29).
    ``ties``: "index" (tie groups ranked by database row) or "average" (expectation
    over random orders inside tie groups). ``block_budget``: values held per block
    (query-item distances or histogram cells), which bounds memory.
    """
    if ties not in TIE_RULES:
        raise ConfigError(f"ties must be one of {', '.join(TIE_RULES)}, got {ties!r}")
    _check_nonempty(codes)
    num_q, num_db = len(codes.query_codes), len(codes.db_codes)
    k_map = resolve_cutoff(map_k, num_db, "map_k")
    k_p = resolve_cutoff(precision_k, num_db, "precision_k")
    n = resolve_cutoff(ndcg_n, num_db, "ndcg_n")
    # Classes are renumbered 0..C-1 over the labels present, so sparse label values cost nothing.
    classes = np.unique(np.concatenate([codes.query_labels, codes.db_labels]))
    query_cls = _compact(np.searchsorted(classes, codes.query_labels))
    db_cls = _compact(np.searchsorted(classes, codes.db_labels))
    table = M.graded_relevance_table(len(classes), _present_pairs(similar_pairs, classes))
    ideal_dcg = M.dcg_at_n(M.ideal_ranked_gain(table, np.bincount(db_cls, minlength=len(classes)), n),
                           n)  # [C]

    parts: dict[str, list[np.ndarray]] = {key: [] for key in ("ap", "p", "acg", "ndcg", "pr_p", "pr_r")}
    per_query = max(num_db, (codes.bits + 1) * len(table))
    for rows in query_blocks(num_q, per_query, block_budget):
        dist = hamming_distances(codes.query_codes[rows], codes.db_codes)
        q_labels = query_cls[rows]
        hist = class_histogram(dist, db_cls, codes.bits, len(table))  # [q, L+1, C]
        block = _Block(codes.query_codes[rows], codes.db_codes, dist, q_labels, db_cls, table,
                       hist.sum(axis=2), hist[np.arange(len(q_labels)), :, q_labels],
                       np.einsum("qdc,qc->qd", hist, table[q_labels]))
        ranked_relevant, ranked_gain = _RANKERS[ties](block, max(k_map, k_p), n)
        parts["ap"].append(_AVERAGE_PRECISION[ties](block, ranked_relevant, k_map))
        parts["p"].append(M.precision_at_k(ranked_relevant, k_p))
        parts["acg"].append(M.acg_at_n(ranked_gain, n))
        parts["ndcg"].append(M.ndcg(M.dcg_at_n(ranked_gain, n), ideal_dcg[q_labels]))
        pr_p, pr_r = M.pr_curve_counts(block.counts, block.relevant_counts)
        parts["pr_p"].append(pr_p.sum(axis=0))
        parts["pr_r"].append(pr_r.sum(axis=0))

    without = int((~np.isin(codes.query_labels, codes.db_labels)).sum())
    return RetrievalMetrics(
        bits=codes.bits, ties=ties, map_k=k_map, precision_k=k_p, ndcg_n=n,
        average_precision=np.concatenate(parts["ap"]), precision_at_k=np.concatenate(parts["p"]),
        acg_at_n=np.concatenate(parts["acg"]), ndcg_at_n=np.concatenate(parts["ndcg"]),
        pr_precision=np.sum(parts["pr_p"], axis=0) / num_q,
        pr_recall=np.sum(parts["pr_r"], axis=0) / num_q,
        queries_without_relevant=without)


class TopKScores(NamedTuple):
    """Per-query AP@``map_k`` and P@``precision_k``, both ``[Q]`` float64."""

    average_precision: np.ndarray
    precision_at_k: np.ndarray


def top_k_scores(codes: CodeSet, *, map_k: Cutoff = "all", precision_k: Cutoff = 100,
                 block_budget: int = 1 << 22) -> TopKScores:
    """AP@k and P@k of every query with ties ranked by database row: the numbers of
    ``evaluate(codes, map_k=..., precision_k=..., ties="index")``, computed from one
    ranking of depth max(map_k, precision_k) and nothing else.

    ``block_budget``: ranked items held per block of queries, which bounds memory.
    """
    _check_nonempty(codes)
    num_db = len(codes.db_codes)
    k_map = resolve_cutoff(map_k, num_db, "map_k")
    k_p = resolve_cutoff(precision_k, num_db, "precision_k")
    depth = max(k_map, k_p)
    query_cls, db_cls = _compact(codes.query_labels), _compact(codes.db_labels)
    ap, precision = [], []
    per_query = num_db if sorting_wins(depth, num_db) else depth  # distances or ranks held
    for rows in query_blocks(len(codes.query_codes), per_query, block_budget):
        order = _ranks(codes.query_codes[rows], codes.db_codes, None, depth)
        relevant = db_cls[order] == query_cls[rows, None]
        ap.append(M.average_precision_at_k(relevant, k_map))
        precision.append(M.precision_at_k(relevant, k_p))
    return TopKScores(np.concatenate(ap), np.concatenate(precision))
