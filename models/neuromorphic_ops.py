"""Synapse operations of the neuromorphic profile: each becomes exactly one NIR weighted node.

A :class:`Projection` is one synaptic path of the deployment contract
(``docs/deploy_contract.md``): the spikes of a source population, delayed by a whole
number of time steps, through one linear operation, into a target population's current.
Within a step nothing is delayed (no synaptic latency), as in the float reference.

The linear operations:

* :class:`ConvBN` — a convolution with an optional batch norm (folded into the convolution
  at export; in training it normalises over all ``T·B`` samples, like every other BN here);
* :class:`HaarConv` — a fixed Haar filter as a grouped convolution (a buffer, never trained);
* :class:`HadamardMixer` — Eq. 9/10's Hadamard product with one weight per band and position,
  the same at every time step (NIR ``Scale``);
* :class:`BandMixer` — Eq. 11–12's channel mixer after the inverse Haar transform, which in the
  undecimated transform is a sum of the bands (exported as one grouped 1×1 ``Conv2d``).

Band layout: a population of ``C`` channels with ``K`` sub-bands each has ``C·K`` channels,
channel-major (index ``c·K + k``), which is the order grouped convolutions produce.

Each operation owns its NIR conversion: ``to_nir(in_shape)`` beside its float ``forward``
returns the one NIR weighted node that computes the same map on one step's input
``[C, H, W]`` (no batch axis, as NIR shapes have none). ``export/nir_export.py`` walks the
projections and calls it; a subclass (the QAT operations of ``models/qat_layers.py``) inherits it and
changes what it computes through the same hooks (``scale()``, its parameters).
"""

from __future__ import annotations

import math
from typing import Any

import nir
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikinghash.models.batch_norm import fold_batch_norm
from spikinghash.models.wave_mixer import channel_mix

#: Name of the network input as a projection source (the NIR ``Input`` node).
INPUT = "input"

Shape = tuple[int, ...]


