"""Comparison utilities on hand-made rasters and codes; mAP against a brute-force loop."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from spikinghash.errors import DataError
from spikinghash.hw_sim.compare import bit_exactness, compare_float_int, hash_agreement, layer_agreement
from spikinghash.pipeline.simulate import codes_map  # mAP of code sets: the simulate stage's
from spikinghash.hw_sim.readout import hash_codes


def _run(spikes: dict, codes, v=None) -> SimpleNamespace:
    return SimpleNamespace(spikes={k: np.asarray(s) for k, s in spikes.items()}, codes=np.asarray(codes),
                           v_hash=None if v is None else np.asarray(v))


def test_hash_codes_are_the_and_over_time() -> None:
    spikes = np.array([[[1, 1, 0]], [[1, 0, 0]], [[1, 1, 1]]])  # [T=3, B=1, L=3]
    assert hash_codes(spikes).tolist() == [[1, 0, 0]]  # Eq. 18


def test_layer_and_hash_agreement_by_hand() -> None:
    a = _run({"n": np.zeros((2, 1, 2))}, [[1, 0], [1, 1]])
    b = _run({"n": np.array([[[0, 1]], [[0, 0]]])}, [[1, 1], [1, 1]])
    assert layer_agreement(a, b) == {"n": {"agreement": 0.75, "rate_a": 0.0, "rate_b": 0.25}}
    assert hash_agreement(a, b) == {"bit_agreement": 0.75, "code_agreement": 0.5, "mean_hamming": 0.5}
    report = compare_float_int(a, b)
    assert report["codes_float"].tolist() == [[1, 0], [1, 1]] and report["hash"]["bit_agreement"] == 0.75
    with pytest.raises(DataError):
        layer_agreement(a, _run({"n": np.zeros((3, 1, 2))}, [[0, 0]]))


def test_bit_exactness_counts_every_difference() -> None:
    fast = _run({"n": np.zeros((2, 3, 2))}, np.zeros((3, 2)), v=np.zeros((2, 3, 2)))
    spikes = np.zeros((2, 2, 2))
    spikes[1, 0, 1] = 1
    v = np.zeros((2, 2, 2))
    v[0, 1, 0] = v[1, 1, 1] = 7
    lava = _run({"n": spikes}, [[0, 1], [0, 0]], v=v)  # Lava ran the first 2 of 3 samples
    assert bit_exactness(fast, lava) == {"n": 1, "v_hash": 2, "codes": 1}


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
