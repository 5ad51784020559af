"""evaluate.top_k_scores: AP@k and P@k against brute-force loops and against evaluate()."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.errors import ConfigError, DataError
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.scoring import evaluate, top_k_scores


@pytest.mark.parametrize("bits,num_db,k_map,k_p", [
    (4, 200, 5, 3),        # shallow: faiss selection, heavy ties
    (16, 200, 150, 10),    # deep: full sort
    (64, 60, "all", 500),  # k = N and k > N clamped
])
def test_top_k_scores_match_brute_force_and_evaluate(rng, brute, bits, num_db, k_map, k_p):
    q = rng.integers(0, 2, size=(8, bits), dtype=np.uint8)
    d = rng.integers(0, 2, size=(num_db, bits), dtype=np.uint8)
    qlab, dlab = rng.integers(0, 4, size=8), rng.integers(0, 3, size=num_db)
    qlab[0] = 3  # class absent from the database: scores 0
    codes = CodeSet.from_bits(q, d, qlab * 10 + 5, dlab * 10 + 5)  # label values do not matter
    got = top_k_scores(codes, map_k=k_map, precision_k=k_p, block_budget=3 * num_db)
    km = num_db if k_map == "all" else min(k_map, num_db)
    kp = min(k_p, num_db)
    for row, (query, ql) in enumerate(zip(q.tolist(), qlab.tolist())):
        rels = [dlab[i] == ql for i in brute.rank(query, d.tolist())]
        assert got.average_precision[row] == pytest.approx(brute.ap_at_k(rels, km), abs=1e-12)
        assert got.precision_at_k[row] == pytest.approx(brute.p_at_k(rels, kp), abs=1e-12)
    assert got.average_precision[0] == got.precision_at_k[0] == 0.0
    full = evaluate(codes, map_k=k_map, precision_k=k_p, ndcg_n=1)
    np.testing.assert_array_equal(got.average_precision, full.average_precision)
    np.testing.assert_array_equal(got.precision_at_k, full.precision_at_k)


def test_top_k_scores_bad_input(rng):
    q, d = rng.integers(0, 2, size=(3, 8)), rng.integers(0, 2, size=(5, 8))
    codes = CodeSet.from_bits(q, d, np.zeros(3, int), np.zeros(5, int))
    with pytest.raises(ConfigError, match="map_k"):
        top_k_scores(codes, map_k=0)
    with pytest.raises(DataError, match="at least one query"):
        top_k_scores(CodeSet.from_bits(q[:0], d, np.zeros(0, int), np.zeros(5, int)))
