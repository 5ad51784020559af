"""ranking.py: faiss distances, the (distance, row) tie rule, histograms and tie averages."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.retrieval.codes import pack_codes
from spikinghash.retrieval.ranking import (class_histogram, group_means_by_rank, hamming_distances,
                                           query_blocks, rank_order)


@pytest.mark.parametrize("bits", [1, 3, 8, 13, 64, 100])
def test_faiss_distances_match_xor_popcount(rng, brute, bits):
    q = rng.integers(0, 2, size=(6, bits), dtype=np.uint8)
    d = rng.integers(0, 2, size=(11, bits), dtype=np.uint8)
    qp, dp = pack_codes(q), pack_codes(d)
    got = hamming_distances(qp, dp)
    assert got.dtype == np.uint16 and got.shape == (6, 11)
    want = [[brute.popcount_xor(bytes(a), bytes(b)) for b in dp] for a in qp]
    assert got.tolist() == want


def test_rank_order_breaks_ties_by_database_row(rng, brute):
    q = rng.integers(0, 2, size=(5, 3), dtype=np.uint8)   # 3 bits: many ties
    d = rng.integers(0, 2, size=(40, 3), dtype=np.uint8)
    dist = hamming_distances(pack_codes(q), pack_codes(d))
    order = rank_order(dist, 40)
    for row, query in enumerate(q.tolist()):
        assert order[row].tolist() == brute.rank(query, d.tolist())
    np.testing.assert_array_equal(rank_order(dist, 7), order[:, :7])


def test_class_histogram_counts_by_hand(rng):
    dist = rng.integers(0, 5, size=(3, 20)).astype(np.uint16)
    labels = rng.integers(0, 3, size=20)
    hist = class_histogram(dist, labels, 4, 3)
    assert hist.shape == (3, 5, 3)
    for row in range(3):
        for v in range(5):
            for c in range(3):
                assert hist[row, v, c] == sum(1 for x, lab in zip(dist[row], labels) if x == v and lab == c)


def test_group_means_are_the_mean_over_all_tie_orders(rng, brute):
    q = rng.integers(0, 2, size=(3, 3), dtype=np.uint8)
    d = rng.integers(0, 2, size=(7, 3), dtype=np.uint8)
    values = rng.random((3, 7))
    counts, sums = np.zeros((3, 4)), np.zeros((3, 4))
    for row, query in enumerate(q.tolist()):
        for i, item in enumerate(d.tolist()):
            counts[row, brute.hamming(query, item)] += 1
            sums[row, brute.hamming(query, item)] += values[row, i]
    got = group_means_by_rank(counts, sums, 5)
    for row, query in enumerate(q.tolist()):
        orders = list(brute.tie_orders(query, d.tolist()))
        want = [sum(values[row][o[i]] for o in orders) / len(orders) for i in range(5)]
        np.testing.assert_allclose(got[row], want, rtol=1e-12)


def test_group_means_expand_run_lengths():
    got = group_means_by_rank(np.array([[2.0, 0.0, 3.0]]), np.array([[2.0, 0.0, 1.5]]), 4)
    np.testing.assert_array_equal(got, [[1.0, 1.0, 0.5, 0.5]])


def test_query_blocks_cover_every_query_once():
    blocks = list(query_blocks(10, 4, budget=12))
    assert [b.stop - b.start for b in blocks] == [3, 3, 3, 1]
    assert list(query_blocks(2, 10**9, budget=5)) == [slice(0, 1), slice(1, 2)]
