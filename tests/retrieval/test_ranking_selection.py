"""ranking.py's two exact rankers (faiss' counting selection, full sort) against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.retrieval import ranking
from spikinghash.retrieval.codes import pack_codes
from spikinghash.retrieval.ranking import ranked_rows, select_nearest, sorting_wins


@pytest.mark.parametrize("bits", [3, 13, 64, 100])
def test_faiss_selection_breaks_ties_by_database_row(rng, brute, bits):
    q = rng.integers(0, 2, size=(6, bits), dtype=np.uint8)
    d = rng.integers(0, 2, size=(90, bits), dtype=np.uint8)
    d[::7] = d[0]  # exact duplicates: ties at every distance, not only at small L
    for k in (1, 4, 33, 90):
        rows, dist = select_nearest(pack_codes(q), pack_codes(d), k)
        assert rows.shape == dist.shape == (6, k) and rows.dtype == np.int64
        for row, query in enumerate(q.tolist()):
            order = brute.rank(query, d.tolist())[:k]
            assert rows[row].tolist() == order
            assert dist[row].tolist() == [brute.hamming(query, d[i].tolist()) for i in order]


@pytest.mark.parametrize("share", [0, 10**9])  # 0: always select; huge: always sort
def test_ranked_rows_is_exact_on_both_paths(rng, brute, monkeypatch, share):
    monkeypatch.setattr(ranking, "SORT_SHARE", share)
    q = rng.integers(0, 2, size=(5, 6), dtype=np.uint8)
    d = rng.integers(0, 2, size=(70, 6), dtype=np.uint8)
    rows, dist = ranked_rows(pack_codes(q), pack_codes(d), 12)
    for row, query in enumerate(q.tolist()):
        order = brute.rank(query, d.tolist())[:12]
        assert rows[row].tolist() == order
        assert dist[row].tolist() == [brute.hamming(query, d[i].tolist()) for i in order]
    assert ranked_rows(pack_codes(q[:0]), pack_codes(d), 3)[0].shape == (0, 3)


def test_sorting_wins_only_for_deep_rankings():
    assert not sorting_wins(100, 100_000) and not sorting_wins(1_000, 100_000)
    assert sorting_wins(100_000, 100_000) and sorting_wins(50, 60)
