"""metrics.py: each formula against hand calculations or exhaustive enumeration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.retrieval import metrics as M


def test_average_precision_by_hand():
    ranked = np.array([[1, 0, 1, 0, 0, 1],
                       [0, 0, 0, 0, 0, 0],
                       [0, 1, 0, 0, 0, 0]], dtype=bool)
    # Row 0: precisions at the hits 1/1, 2/3, 3/6.
    np.testing.assert_allclose(M.average_precision_at_k(ranked, 6),
                               [(1 + 2 / 3 + 3 / 6) / 3, 0.0, 0.5])
    # @3 keeps two hits of row 0 and normalises by them, not by all three.
    np.testing.assert_allclose(M.average_precision_at_k(ranked, 3), [(1 + 2 / 3) / 2, 0.0, 0.5])
    np.testing.assert_allclose(M.precision_at_k(ranked, 3), [2 / 3, 0.0, 1 / 3])


def test_dcg_uses_eq28_discounts():
    np.testing.assert_allclose(M.dcg_discount(4), [1.0, 1.0, 1 / math.log2(3), 0.5])
    gains = np.array([[0.5, 1.0, 0.0, 1.0]])
    np.testing.assert_allclose(M.dcg_at_n(gains, 4), [0.5 + 1.0 + 0.0 + 0.5])
    np.testing.assert_allclose(M.acg_at_n(gains, 2), [0.75])


def test_ideal_gain_orders_the_whole_database():
    table = M.graded_relevance_table(3, [(0, 2)])
    # Database: 2 items of class 0, 1 of class 1, 3 of class 2.
    ideal = M.ideal_ranked_gain(table, np.array([2, 1, 3]), 4)
    np.testing.assert_array_equal(ideal, [[1, 1, 0.5, 0.5], [1, 0, 0, 0], [1, 1, 1, 0.5]])
    idcg = M.dcg_at_n(ideal, 4)
    np.testing.assert_allclose(idcg[0], 1 + 1 + 0.5 / math.log2(3) + 0.5 / 2)
    np.testing.assert_allclose(M.ndcg(np.array([1.0, 0.0]), np.array([2.0, 0.0])), [0.5, 0.0])


def test_graded_relevance_table():
    table = M.graded_relevance_table(4, [(0, 2), (3, 1)])
    assert table.tolist() == [[1, 0, 0.5, 0], [0, 1, 0, 0.5], [0.5, 0, 1, 0], [0, 0.5, 0, 1]]
    with pytest.raises(ConfigError, match="two different"):
        M.graded_relevance_table(4, [(1, 1)])
    with pytest.raises(ConfigError, match="0..3"):
        M.graded_relevance_table(4, [(0, -2)])


@pytest.mark.parametrize("seed", range(6))
def test_expected_ap_equals_mean_over_all_tie_orders(brute, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 2, size=(3, 3), dtype=np.uint8)
    d = rng.integers(0, 2, size=(9, 3), dtype=np.uint8)
    qlab, dlab = rng.integers(0, 2, size=3), rng.integers(0, 2, size=9)
    counts, hits = np.zeros((3, 4)), np.zeros((3, 4))
    for row, query in enumerate(q.tolist()):
        for item, label in zip(d.tolist(), dlab):
            counts[row, brute.hamming(query, item)] += 1
            hits[row, brute.hamming(query, item)] += label == qlab[row]
    for k in range(1, 10):
        got = M.expected_average_precision_at_k(counts, hits, k)
        for row, query in enumerate(q.tolist()):
            aps = [brute.ap_at_k([dlab[i] == qlab[row] for i in order], k)
                   for order in brute.tie_orders(query, d.tolist())]
            assert got[row] == pytest.approx(sum(aps) / len(aps), rel=1e-10, abs=1e-12)


def test_pr_curve_counts_by_hand():
    counts = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 3.0]])
    relevant = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    precision, recall = M.pr_curve_counts(counts, relevant)
    np.testing.assert_allclose(precision, [[1.0, 1 / 3, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(recall, [[0.5, 0.5, 1.0], [0.0, 0.0, 0.0]])


def _expected_ap_by_dynamic_programming(counts: list[int], relevant: list[int], k: int) -> float:
    """E[AP@k] by walking the ranks one at a time, drawing tie-group members without
    replacement; state = relevant items seen so far (independent of the closed form)."""
    prob = np.zeros(sum(relevant) + 2)
    acc = np.zeros_like(prob)  # E[precision sum * 1{state}]
    prob[0] = 1.0
    j = np.arange(len(prob), dtype=np.float64)
    pos, before = 0, 0
    for n, c in zip(counts, relevant):
        for i in range(n):
            if pos == k:
                break
            pos += 1
            p_rel = np.clip((c - (j - before)) / (n - i), 0.0, 1.0)
            new_prob, new_acc = prob * (1 - p_rel), acc * (1 - p_rel)
            new_prob[1:] += (prob * p_rel)[:-1]
            new_acc[1:] += ((acc + prob * (j + 1) / pos) * p_rel)[:-1]
            prob, acc = new_prob, new_acc
        before += c
    return float(np.sum(acc[1:] / j[1:]))


@pytest.mark.parametrize("groups,k", [
    (([5, 5000, 10], [2, 2500, 3]), 5 + 2500),   # wide cut group: the tail cut is active
    (([5, 5000, 10], [2, 3, 3]), 5 + 2500),
    (([300, 4000], [290, 1000]), 300 + 3999),
])
def test_expected_ap_on_large_cut_groups_matches_dynamic_programming(groups, k):
    counts, relevant = groups
    got = M.expected_average_precision_at_k(np.array([counts], float), np.array([relevant], float), k)
    assert got[0] == pytest.approx(_expected_ap_by_dynamic_programming(counts, relevant, k), rel=1e-9)
