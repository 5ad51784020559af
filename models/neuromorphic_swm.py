"""The neuromorphic Spiking WaveMixer: a causal, undecimated 3D Haar transform (Eqs. 7–12).

The paper's SWM (``wave_mixer.py``) pairs time steps ``2n`` and ``2n+1`` (the output of a step
needs the next step), decimates H and W, and reconstructs with an inverse DWT that upsamples;
its mixer weights change from one step to the next. None of that exists on a Loihi-class chip
(static synapses, one frame per step, no upsampling node in NIR). This version keeps the
structure of Eqs. 8–12 (a spiking neuron before every 1D transform, Hadamard global and token
mixers, a grouped channel mixer, inverse transform, residual add) with the *undecimated*
(stationary, "à trous") Haar transform:

* time, level ``j`` (``δ = 2**(j-1)`` steps): ``a[t] = (x[t] + x[t-δ])/√2``,
  ``d[t] = (x[t] - x[t-δ])/√2`` — causal, built from a NIR ``Delay`` of δ steps;
* height and width, level ``j``: ``a[i] = (x[i] + x[i+δ])/√2``, ``d[i] = (x[i] - x[i+δ])/√2``
  with zeros beyond the border — a fixed grouped convolution with dilation δ;
* the inverse of one level is pointwise: ``x = (1/√2)**3 · Σ_bands band`` (per axis
  ``x = (a + d)/√2``), so it folds into the channel mixer (:class:`BandMixer`) and the global
  mixer's gain, and no upsampling is needed;
* mixer weights have one value per band (or channel) and position, the same at every step
  (NIR ``Scale``).

Per level the populations are: ``t_sn`` (bands a, d: ``2C`` channels), ``h_sn`` (``4C``),
``low_sn`` (band aaa, ``C``: the next level's input, or SN(L_J) of Eq. 9 at the last level),
``high_sn`` (the 7 high bands, ``7C``: SN(H_j) of Eq. 10) and ``token_sn`` (``7C``: the SN of
Eq. 11). Bands are numbered as in ``haar_dwt.py``: one bit per axis, time first, 1 = high-pass.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.neuromorphic_graph import Wiring
from spikinghash.models.neuromorphic_ops import BandMixer, HadamardMixer, HaarConv, Projection

_SQRT_HALF = math.sqrt(0.5)
HIGH_BANDS = 7  # 2**3 - 1 high-pass bands of a 3D transform


def haar_band_weight(channels: int, in_bands: int, out_bands: Sequence[int], tap: int) -> Tensor:
    """Eq. 7's Haar filters l = [1, 1]/√2, h = [1, -1]/√2 as one tap of a grouped convolution.

    Output band ``k`` applies one more 1D transform to input band ``k >> 1``: low-pass if ``k``
    is even, high-pass if odd. Tap 0 weighs the sample itself, tap 1 its partner (``x[i+δ]``
    in space, ``x[t-δ]`` in time): ``l = (1, 1)/√2``, ``h = (1, -1)/√2``.

    Returns:
        ``[channels·len(out_bands), in_bands]``, for ``groups = channels`` (channel-major).
    """
    weight = torch.zeros(len(out_bands), in_bands)
    for row, band in enumerate(out_bands):
        weight[row, band >> 1] = -_SQRT_HALF if (tap == 1 and band & 1) else _SQRT_HALF
    return weight.repeat(channels, 1)


def temporal_haar(channels: int, tap: int) -> HaarConv:
    """Tap ``tap`` of the time transform: ``[N, C, H, W] -> [N, 2C, H, W]`` (bands a, d)."""
    weight = haar_band_weight(channels, 1, (0, 1), tap)
    return HaarConv(weight[:, :, None, None], groups=channels)


def spatial_haar(channels: int, in_bands: int, out_bands: Sequence[int], axis: str, dilation: int) -> HaarConv:
    """The undecimated transform along ``axis`` ("h" or "w"), zero beyond the border.

    ``[N, C·in_bands, H, W] -> [N, C·len(out_bands), H, W]``: a 3×3 kernel with dilation
    ``dilation`` whose centre weighs ``x[i]`` and the next tap along ``axis`` ``x[i + dilation]``.
    The kernel is square, with zero taps, because NIR 1.0.8 derives a ``Conv2d``'s output
    shape from ``weight.shape[2]`` alone.
    """
    kernel = torch.zeros(channels * len(out_bands), in_bands, 3, 3)
    kernel[..., 1, 1] = haar_band_weight(channels, in_bands, out_bands, 0)
    partner = (2, 1) if axis == "h" else (1, 2)
    kernel[..., partner[0], partner[1]] = haar_band_weight(channels, in_bands, out_bands, 1)
    return HaarConv(kernel, groups=channels, padding=(dilation, dilation), dilation=(dilation, dilation))


class HaarLevel(nn.Module):
    """One level (Eq. 8 then Eqs. 10–11) on the spikes of ``source``; see the module docstring.

    Adds its populations to ``wiring`` under ``prefix``. ``output`` is the path of the projection
    this level adds to the residual stream (``mix``); ``low`` the path of ``low_sn``.
    """

    def __init__(self, wiring: Wiring, prefix: str, source: str, channels: int, height: int, width: int,
                 level: int, groups: int, neuron: LIFParams) -> None:
        super().__init__()
        delta = 2 ** (level - 1)

        def project(name: str, projection: Projection) -> str:
            setattr(self, name, projection)
            return wiring.project(f"{prefix}.{name}", projection)

        def populate(name: str, bands: int, inputs: Sequence[str]) -> str:
            setattr(self, name, LIF(neuron))
            return wiring.layer(f"{prefix}.{name}", (channels * bands, height, width), inputs)

        t_in = (project("t_now", Projection(source, temporal_haar(channels, 0))),
                project("t_past", Projection(source, temporal_haar(channels, 1), delay=delta)))
        t_sn = populate("t_sn", 2, t_in)  # Eq. 8: SN before the transform along H
        h = project("h", Projection(t_sn, spatial_haar(channels, 2, range(4), "h", delta)))
        h_sn = populate("h_sn", 4, [h])  # Eq. 8: SN before the transform along W
        w_low = project("w_low", Projection(h_sn, spatial_haar(channels, 4, (0,), "w", delta)))
        self.low = populate("low_sn", 1, [w_low])
        w_high = project("w_high", Projection(h_sn, spatial_haar(channels, 4, range(1, 8), "w", delta)))
        high_sn = populate("high_sn", HIGH_BANDS, [w_high])  # Eq. 10: SN(H_j)
        token = project("token", Projection(high_sn, HadamardMixer(HIGH_BANDS, height, width)))
        token_sn = populate("token_sn", HIGH_BANDS, [token])  # Eq. 11: SN(H'_j)
        gain = _SQRT_HALF ** (3 * level)  # the inverse transform's scale at this level
        self.output = project("mix", Projection(token_sn, BandMixer(channels, HIGH_BANDS, groups, gain)))


class NeuromorphicWaveMixer(nn.Module):
    """Neuromorphic SWM: entry SN on the residual stream, ``levels`` Haar levels, global mixer.

    ``outputs`` are the projections it adds to the residual stream: each level's band mixer
    and the global mixer (Eq. 9) on SN(L_J), which carries the inverse transform's gain.
    """

    def __init__(self, wiring: Wiring, prefix: str, stream: Sequence[str], channels: int, height: int,
                 width: int, *, levels: int, groups: int, entry_neuron: LIFParams, neuron: LIFParams) -> None:
        super().__init__()
        if channels % groups:
            raise ConfigError(
                f"neuromorphic WaveMixer: {channels} channels do not split into mixer_groups={groups}; "
                "choose mixer_groups dividing every stage width"
            )
        self.entry = LIF(entry_neuron)
        source = wiring.layer(f"{prefix}.entry", (channels, height, width), stream)
        self.levels = nn.ModuleList()
        for level in range(1, levels + 1):
            block = HaarLevel(wiring, f"{prefix}.levels.{level - 1}", source, channels, height, width,
                              level, groups, neuron)
            self.levels.append(block)
            source = block.low
        gain = _SQRT_HALF ** (3 * levels)
        self.global_mix = Projection(source, HadamardMixer(channels, height, width, gain))  # Eq. 9
        wiring.project(f"{prefix}.global_mix", self.global_mix)
        self.outputs = tuple(lv.output for lv in self.levels) + (f"{prefix}.global_mix",)
