"""Synapse layers ("weighted nodes" of the deployment contract): one description, two behaviours.

Each class describes one NIR weighted node (``Conv2d``, ``Affine``/``Linear``,
``SumPool2d``, ``Scale``) by its float weight, its bias and one linear map
:meth:`Synapse.apply` (``[B, *in_shape] -> [B, *out_shape]``). The two behaviours sit
side by side, as in Lava's ``floating_pt`` / ``fixed_pt`` process models:

- :meth:`Synapse.float_forward`: ``W·x + b`` in float64 (the contract's float semantics).
- :meth:`Synapse.fixed_forward`: what the Lava process realising the synapse sends, bit for
  bit, given the layer's integer weights (:class:`~spikinghash.hw_sim.int_net.IntSynapse`):

  ``"matrix"`` (Lava ``Dense``/``Sparse``/``DelayDense``/``DelaySparse``, ``bit_accurate_loihi``):
      ``wrap32((Σ w·x) << weight_exp)`` — the accumulated sum is shifted, then cast to the
      int32 output port (the shared-memory channel wraps at 32 bits).
  ``"conv"`` (Lava ``Conv``, ``fixed_pt``): that model ignores ``weight_exp`` and never clips
      weights, so the weights are handed over as ``w << weight_exp``; it computes the sum in
      float64, casts it to int32 and wraps it at 24 bits (``signed_clamp``).

Integer values travel as floats, so the integer sums reuse the float linear map: torch's
convolution and matrix product only add exact integer products, in float32 where a bound on
the sum proves every partial sum exact (below 2**24), else in float64 (exact below 2**53,
far beyond these sums). The wrap-arounds run in int64 when a value leaves their range.

The bias is not part of the fixed behaviour: on Loihi it is the neuron's ``bias_mant``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import nir
import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from spikinghash.errors import ConfigError

Shape = tuple[int, ...]
INT32 = 1 << 31
F32_EXACT = 1 << 24  # float32 holds every integer of smaller magnitude
LAVA_INT8_MAX = 127  # Lava's Conv stores kernel size, stride, padding, dilation and groups as int8


def wrap_signed(x: Tensor, bits: int) -> Tensor:
    """Two's-complement wrap of int64 values to ``bits`` bits (numpy's int32 overflow, Lava's ``signed_clamp``)."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def reaches(x: Tensor, limit: float) -> bool:
    """Whether any |x| reaches ``limit``: lets the common in-range case skip the wrap-around arithmetic."""
    return bool(x.numel()) and max(float(x.max()), -float(x.min())) >= limit


def _matrix_out(total: Tensor) -> Tensor:
    return wrap_signed(total, 32)


def _conv_out(total: Tensor) -> Tensor:
    # float64 -> int32 of an out-of-range value gives INT32_MIN on x86 (numpy's astype)
    as_int32 = torch.where((total >= INT32) | (total < -INT32), torch.full_like(total, -INT32), total)
    return wrap_signed(as_int32, 24)


# How each Lava realisation turns the exact shifted sum (``Σ w·x << weight_exp``) into the value it sends,
# and below which magnitude that changes nothing.
REALISATIONS: dict[str, Callable[[Tensor], Tensor]] = {"matrix": _matrix_out, "conv": _conv_out}
WRAP_FREE: dict[str, int] = {"matrix": INT32, "conv": 1 << 23}


