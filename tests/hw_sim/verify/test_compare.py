"""Comparison utilities on hand-made rasters and codes; mAP against a brute-force loop."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.errors import DataError
from spikinghash.hw_sim.backends.result import BackendResult
from spikinghash.hw_sim.frontend.readout import hash_codes
from spikinghash.hw_sim.verify.compare import bit_exactness, compare_float_int, hash_agreement, layer_agreement


def _run(spikes: dict, codes, v=None, states=None) -> BackendResult:
    return BackendResult("test", {k: np.asarray(s) for k, s in spikes.items()}, np.asarray(codes),
                         np.zeros((0,)) if v is None else np.asarray(v), states or {})


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
    assert bit_exactness(fast, lava) == {"n": 1, "v_hash": 2, "codes": 1, "states": 0}
    assert bit_exactness(lava, fast) == bit_exactness(fast, lava)  # either order


def test_bit_exactness_counts_final_states_both_observe() -> None:
    """Only the (layer, variable) pairs both runs hold are compared, over the samples both ran."""
    u = np.zeros((3, 2), np.int64)
    fast = _run({}, np.zeros((3, 2)), v=np.zeros((1, 3, 2)), states={"n": {"u": u, "v": u}, "m": {"v": u}})
    v = np.zeros((2, 2), np.int64)
    v[1, 0] = 5
    lava = _run({}, np.zeros((2, 2)), v=np.zeros((1, 2, 2)), states={"n": {"v": v}})
    assert bit_exactness(fast, lava)["states"] == 1
