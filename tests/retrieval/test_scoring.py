"""retrieval/scoring.py (evaluate): every metric end to end against brute-force loops on random codes."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.errors import ConfigError, DataError
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.scoring import evaluate

SIMILAR = [(0, 2), (1, 3)]


def _random_case(rng, bits: int, num_q: int, num_db: int, classes: int):
    q = rng.integers(0, 2, size=(num_q, bits), dtype=np.uint8)
    d = rng.integers(0, 2, size=(num_db, bits), dtype=np.uint8)
    qlab = rng.integers(0, classes, size=num_q)
    dlab = rng.integers(0, classes - 1, size=num_db)  # the last class never occurs in the database
    qlab[0] = classes - 1                              # so query 0 has no relevant item
    return q, d, qlab, dlab


def _reference_index_order(brute, q, d, qlab, dlab, k_map, k_p, n):
    """Per-query AP@k, P@k, ACG@n, NDCG@n with ties ranked by database row."""
    out = {"ap": [], "p": [], "acg": [], "ndcg": []}
    db = d.tolist()
    for query, ql in zip(q.tolist(), qlab.tolist()):
        order = brute.rank(query, db)
        rels = [dlab[i] == ql for i in order]
        gains = [brute.gain(ql, dlab[i], SIMILAR) for i in order]
        out["ap"].append(brute.ap_at_k(rels, k_map))
        out["p"].append(brute.p_at_k(rels, k_p))
        out["acg"].append(brute.acg(gains, n))
        out["ndcg"].append(brute.ndcg(gains, gains, n))
    return out


@pytest.mark.parametrize("bits,num_db,k_map,k_p,n", [
    (1, 9, "all", 3, 4),          # L = 1: two tie groups only
    (13, 40, "all", 10, 10),      # bits not a multiple of 8
    (16, 30, 7, 100, 30),         # k > N is clamped, n = N
    (5, 25, 25, 1, 1),            # k = N exactly, k = 1
    (64, 50, 12, "all", "all"),
])
def test_index_tie_rule_matches_brute_force(rng, brute, bits, num_db, k_map, k_p, n):
    q, d, qlab, dlab = _random_case(rng, bits, 7, num_db, classes=5)
    codes = CodeSet.from_bits(q, d, qlab, dlab)
    # block_budget = N: one query per block, so block boundaries are exercised too.
    got = evaluate(codes, map_k=k_map, precision_k=k_p, ndcg_n=n, similar_pairs=SIMILAR,
                   block_budget=num_db)
    clamp = lambda k: num_db if k == "all" else min(k, num_db)  # noqa: E731
    assert (got.map_k, got.precision_k, got.ndcg_n) == (clamp(k_map), clamp(k_p), clamp(n))
    want = _reference_index_order(brute, q, d, qlab, dlab, clamp(k_map), clamp(k_p), clamp(n))
    np.testing.assert_allclose(got.average_precision, want["ap"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.precision_at_k, want["p"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.acg_at_n, want["acg"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.ndcg_at_n, want["ndcg"], rtol=1e-12, atol=1e-15)
    assert got.average_precision[0] == got.precision_at_k[0] == 0.0  # no relevant item
    assert got.queries_without_relevant == int(sum(ql not in set(dlab) for ql in qlab))
    assert got.map == pytest.approx(np.mean(want["ap"]))
    pr_p, pr_r = brute.pr_curve(q.tolist(), d.tolist(), qlab.tolist(), dlab.tolist(), bits)
    np.testing.assert_allclose(got.pr_precision, pr_p, rtol=1e-12)
    np.testing.assert_allclose(got.pr_recall, pr_r, rtol=1e-12)


def test_mean_over_all_queries_including_empty_ones(brute):
    # Query 0 (class 1) finds nothing; query 1 (class 0) has AP 1. mAP counts both.
    codes = CodeSet.from_bits(np.array([[0, 0], [1, 1]]), np.array([[1, 1], [0, 1], [1, 0]]),
                              np.array([1, 0]), np.array([0, 0, 2]))
    got = evaluate(codes, map_k="all", precision_k=1, ndcg_n=1)
    np.testing.assert_allclose(got.average_precision, [0.0, 1.0])
    assert got.map == 0.5 and got.queries_without_relevant == 1
    # The last database item counts with k = all: the second hit is at rank 3, the last
    # one (a reference that slices [0:-1] for "all" would report AP = 1).
    got2 = evaluate(CodeSet.from_bits(np.array([[1, 1]]), np.array([[1, 1], [1, 0], [0, 0]]),
                                      np.array([0]), np.array([0, 1, 0])), precision_k=1, ndcg_n=1)
    np.testing.assert_allclose(got2.average_precision, [(1 + 2 / 3) / 2])


@pytest.mark.parametrize("seed", range(3))
def test_tie_average_matches_mean_over_all_tie_orders(brute, seed):
    rng = np.random.default_rng(100 + seed)
    q, d, qlab, dlab = _random_case(rng, 3, 4, 8, classes=4)
    codes = CodeSet.from_bits(q, d, qlab, dlab)
    for k_map, k_p, n in [(3, 5, 4), ("all", 2, 8), (6, 8, 1)]:
        got = evaluate(codes, map_k=k_map, precision_k=k_p, ndcg_n=n, similar_pairs=SIMILAR,
                       ties="average")
        kk = 8 if k_map == "all" else k_map
        for row, (query, ql) in enumerate(zip(q.tolist(), qlab.tolist())):
            orders = list(brute.tie_orders(query, d.tolist()))
            gains_all = [brute.gain(ql, x, SIMILAR) for x in dlab]

            def mean(f):
                return sum(f(o) for o in orders) / len(orders)

            assert got.average_precision[row] == pytest.approx(
                mean(lambda o: brute.ap_at_k([dlab[i] == ql for i in o], kk)), abs=1e-12)
            assert got.precision_at_k[row] == pytest.approx(
                mean(lambda o: brute.p_at_k([dlab[i] == ql for i in o], k_p)), abs=1e-12)
            assert got.acg_at_n[row] == pytest.approx(
                mean(lambda o: brute.acg([gains_all[i] for i in o], n)), abs=1e-12)
            assert got.ndcg_at_n[row] == pytest.approx(
                mean(lambda o: brute.ndcg([gains_all[i] for i in o], gains_all, n)), abs=1e-12)


def test_without_ties_both_rules_agree(rng):
    # Database codes at distances 0, 1, 2, ... from the all-zero query: no ties at all.
    d = np.tril(np.ones((9, 8), dtype=np.uint8), k=-1)
    codes = CodeSet.from_bits(np.zeros((1, 8), dtype=np.uint8), d, np.array([1]),
                              np.array([1, 0, 1, 1, 0, 0, 1, 0, 1]))
    a = evaluate(codes, map_k=5, precision_k=3, ndcg_n=4, ties="index")
    b = evaluate(codes, map_k=5, precision_k=3, ndcg_n=4, ties="average")
    for name in ("average_precision", "precision_at_k", "acg_at_n", "ndcg_at_n"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12)


def test_summary_is_plain_json(rng):
    import json

    q, d, qlab, dlab = _random_case(rng, 6, 3, 10, classes=3)
    summary = evaluate(CodeSet.from_bits(q, d, qlab, dlab)).summary()
    assert json.loads(json.dumps(summary)) == summary
    assert len(summary["pr_curve"]["precision"]) == 7 and summary["map_k"] == 10


def test_bad_options_are_user_errors(rng):
    q, d, qlab, dlab = _random_case(rng, 6, 3, 10, classes=3)
    codes = CodeSet.from_bits(q, d, qlab, dlab)
    with pytest.raises(ConfigError, match="ties"):
        evaluate(codes, ties="random")
    for bad in (0, -3, "five", 2.5, True):
        with pytest.raises(ConfigError, match="map_k"):
            evaluate(codes, map_k=bad)
    with pytest.raises(DataError, match="at least one query"):
        evaluate(CodeSet.from_bits(q[:0], d, qlab[:0], dlab))


def test_label_values_do_not_matter_only_their_identity(rng):
    q, d, qlab, dlab = _random_case(rng, 8, 5, 30, classes=5)
    base = evaluate(CodeSet.from_bits(q, d, qlab, dlab), map_k=10, similar_pairs=SIMILAR)
    sparse = evaluate(CodeSet.from_bits(q, d, qlab * 1000 + 7, dlab * 1000 + 7), map_k=10,
                      similar_pairs=[(a * 1000 + 7, b * 1000 + 7) for a, b in SIMILAR] + [(1, 99999)])
    for name in ("average_precision", "precision_at_k", "acg_at_n", "ndcg_at_n", "pr_precision"):
        np.testing.assert_array_equal(getattr(base, name), getattr(sparse, name))


def test_bad_similar_pairs(rng):
    q, d, qlab, dlab = _random_case(rng, 6, 3, 10, classes=3)
    codes = CodeSet.from_bits(q, d, qlab, dlab)
    for bad in ([(1, 1)], [(0, -1)], [(0, 1, 2)], ["ab"]):
        with pytest.raises(ConfigError, match="similar class pair"):
            evaluate(codes, similar_pairs=bad)
