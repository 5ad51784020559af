"""Spiking WaveMixer (Eqs. 8–12) against a reference built from PyWavelets and loops."""

from __future__ import annotations

import numpy as np
import pytest
import pywt
import torch

from spikinghash.errors import ConfigError
from spikinghash.models.lif import LIFParams, lif_multistep
from spikinghash.models.wave_mixer import SpikingWaveMixer, channel_mix

ENTRY = LIFParams(v_threshold=0.3)
INNER = LIFParams(v_threshold=0.2)


def test_channel_mix_is_the_grouped_sum_of_eq_12() -> None:
    torch.manual_seed(0)
    groups, depth = 3, 4
    x = torch.randn(2, 5, groups * depth, 3, 2, dtype=torch.float64)
    w = torch.randn(groups, depth, depth, dtype=torch.float64)
    expected = torch.zeros_like(x)
    for n in range(groups):
        for k in range(depth):
            for d in range(depth):
                expected[:, :, n * depth + k] += x[:, :, n * depth + d] * w[n, d, k]
    torch.testing.assert_close(channel_mix(x, w), expected)


def _sn(arr: np.ndarray, p: LIFParams) -> np.ndarray:
    return lif_multistep(torch.from_numpy(arr), p).spikes.numpy()


def _dwt_with_neurons(arr: np.ndarray, first: LIFParams, axes: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Eq. 8 band by band: a neuron, then PyWavelets' 1D Haar DWT, for each axis in turn."""
    bands = {"": arr}
    for i, axis in enumerate(axes):
        new = {}
        for key, band in bands.items():
            a, d = pywt.dwt(_sn(band, first if i == 0 else INNER), "haar", axis=axis)
            new[key + "a"], new[key + "d"] = a, d
        bands = new
    return bands


def reference_swm(x: np.ndarray, swm: SpikingWaveMixer, axes: tuple[int, ...]) -> np.ndarray:
    """Eqs. 8–12 and the inverse DWT, written out with PyWavelets and explicit sums."""
    w1 = swm.global_weight.detach().numpy()
    keys = None
    details = []
    low, first = x, ENTRY
    for j in range(swm.levels):
        bands = _dwt_with_neurons(low, first, axes)
        keys = sorted(bands)  # "aa..a" first, then the high bands in our band order
        low, first = bands[keys[0]], INNER
        w_token = swm.token_weights[j].detach().numpy()
        w_chan = swm.channel_weights[j].detach().numpy()
        groups, depth, _ = w_chan.shape
        mixed = {}
        for b, key in enumerate(keys[1:]):
            # Eq. 10: per band, step and position; shared over batch and channels.
            h1 = _sn(bands[key], INNER) * w_token[:, b][:, None, None, :, :]
            s = _sn(h1, INNER)
            t_, b_, c_, hh, ww = s.shape
            grouped = s.reshape(t_, b_, groups, depth, hh, ww)
            mixed[key] = np.einsum("tbndhw,nde->tbnehw", grouped, w_chan).reshape(s.shape)  # Eq. 12
        details.insert(0, mixed)
    low = _sn(low, INNER) * w1[:, None]  # Eq. 9
    return pywt.waverecn([low, *details], "haar", axes=axes)


@pytest.mark.parametrize("temporal", [True, False])
def test_forward_matches_reference(temporal: bool) -> None:
    torch.manual_seed(0)
    swm = SpikingWaveMixer(8, 4, 8, 8, levels=2, temporal=temporal, groups=2, entry_neuron=ENTRY, neuron=INNER)
    swm = swm.double()
    with torch.no_grad():
        for p in swm.parameters():
            p.copy_(torch.rand_like(p) * 2.0)  # positive, so the mixed bands keep firing
    x = 1.5 * torch.randn(4, 2, 8, 8, 8, dtype=torch.float64)
    ours = swm(x).detach().numpy()
    axes = (0, 3, 4) if temporal else (3, 4)
    ref = reference_swm(x.numpy(), swm, axes)
    assert np.abs(ref).max() > 0.1  # the reference is not trivially zero
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_weight_shapes_follow_the_papers_reading() -> None:
    swm3 = SpikingWaveMixer(16, 8, 16, 16, groups=4)
    assert tuple(swm3.global_weight.shape) == (2, 16, 4, 4)  # W1: [T/4, C, H/4, W/4]
    assert [tuple(w.shape) for w in swm3.token_weights] == [(4, 7, 8, 8), (2, 7, 4, 4)]  # W2, W3
    assert [tuple(w.shape) for w in swm3.channel_weights] == [(4, 4, 4), (4, 4, 4)]  # W4, W5: [N, D, D]
    swm2 = SpikingWaveMixer(16, 6, 16, 16, groups=4, temporal=False)  # no time axis: any T
    assert tuple(swm2.global_weight.shape) == (1, 16, 4, 4)
    assert [tuple(w.shape) for w in swm2.token_weights] == [(1, 3, 8, 8), (1, 3, 4, 4)]


def test_gradients_reach_every_weight() -> None:
    torch.manual_seed(0)
    swm = SpikingWaveMixer(8, 4, 8, 8, groups=2)
    out = swm(2.0 * torch.randn(1, 2, 8, 8, 8).repeat(4, 1, 1, 1, 1))
    out.square().sum().backward()
    for name, p in swm.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize(
    ("args", "message"),
    [((12, 4, 8, 8, 8), "mixer_groups"), ((8, 6, 8, 8, 2), "time steps"), ((8, 4, 10, 8, 2), "height")],
)
def test_impossible_sizes_raise_config_error(args: tuple[int, ...], message: str) -> None:
    channels, T, h, w, groups = args
    with pytest.raises(ConfigError, match=message):
        SpikingWaveMixer(channels, T, h, w, groups=groups)


def test_wrong_input_size_raises_config_error() -> None:
    swm = SpikingWaveMixer(8, 4, 8, 8, groups=2)
    with pytest.raises(ConfigError, match="built for"):
        swm(torch.zeros(8, 1, 8, 8, 8))
