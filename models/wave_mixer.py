"""Spiking WaveMixer (SWM, paper Sec. III-C, Eqs. 8–12).

Our reading of the paper's (garbled) weight shapes, for ``J`` levels (2 by default) and an
input ``[T, B, C, H, W]``; ``T_j = T / 2**j`` etc. for the 3D mixer:

* Eq. 9, global mixer: ``W1`` has one weight per channel, time step and position of the
  coarsest low band, ``[C, T_J, H_J, W_J]`` (stored time-first as ``[T_J, C, H_J, W_J]``).
* Eq. 10, token mixer: per level ``j`` one weight per band, time step and position, shared
  by all channels: ``W2, W3 = [7, T_j, H_j, W_j]`` (stored ``[T_j, 7, H_j, W_j]``).
* Eqs. 11–12, channel mixer: per level, ``N`` groups of ``D = C/N`` channels mixed by a
  ``[N, D, K]`` tensor with ``K = D`` (so C channels come back for the inverse DWT); this
  is a block-diagonal 1×1 convolution.

The 2D variant (Table XI, "2D-SWM") transforms only H and W (3 high bands per level) and
drops the time axis of the weights: they are stored with a time extent of 1 and broadcast
over all T steps. No batch norm and no biases: the paper lists none inside the SWM.

Neurons: Eq. 8 puts a spiking neuron before each 1D transform (the first one reads the
block's float input, so it uses the block's entry neuron); Eqs. 9–11 put one before each
Hadamard product and before the channel mixer. These inner neurons read Haar coefficients
of spikes, whose smallest non-zero value is 1/√2: with tau = 2 it charges H to 0.354, so
their threshold (:data:`SWM_NEURON`, 0.25) lets a single spike through. At v_th = 0.5 the
chain of Eq. 8 silences sparse input entirely (measured: no spike after the second
transform in Spikinghash-S's first stage at initialisation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.haar_dwt import WaveletPyramid, check_divisible, wavedec, waverec
from spikinghash.models.lif import LIF, LIFParams

#: Default parameters of the neurons inside the SWM (see the module docstring).
SWM_NEURON = LIFParams(v_threshold=0.25)

AXES_3D = ("t", "h", "w")
AXES_2D = ("h", "w")


def global_mix(low_spikes: Tensor, weight: Tensor) -> Tensor:
    """Eq. 9: L' = SN(L_J) ∘ W1.

    Args:
        low_spikes: ``[T_J, B, C, H_J, W_J]`` spikes of the coarsest low band.
        weight: ``[T_J or 1, C, H_J, W_J]``.
    """
    return low_spikes * weight.unsqueeze(1)


def token_mix(high_spikes: Tensor, weight: Tensor) -> Tensor:
    """Eq. 10: H'_j = SN(H_j) ∘ W, one weight per band, step and position, shared by channels.

    Args:
        high_spikes: ``[T_j, B, K-1, C, H_j, W_j]``.
        weight: ``[T_j or 1, K-1, H_j, W_j]``.
    """
    return high_spikes * weight.unsqueeze(1).unsqueeze(3)


def channel_mix(spikes: Tensor, weight: Tensor) -> Tensor:
    """Eqs. 11–12: out[..., n, k] = Σ_d in[..., n, d] · W[n, d, k], channels split as (N, D).

    Args:
        spikes: ``[..., C, H, W]`` with ``C = N·D``.
        weight: ``[N, D, D]``.

    Returns:
        Same shape as ``spikes``.
    """
    groups, depth, _ = weight.shape
    flat = spikes.reshape(-1, *spikes.shape[-3:])
    # A grouped 1×1 convolution is the block-diagonal einsum without moving C last.
    kernel = weight.transpose(1, 2).reshape(groups * depth, depth, 1, 1)
    return F.conv2d(flat, kernel, groups=groups).reshape(spikes.shape)


class SpikingWaveMixer(nn.Module):
    """SWM: ``[T, B, C, H, W] -> [T, B, C, H, W]`` for a fixed input size.

    The mixer weights are sized from ``T``, ``height`` and ``width``, so a model holding
    an SWM accepts exactly that input size.
    """

    def __init__(
        self,
        channels: int,
        T: int,
        height: int,
        width: int,
        *,
        levels: int = 2,
        temporal: bool = True,
        groups: int = 8,
        entry_neuron: LIFParams | None = None,
        neuron: LIFParams | None = None,
    ) -> None:
        super().__init__()
        self.axes = AXES_3D if temporal else AXES_2D
        where = f"Spiking WaveMixer at {height}x{width}, T={T}: "
        if levels < 1:
            raise ConfigError(f"{where}dwt_levels = {levels}; use at least 1")
        check_divisible((T, 1, channels, height, width), self.axes, levels, where)
        if channels % groups:
            raise ConfigError(
                f"{where}{channels} channels do not split into mixer_groups={groups}; "
                "choose mixer_groups dividing the stage width"
            )
        self.levels = levels
        self.input_shape = (T, channels, height, width)
        n_bands = 2 ** len(self.axes) - 1
        depth = channels // groups

        def steps(j: int) -> int:
            return T >> j if temporal else 1

        J = levels
        self.global_weight = nn.Parameter(torch.ones(steps(J), channels, height >> J, width >> J))
        self.token_weights = nn.ParameterList(
            nn.Parameter(torch.ones(steps(j), n_bands, height >> j, width >> j)) for j in range(1, J + 1)
        )
        bound = 1.0 / math.sqrt(depth)
        self.channel_weights = nn.ParameterList(
            nn.Parameter(torch.empty(groups, depth, depth).uniform_(-bound, bound)) for _ in range(J)
        )
        entry = entry_neuron if entry_neuron is not None else LIFParams()
        inner = neuron if neuron is not None else SWM_NEURON
        n_dwt = levels * len(self.axes)
        self.dwt_neurons = nn.ModuleList([LIF(entry)] + [LIF(inner) for _ in range(n_dwt - 1)])
        self.global_neuron = LIF(inner)
        self.token_neurons = nn.ModuleList(LIF(inner) for _ in range(J))
        self.channel_neurons = nn.ModuleList(LIF(inner) for _ in range(J))

    def forward(self, x: Tensor) -> Tensor:
        """``x: [T, B, C, H, W]`` float -> ``[T, B, C, H, W]`` float."""
        got = (x.shape[0], *x.shape[2:])
        if got != self.input_shape:
            raise ConfigError(
                f"Spiking WaveMixer was built for (T, C, H, W) = {self.input_shape} but got "
                f"{got}; build the model with the T and img_size of your data"
            )
        neurons = iter(self.dwt_neurons)  # Eq. 8: the next neuron before every 1D transform
        pyramid = wavedec(x, self.levels, self.axes, pre=lambda bands: next(neurons)(bands))
        low = global_mix(self.global_neuron(pyramid.low), self.global_weight)
        highs = []
        for j, high in enumerate(pyramid.highs):
            mixed = token_mix(self.token_neurons[j](high), self.token_weights[j])
            highs.append(channel_mix(self.channel_neurons[j](mixed), self.channel_weights[j]))
        return waverec(WaveletPyramid(low, tuple(highs)), self.axes)