@dataclass(frozen=True)
class ConvGeometry:
    """Conv2d/SumPool2d geometry in torch order (H, W); ``weight_shape`` = [out, in/groups, kh, kw]."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    weight_shape: tuple[int, int, int, int]

    def fits_lava_conv(self) -> bool:
        values = (*self.stride, *self.padding, *self.dilation, self.groups, *self.weight_shape[2:])
        return max(values) <= LAVA_INT8_MAX

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        kh, kw = self.weight_shape[2:]
        return tuple(  # type: ignore[return-value]
            (size + 2 * p - d * (k - 1) - 1) // s + 1
            for size, p, d, k, s in zip((h, w), self.padding, self.dilation, (kh, kw), self.stride))


def conv_matrix(weight: np.ndarray, geo: ConvGeometry, in_shape: Shape, out_shape: Shape) -> sp.csr_matrix:
    """Matrix ``[prod(out), prod(in)]`` of a (grouped) 2-D cross-correlation, C-order (C, H, W) flattening."""
    out_c, in_per_group, kh, kw = weight.shape
    c_in, h, w = in_shape
    _, ho, wo = out_shape
    o, c, a, b, i, j = np.meshgrid(np.arange(out_c), np.arange(in_per_group), np.arange(kh), np.arange(kw),
                                   np.arange(ho), np.arange(wo), indexing="ij", sparse=True)
    y = i * geo.stride[0] + a * geo.dilation[0] - geo.padding[0]
    x = j * geo.stride[1] + b * geo.dilation[1] - geo.padding[1]
    cin = (o // (out_c // geo.groups)) * in_per_group + c
    full = np.broadcast_shapes(o.shape, c.shape, a.shape, b.shape, i.shape, j.shape)
    y, x, cin = (np.broadcast_to(v, full) for v in (y, x, cin))
    vals = np.broadcast_to(weight[o, c, a, b], full)
    rows = np.broadcast_to((o * ho + i) * wo + j, full)
    ok = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    cols = (cin * h + y) * w + x
    m = sp.coo_matrix((vals[ok], (rows[ok], cols[ok])), shape=(out_c * ho * wo, c_in * h * w))
    return m.tocsr()


@dataclass(frozen=True, eq=False)
class Synapse:
    """A weighted node: float ``weight`` (quantised to 8-bit mantissas later) and ``bias`` ``[*out_shape]``."""

    name: str
    in_shape: Shape
    out_shape: Shape
    weight: np.ndarray
    bias: np.ndarray
    lava_matrix: ClassVar[str] = "sparse"  # Lava process family of the matrix realisation

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        """The linear map with the given weight values, ``[B, *in_shape] -> [B, *out_shape]``."""
        raise NotImplementedError

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        """The map as a matrix ``[prod(out_shape), prod(in_shape)]`` (C-order flattening)."""
        raise NotImplementedError

    def geometry(self) -> ConvGeometry | None:
        """Convolution geometry if Lava's ``Conv`` process can realise this node, else None."""
        return None

    # -- float behaviour ---------------------------------------------------------------
    def float_drive(self, x: Tensor) -> Tensor:
        """``W·x`` (no bias), float64 ``[B, *out_shape]``."""
        return self.apply(x.to(torch.float64), torch.as_tensor(self.weight, dtype=torch.float64))

    def float_forward(self, x: Tensor) -> Tensor:
        """``W·x + b``: the node's output in the contract's float semantics."""
        return self.float_drive(x) + torch.as_tensor(self.bias, dtype=torch.float64)

    # -- fixed-point behaviour (Lava bit-accurate) ----------------------------------------
    def gain_bound(self, weight: np.ndarray) -> float:
        """``max`` over outputs of ``Σ|w|`` over that output's inputs: ``|W·x| <= gain_bound · max|x|``."""
        ones = torch.ones((1, *self.in_shape), dtype=torch.float64)
        return float(self.apply(ones, torch.as_tensor(np.abs(weight), dtype=torch.float64)).max())

    def fixed_forward(self, x: Tensor, weight: np.ndarray, weight_exp: int, kind: str,
                      sum_bound: float) -> tuple[Tensor, int]:
        """What the Lava process of realisation ``kind`` sends for integer input ``x`` (exact integers in a
        float tensor), and how many of its outputs wrapped around.

        ``sum_bound`` bounds ``|Σ w·x|`` (e.g. ``gain_bound · max|x|``). The shift is folded into the
        weights (``Σ (w << e)·x``). While ``sum_bound << e`` stays below 2**24 every partial sum is an
        integer float32 holds exactly, whatever the summation order, so the sum runs in float32;
        otherwise in float64 (exact below 2**53). Below the realisation's wrap-free range no output can
        wrap and the wrap-around arithmetic is skipped.
        """
        shifted_bound = sum_bound * (1 << weight_exp)
        dtype = torch.float32 if shifted_bound < F32_EXACT else torch.float64
        total = self.apply(x.to(dtype), torch.as_tensor(weight * (1 << weight_exp), dtype=dtype))
        if shifted_bound < WRAP_FREE[kind] or not reaches(total, WRAP_FREE[kind]):
            return total, 0
        exact = total.to(torch.int64)
        out = REALISATIONS[kind](exact)
        return out.to(torch.float64), int((out != exact).sum())


@dataclass(frozen=True, eq=False)
class AffineSynapse(Synapse):
    """``nir.Affine`` / ``nir.Linear``: ``weight [out, in]`` on a flat input ``[in]``."""

    lava_matrix: ClassVar[str] = "dense"

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        return x @ weight.T

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(weight)


@dataclass(frozen=True, eq=False)
class ScaleSynapse(Synapse):
    """``nir.Scale``: elementwise gain, ``weight`` of the input's shape."""

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        return x * weight

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        idx = np.arange(weight.size)
        return sp.csr_matrix((weight.ravel(), (idx, idx)), shape=(weight.size, weight.size))


@dataclass(frozen=True, eq=False)
class ConvSynapse(Synapse):
    """``nir.Conv2d``: ``weight [out, in/groups, kh, kw]``, cross-correlation as in torch."""

    geo: ConvGeometry | None = None

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        g = self.geo
        return F.conv2d(x, weight, stride=g.stride, padding=g.padding, dilation=g.dilation, groups=g.groups)

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        return conv_matrix(weight, self.geo, self.in_shape, self.out_shape)

    def geometry(self) -> ConvGeometry | None:
        return self.geo if self.geo.fits_lava_conv() else None


