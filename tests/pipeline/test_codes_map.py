"""pipeline/simulate.py's codes_map: the mAP of named code sets against a brute-force loop."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.pipeline.simulate import codes_map


def _brute_force_map(q: np.ndarray, db: np.ndarray, ql: np.ndarray, dl: np.ndarray) -> float:
    aps = []
    for code, label in zip(q, ql):
        dist = [int(np.sum(code != d)) for d in db]
        order = sorted(range(len(db)), key=lambda i: (dist[i], i))  # ties broken by database row
        hits, precisions = 0, []
        for rank, i in enumerate(order, start=1):
            if dl[i] == label:
                hits += 1
                precisions.append(hits / rank)
        aps.append(np.mean(precisions))
    return float(np.mean(aps))


def test_codes_map_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    db_labels, q_labels = rng.integers(0, 3, 20), rng.integers(0, 3, 6)
    centers = rng.integers(0, 2, (3, 16))
    flip = lambda labels, p: (centers[labels] ^ (rng.random((len(labels), 16)) < p)).astype(np.uint8)  # noqa: E731
    q = {"float": flip(q_labels, 0.1), "int": flip(q_labels, 0.3)}
    db = {"float": flip(db_labels, 0.1), "int": flip(db_labels, 0.3)}
    result = codes_map(q, db, q_labels, db_labels)
    for name in ("float", "int"):
        assert result[name] == pytest.approx(_brute_force_map(q[name], db[name], q_labels, db_labels))
    assert result["float"] > result["int"]  # noisier codes retrieve worse