def _array(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    first, second = (value, value) if isinstance(value, int) else value
    return int(first), int(second)


def conv2d_node(weight: Tensor, bias: Tensor | None, in_shape: Shape, *, stride: Any = 1, padding: Any = 0,
                dilation: Any = 1, groups: int = 1) -> nir.Conv2d:
    """A ``nir.Conv2d`` of ``weight [out, in/groups, kh, kw]`` (bias zeros if None) on ``in_shape [C, H, W]``."""
    b = bias if bias is not None else weight.new_zeros(weight.shape[0])
    return nir.Conv2d(input_shape=(in_shape[1], in_shape[2]), weight=_array(weight), stride=_pair(stride),
                      padding=_pair(padding), dilation=_pair(dilation), groups=groups, bias=_array(b))


def shift_in_time(x: Tensor, steps: int) -> Tensor:
    """``y[t] = x[t - steps]`` with zeros before the start (a NIR ``Delay`` of ``steps·dt``).

    Args:
        x: ``[T, ...]``.
        steps: delay in time steps, ``>= 0``.
    """
    if steps == 0:
        return x
    kept = max(x.shape[0] - steps, 0)
    return torch.cat((x.new_zeros((x.shape[0] - kept, *x.shape[1:])), x[:kept]))


class Projection(nn.Module):
    """One synaptic path: ``source`` spikes → delay ``delay`` steps → ``op`` → current.

    ``source`` is the module path (relative to the backbone) of the source population, or
    :data:`INPUT`. ``op`` must be linear or affine, and acts on each step independently; it runs
    on all ``T·B`` samples at once. ``[T, B, ...] -> [T, B, ...']``.
    """

    def __init__(self, source: str, op: nn.Module, delay: int = 0) -> None:
        super().__init__()
        if delay < 0:
            raise ValueError(f"a delay is a whole number of steps >= 0, got {delay}")
        self.source = source
        self.delay = delay
        self.op = op

    def forward(self, spikes: Tensor) -> Tensor:
        x = shift_in_time(spikes, self.delay)
        steps, batch = x.shape[:2]
        return self.op(x.flatten(0, 1)).unflatten(0, (steps, batch))

    def extra_repr(self) -> str:
        return f"source={self.source!r}, delay={self.delay}"


class ConvBN(nn.Module):
    """``BN(Conv(x))`` (or ``Conv(x)`` with a bias when ``norm=False``): ``[N, C, H, W] -> [N, C', H', W']``."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, stride: int = 1, norm: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, kernel, stride=stride, padding=kernel // 2, bias=not norm)
        self.norm: nn.Module = nn.BatchNorm2d(out_dim) if norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.conv(x))

    def to_nir(self, in_shape: Shape) -> nir.NIRNode:
        """One ``Conv2d`` with the batch norm folded in (running statistics)."""
        weight, bias = fold_batch_norm(self.conv.weight, self.conv.bias, self.norm)
        conv = self.conv
        return conv2d_node(weight, bias, in_shape, stride=conv.stride, padding=conv.padding,
                           dilation=conv.dilation, groups=conv.groups)


class HaarConv(nn.Module):
    """A fixed (untrained) grouped convolution without bias, holding Haar filter taps.

    Attributes:
        weight: buffer ``[out, in/groups, kh, kw]``.
    """

    weight: Tensor

    def __init__(self, weight: Tensor, *, groups: int, padding: tuple[int, int] = (0, 0),
                 dilation: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.groups = groups
        self.padding = padding
        self.dilation = dilation

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, None, 1, self.padding, self.dilation, self.groups)

    def to_nir(self, in_shape: Shape) -> nir.NIRNode:
        """The same grouped ``Conv2d`` without bias."""
        return conv2d_node(self.weight, None, in_shape, padding=self.padding, dilation=self.dilation,
                           groups=self.groups)

    def extra_repr(self) -> str:
        return f"weight={tuple(self.weight.shape)}, groups={self.groups}, dilation={self.dilation}"


class HadamardMixer(nn.Module):
    """Eqs. 9–10 with time-invariant weights: ``x ∘ (gain · W)``, ``W`` shared by all channels.

    The input holds ``C·bands`` channels (channel-major); ``W: [bands, H, W]`` gives one weight
    per band and position. The global mixer (Eq. 9, one weight per channel) is the case
    ``bands = C`` on a ``C``-channel input. ``gain`` is a fixed factor (the inverse transform's
    scale) so that the exported ``Scale`` equals the product computed here.
    """

    def __init__(self, bands: int, height: int, width: int, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(bands, height, width))
        self.gain = gain

    def scale(self) -> Tensor:
        """The effective gain ``[bands, H, W]``."""
        return self.weight * self.gain

    def forward(self, x: Tensor) -> Tensor:
        bands = self.weight.shape[0]
        return (x.unflatten(1, (-1, bands)) * self.scale()).flatten(1, 2)

    def to_nir(self, in_shape: Shape) -> nir.NIRNode:
        """A ``Scale`` of the full input shape ``[C·bands, H, W]``."""
        scale = self.scale()
        # NIR shape rules allow no broadcast: repeat the shared weights over the channels.
        return nir.Scale(scale=_array(scale.repeat(in_shape[0] // scale.shape[0], 1, 1)))


class BandMixer(nn.Module):
    """Eqs. 11–12 followed by the undecimated inverse Haar transform of one level.

    The inverse of the undecimated transform is a sum of the bands (times ``gain``,
    ``(1/√2)**(3j)`` at level ``j``), and the channel mixer is the same for every band, so
    mixing then summing equals summing then mixing; the latter is computed here.
    ``[N, C·bands, H, W] -> [N, C, H, W]``.

    Attributes:
        weight: ``[groups, D, D]`` with ``D = C / groups`` (as in the paper's SWM).
    """

    def __init__(self, channels: int, bands: int, groups: int, gain: float) -> None:
        super().__init__()
        depth = channels // groups
        bound = 1.0 / math.sqrt(depth)
        self.weight = nn.Parameter(torch.empty(groups, depth, depth).uniform_(-bound, bound))
        self.bands = bands
        self.gain = gain

    def forward(self, x: Tensor) -> Tensor:
        summed = x.unflatten(1, (-1, self.bands)).sum(2) * self.gain
        return channel_mix(summed, self.weight)

    def to_nir(self, in_shape: Shape) -> nir.NIRNode:
        """Band sum and mixer as one grouped 1×1 ``Conv2d`` ``[C·bands, H, W] -> [C, H, W]``."""
        groups, depth, _ = self.weight.shape
        # out channel n·D + k reads in channel (n·D + d)·bands + band with weight gain·W[n, d, k].
        kernel = (self.weight.transpose(1, 2) * self.gain).repeat_interleave(self.bands, dim=2)
        return conv2d_node(kernel.reshape(groups * depth, depth * self.bands, 1, 1), None, in_shape, groups=groups)