@dataclass(frozen=True, eq=False)
class SumPoolSynapse(Synapse):
    """``nir.SumPool2d``: a depthwise all-ones kernel; ``weight`` is the one shared value (1.0), shape ``()``."""

    geo: ConvGeometry | None = None

    def _kernel(self, weight: Tensor | np.ndarray) -> Any:
        shape = self.geo.weight_shape
        if isinstance(weight, Tensor):
            return weight.reshape(1, 1, 1, 1).expand(shape)
        return np.broadcast_to(np.asarray(weight).reshape(1, 1, 1, 1), shape)

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        g = self.geo
        return F.conv2d(x, self._kernel(weight), stride=g.stride, padding=g.padding, groups=g.groups)

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        return conv_matrix(np.array(self._kernel(weight)), self.geo, self.in_shape, self.out_shape)


# -- builders: NIR node -> Synapse ---------------------------------------------------------

def _pair(value: Any, name: str, node: str) -> tuple[int, int]:
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64).ravel()
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2:
        raise ConfigError(f"node {node!r}: {name}={value!r} is not one or two integers; export 2-D {name}")
    return int(arr[0]), int(arr[1])


def _conv_padding(node: nir.Conv2d, name: str, kernel: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    if isinstance(node.padding, str):
        if node.padding == "valid":
            return 0, 0
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(t % 2 for t in totals) or any(s != 1 for s in _pair(node.stride, "stride", name)):
            raise ConfigError(f"node {name!r}: padding='same' is asymmetric here; export explicit integer padding")
        return totals[0] // 2, totals[1] // 2
    return _pair(node.padding, "padding", name)


def _check_3d(in_shape: Shape, name: str, what: str) -> tuple[int, int, int]:
    if len(in_shape) != 3:
        raise ConfigError(f"node {name!r} ({what}) needs a [C, H, W] input, got shape {list(in_shape)}; "
                          "feed it from the input frames or a 3-D neuron layer")
    return in_shape  # type: ignore[return-value]


def _conv2d(node: nir.Conv2d, name: str, in_shape: Shape) -> Synapse:
    c, h, w = _check_3d(in_shape, name, "Conv2d")
    weight = np.asarray(node.weight, dtype=np.float64)
    groups = int(node.groups)
    if weight.ndim != 4 or weight.shape[1] * groups != c or weight.shape[0] % groups:
        raise ConfigError(f"node {name!r}: Conv2d weight {list(weight.shape)} with groups={groups} does not fit "
                          f"an input of {c} channels; export weight [out, in/groups, kh, kw]")
    kernel = (weight.shape[2], weight.shape[3])
    dilation = _pair(node.dilation, "dilation", name)
    geo = ConvGeometry(_pair(node.stride, "stride", name), _conv_padding(node, name, kernel, dilation),
                       dilation, groups, weight.shape)  # type: ignore[arg-type]
    out_shape = (weight.shape[0], *geo.out_hw(h, w))
    bias = np.broadcast_to(np.asarray(node.bias, dtype=np.float64).reshape(-1, 1, 1), out_shape).copy()
    return ConvSynapse(name, in_shape, out_shape, weight, bias, geo)


def _affine(node: nir.Affine | nir.Linear, name: str, in_shape: Shape) -> Synapse:
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 2 or in_shape != (weight.shape[1],):
        raise ConfigError(f"node {name!r}: {type(node).__name__} weight {list(weight.shape)} does not take an "
                          f"input of shape {list(in_shape)}; put a Flatten before it or fix the weight shape")
    bias = np.asarray(getattr(node, "bias", np.zeros(weight.shape[0])), dtype=np.float64).reshape(weight.shape[0])
    return AffineSynapse(name, in_shape, (weight.shape[0],), weight, bias.copy())


def _sumpool(node: nir.SumPool2d, name: str, in_shape: Shape) -> Synapse:
    c, h, w = _check_3d(in_shape, name, "SumPool2d")
    kernel = _pair(node.kernel_size, "kernel_size", name)
    geo = ConvGeometry(_pair(node.stride, "stride", name), _pair(node.padding, "padding", name), (1, 1), c,
                       (c, 1, *kernel))
    out_shape = (c, *geo.out_hw(h, w))
    return SumPoolSynapse(name, in_shape, out_shape, np.array(1.0), np.zeros(out_shape), geo)


def _scale(node: nir.Scale, name: str, in_shape: Shape) -> Synapse:
    scale = np.asarray(node.scale, dtype=np.float64)
    if scale.shape != in_shape:
        raise ConfigError(f"node {name!r}: Scale of shape {list(scale.shape)} on an input of shape "
                          f"{list(in_shape)}; store the full per-element scale (no broadcasting in NIR)")
    return ScaleSynapse(name, in_shape, in_shape, scale, np.zeros(in_shape))


SYNAPSE_BUILDERS: dict[type, Callable[[Any, str, Shape], Synapse]] = {
    nir.Conv2d: _conv2d,
    nir.Affine: _affine,
    nir.Linear: _affine,
    nir.SumPool2d: _sumpool,
    nir.Scale: _scale,
}
