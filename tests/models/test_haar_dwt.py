"""Haar DWT (Eqs. 7–8) against PyWavelets."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch

from spikinghash.errors import ConfigError
from spikinghash.models.haar_dwt import AXIS_INDEX, dwt_level, wavedec, waverec


def pywt_key(k: int, n_axes: int) -> str:
    """PyWavelets' band key of our band index k (first axis = most significant bit)."""
    return "".join("d" if (k >> (n_axes - 1 - i)) & 1 else "a" for i in range(n_axes))


@pytest.mark.parametrize("axes", [("t", "h", "w"), ("h", "w")])
@pytest.mark.parametrize("levels", [1, 2, 3])
def test_wavedec_matches_pywavelets(axes: tuple[str, ...], levels: int) -> None:
    x = torch.randn(8, 2, 3, 16, 8, dtype=torch.float64)
    ours = wavedec(x, levels, axes)
    ref = pywt.wavedecn(x.numpy(), "haar", level=levels, axes=[AXIS_INDEX[a] for a in axes])
    np.testing.assert_allclose(ours.low.numpy(), ref[0], rtol=0, atol=1e-12)
    assert len(ours.highs) == levels
    for j, high in enumerate(ours.highs):  # ours: finest first; PyWavelets: coarsest first
        details = ref[levels - j]
        assert high.shape[2] == 2 ** len(axes) - 1
        for k in range(1, 2 ** len(axes)):
            np.testing.assert_allclose(high[:, :, k - 1].numpy(), details[pywt_key(k, len(axes))], atol=1e-12)


@pytest.mark.parametrize("axes", [("t", "h", "w"), ("h", "w")])
def test_perfect_reconstruction(axes: tuple[str, ...]) -> None:
    x = torch.randn(4, 2, 5, 8, 12, dtype=torch.float64)
    pyramid = wavedec(x, 2, axes)
    np.testing.assert_allclose(waverec(pyramid, axes).numpy(), x.numpy(), atol=1e-12)
    ref = pywt.waverecn(
        pywt.wavedecn(x.numpy(), "haar", level=2, axes=[AXIS_INDEX[a] for a in axes]),
        "haar", axes=[AXIS_INDEX[a] for a in axes],
    )
    np.testing.assert_allclose(waverec(pyramid, axes).numpy(), ref, atol=1e-12)


def test_hook_runs_before_each_one_dimensional_transform() -> None:
    # Eq. 8 with a ReLU in place of the neuron: DWT_W(f(DWT_H(f(DWT_T(f(X)))))),
    # recomputed with PyWavelets one axis at a time.
    x = torch.randn(4, 1, 2, 4, 6, dtype=torch.float64)
    ours = dwt_level(x, ("t", "h", "w"), pre=torch.relu)

    bands = {"": np.maximum(x.numpy(), 0)}
    for axis in (0, 3, 4):
        new = {}
        for key, arr in bands.items():
            a, d = pywt.dwt(np.maximum(arr, 0), "haar", axis=axis)
            new[key + "a"], new[key + "d"] = a, d
        bands = new
    for k in range(8):
        np.testing.assert_allclose(ours[:, :, k].numpy(), bands[pywt_key(k, 3)], atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 1, 1, 8, 8), (8, 1, 1, 10, 8), (8, 1, 1, 8, 2)])
def test_sizes_not_divisible_raise_config_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match="not divisible by 4"):
        wavedec(torch.zeros(shape), 2)
