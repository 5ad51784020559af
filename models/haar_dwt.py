"""Multilevel Haar DWT / inverse DWT along time and space (paper Eqs. 7–8, Fig. 3).

Tensors keep the time axis first so that spiking neurons (which run along axis 0) can sit
between the per-axis transforms (Eq. 8). Sub-bands are stacked on a band axis inserted
after the batch axis: one level turns ``[T, B, C, H, W]`` into ``[T', B, K, C, H', W']``
with ``K = 2 ** len(axes)``. Band ``k`` has one bit per transformed axis, the first axis
as the most significant bit, 0 for the low-pass (``a``) and 1 for the high-pass (``d``)
output: with axes ``("t", "h", "w")`` band 0 is PyWavelets' ``"aaa"`` and band 5 ``"dad"``.

Sizes that are not divisible by ``2 ** levels`` along a transformed axis are refused with
a :class:`~spikinghash.errors.ConfigError` (no padding: the mixer weights are sized from
the exact sub-band shapes).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import torch
from torch import Tensor

from spikinghash.errors import ConfigError

#: Position of each transformable axis in a ``[T, B, C, H, W]`` tensor.
AXIS_INDEX: dict[str, int] = {"t": 0, "h": 3, "w": 4}
_AXIS_NAME: dict[str, str] = {"t": "time steps T", "h": "height", "w": "width"}
_SQRT_HALF = math.sqrt(0.5)

Hook = Callable[[Tensor], Tensor]


class WaveletPyramid(NamedTuple):
    """A multilevel decomposition.

    Attributes:
        low: coarsest low-pass band ``[T_J, B, C, H_J, W_J]`` (L_J).
        highs: high-pass bands per level, finest first: ``highs[j-1]`` is H_j with shape
            ``[T_j, B, K-1, C, H_j, W_j]``.
    """

    low: Tensor
    highs: tuple[Tensor, ...]


def haar_analysis(x: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """Eq. 7 with Haar filters l = [1, 1]/√2, h = [1, -1]/√2: one level along ``dim``.

    Returns ``(a, d)``, each half as long as ``x`` along ``dim``:
    ``a[n] = (x[2n] + x[2n+1])/√2`` and ``d[n] = (x[2n] - x[2n+1])/√2`` (PyWavelets' sign).
    """
    pairs = x.unflatten(dim, (x.shape[dim] // 2, 2))
    even, odd = pairs.select(dim + 1, 0), pairs.select(dim + 1, 1)
    return (even + odd) * _SQRT_HALF, (even - odd) * _SQRT_HALF


def haar_synthesis(a: Tensor, d: Tensor, dim: int) -> Tensor:
    """Inverse of :func:`haar_analysis`: interleave ``(a+d)/√2`` and ``(a-d)/√2`` along ``dim``."""
    even, odd = (a + d) * _SQRT_HALF, (a - d) * _SQRT_HALF
    return torch.stack((even, odd), dim=dim + 1).flatten(dim, dim + 1)


def check_divisible(shape: Sequence[int], axes: Sequence[str], levels: int, where: str = "") -> None:
    """Raise ConfigError unless every transformed axis of ``[T, B, C, H, W]`` divides by 2**levels."""
    step = 2**levels
    for name in axes:
        size = shape[AXIS_INDEX[name]]
        if size % step:
            raise ConfigError(
                f"{where}{_AXIS_NAME[name]} = {size} is not divisible by {step}, which a "
                f"{levels}-level Haar DWT along that axis needs; choose a multiple of {step}"
            )


def _banded_dim(name: str) -> int:
    """Axis index once a band axis has been inserted at position 2."""
    index = AXIS_INDEX[name]
    return index if index < 2 else index + 1


def dwt_level(x: Tensor, axes: Sequence[str], pre: Hook | None = None) -> Tensor:
    """Eq. 8: one level, one 1D DWT per axis in ``axes`` order, ``pre`` before each.

    Args:
        x: ``[T, B, C, H, W]``.
        axes: transformed axes, a subsequence of ``("t", "h", "w")``.
        pre: applied before every 1D transform (the paper's spiking neuron ``SN``); ``None``
            gives the plain linear transform.

    Returns:
        Sub-bands ``[T', B, K, C, H', W']`` with ``K = 2 ** len(axes)`` (see module doc).
    """
    bands = x.unsqueeze(2)
    for name in axes:
        if pre is not None:
            bands = pre(bands)
        a, d = haar_analysis(bands, _banded_dim(name))
        bands = torch.stack((a, d), dim=3).flatten(2, 3)
    return bands


def idwt_level(bands: Tensor, axes: Sequence[str]) -> Tensor:
    """Inverse of :func:`dwt_level` without hooks: ``[T', B, K, C, H', W'] -> [T, B, C, H, W]``."""
    for name in reversed(axes):
        pairs = bands.unflatten(2, (bands.shape[2] // 2, 2))
        bands = haar_synthesis(pairs[:, :, :, 0], pairs[:, :, :, 1], _banded_dim(name))
    return bands.squeeze(2)


def wavedec(x: Tensor, levels: int, axes: Sequence[str] = ("t", "h", "w"), pre: Hook | None = None) -> WaveletPyramid:
    """Multilevel DWT (Fig. 3): decompose the low-pass band again at every level.

    Args:
        x: ``[T, B, C, H, W]``; every transformed axis must divide by ``2 ** levels``.
        levels: number of levels J >= 1.
        axes: transformed axes (``("t", "h", "w")`` for 3D, ``("h", "w")`` for 2D).
        pre: hook before each 1D transform (Eq. 8), or ``None``.
    """
    if levels < 1:
        raise ConfigError(f"DWT levels = {levels}; use at least 1 level")
    check_divisible(x.shape, axes, levels)
    highs = []
    low = x
    for _ in range(levels):
        bands = dwt_level(low, axes, pre)
        low, high = bands[:, :, 0], bands[:, :, 1:]
        highs.append(high)
    return WaveletPyramid(low, tuple(highs))


def waverec(pyramid: WaveletPyramid, axes: Sequence[str] = ("t", "h", "w")) -> Tensor:
    """Inverse multilevel DWT: ``WaveletPyramid -> [T, B, C, H, W]`` (perfect reconstruction)."""
    low = pyramid.low
    for high in reversed(pyramid.highs):
        low = idwt_level(torch.cat((low.unsqueeze(2), high), dim=2), axes)
    return low

