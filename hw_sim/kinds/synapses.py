"""Synapse kinds (the "weighted nodes" of the deployment contract): one description, every behaviour.

Each class describes one NIR weighted node (``Conv2d``, ``Affine``/``Linear``, ``SumPool2d`` and
``AvgPool2d``, ``Scale``) by its float weight, its bias and one linear map :meth:`Synapse.apply`
(``[B, *in_shape] -> [B, *out_shape]``). Its behaviours sit side by side, as in Lava's
``floating_pt`` / ``fixed_pt`` process models:

- :meth:`Synapse.float_forward`: ``W·x + b`` in float64 (the contract's float semantics);
- :meth:`Synapse.fixed_forward`: what the Lava process realising the synapse sends, bit for bit,
  given the layer's integer weights (``target.int_net.IntSynapse``):

  ``"matrix"`` (Lava ``Dense``/``Sparse``/``DelayDense``/``DelaySparse``, ``bit_accurate_loihi``):
      ``wrap32((Σ w·x) << weight_exp)`` — the accumulated sum is shifted, then cast to the
      int32 output port (the shared-memory channel wraps at 32 bits);
  ``"conv"`` (Lava ``Conv``, ``fixed_pt``): that model ignores ``weight_exp`` and never clips
      weights, so the weights are handed over as ``w << weight_exp``; it computes the sum in
      float64, casts it to int32 and wraps it at 24 bits (``spec.CONV_OUT_BITS``);
- :meth:`Synapse.matrix` and :meth:`Synapse.conv_spec`: the exact map, for composing chains
  (``frontend.compose``) and for Lava's ``Sparse``/``Dense`` processes;
- :meth:`Synapse.flops`: the dense multiply-accumulates of one step (Eq. 25's FLOPs, ``energy``);
- :meth:`Synapse.netx_layer`: the layer group of lava-dl's netx HDF5 format (``backends.netx``).

Integer values travel as floats, so the integer sums reuse the float linear map: torch's
convolution and matrix product only add exact integer products, in float32 where a bound on
the sum proves every partial sum exact (below 2**24), else in float64 (exact below 2**53,
far beyond these sums). The wrap-arounds run in int64 when a value leaves their range.

The bias is not part of the fixed behaviour: on Loihi it is the neuron's ``bias_mant``.
The NIR-side facts of each kind (how a node is built, its ``--portable`` rewrite, what snnTorch's
importer makes of it) are the entries of ``kinds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor

from spikinghash.hw_sim.spec import CONV_FIELD_MAX, CONV_OUT_BITS, CONV_WRAP, DRIVE_BITS, wrap

Shape = tuple[int, ...]
INT32 = 1 << (DRIVE_BITS - 1)
F32_EXACT = 1 << 24  # float32 holds every integer of smaller magnitude (an arithmetic fact, not the target's)
Layer = dict[str, Any]  # one layer group of a netx file


def _matrix_out(total: Tensor) -> Tensor:
    return wrap(total, DRIVE_BITS)


def _conv_out(total: Tensor) -> Tensor:
    # float64 -> int32 of an out-of-range value gives INT32_MIN on x86 (numpy's astype)
    as_int32 = torch.where((total >= INT32) | (total < -INT32), torch.full_like(total, -INT32), total)
    return wrap(as_int32, CONV_OUT_BITS)


# How each Lava realisation turns the exact shifted sum (``Σ w·x << weight_exp``) into the value it sends,
# and below which magnitude that changes nothing.
REALISATIONS: dict[str, Callable[[Tensor], Tensor]] = {"matrix": _matrix_out, "conv": _conv_out}
WRAP_FREE: dict[str, int] = {"matrix": INT32, "conv": CONV_WRAP}


def reaches(x: Tensor, limit: float) -> bool:
    """Whether any |x| reaches ``limit``: lets the common in-range case skip the wrap-around arithmetic."""
    return bool(x.numel()) and max(float(x.max()), -float(x.min())) >= limit


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
        return max(values) <= CONV_FIELD_MAX

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


@dataclass(frozen=True)
class ConvSpec:
    """A convolution with dilation 1 and groups 1: ``weight [out, in, kh, kw]``, stride and padding (H, W); the
    form in which two convolutions compose (``frontend.compose``)."""

    weight: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int]

    def matrix(self, in_shape: Shape, out_shape: Shape) -> sp.csr_matrix:
        geo = ConvGeometry(self.stride, self.padding, (1, 1), 1, self.weight.shape)  # type: ignore[arg-type]
        return conv_matrix(self.weight, geo, in_shape, out_shape)


def full_kernel(weight: np.ndarray, groups: int, dilation: tuple[int, int]) -> np.ndarray:
    """A grouped, dilated kernel as an equal dense (groups 1), undilated one."""
    out_c, in_per_group, kh, kw = weight.shape
    dh, dw = dilation
    full = np.zeros((out_c, in_per_group * groups, dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    per_group = out_c // groups
    for o in range(out_c):
        g = o // per_group
        full[o, g * in_per_group:(g + 1) * in_per_group, ::dh, ::dw] = weight[o]
    return full


def diagonal_kernel(channels: int, kernel: tuple[int, int], value: float | np.ndarray,
                    dtype: Any = np.float64) -> np.ndarray:
    """``[C, C, kh, kw]`` of ``dtype``: channel c reads only channel c, every tap ``value[c]`` (or ``value``)."""
    w = np.zeros((channels, channels, *kernel), dtype=dtype)
    values = np.broadcast_to(np.asarray(value, dtype=dtype), (channels,))
    for c in range(channels):
        w[c, c] = values[c]
    return w


@dataclass(frozen=True, eq=False)
class Synapse:
    """A weighted node: float ``weight`` (quantised to 8-bit mantissas later) and ``bias`` ``[*out_shape]``."""

    name: str
    in_shape: Shape
    out_shape: Shape
    weight: np.ndarray
    bias: np.ndarray
    lava_matrix: ClassVar[str] = "sparse"  # Lava process family of the matrix realisation
    elementwise: ClassVar[bool] = False  # each output reads only the input at its own position
    netx_type: ClassVar[str] = "conv"  # the netx layer group it is written as ("dense": a weight matrix)

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        """The linear map with the given weight values, ``[B, *in_shape] -> [B, *out_shape]``."""
        raise NotImplementedError

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        """The map as a matrix ``[prod(out_shape), prod(in_shape)]`` (C-order flattening)."""
        raise NotImplementedError

    def geometry(self) -> ConvGeometry | None:
        """Convolution geometry if Lava's ``Conv`` process can realise this node, else None."""
        return None

    def conv_spec(self) -> ConvSpec | None:
        """The node as one dense convolution (for composing chains), or None if it is none."""
        return None

    def flops(self) -> int:
        """Multiply-accumulates of one time step of one sample, padding positions counted (Eq. 25's FLOPs)."""
        raise NotImplementedError

    def netx_layer(self, weight: np.ndarray, weight_exp: int) -> tuple[Layer, list[str]]:
        """netx's layer group for integer ``weight`` (mantissas, before ``<< weight_exp``), and the reasons the
        format cannot hold this node (empty when it can)."""
        return {}, [f"a {type(self).__name__} has no netx layer"]

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


def _dense_layer(matrix: np.ndarray) -> Layer:
    return {"type": "dense", "shape": np.array([matrix.shape[0]]), "weight": matrix}


@dataclass(frozen=True, eq=False)
class AffineSynapse(Synapse):
    """``nir.Affine`` / ``nir.Linear``: ``weight [out, in]`` on a flat input ``[in]``."""

    lava_matrix: ClassVar[str] = "dense"
    netx_type: ClassVar[str] = "dense"

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        return x @ weight.T

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(weight)

    def flops(self) -> int:
        return int(self.weight.shape[0] * self.weight.shape[1])

    def netx_layer(self, weight: np.ndarray, weight_exp: int) -> tuple[Layer, list[str]]:
        return _dense_layer(np.asarray(weight, dtype=np.int64) << weight_exp), []


@dataclass(frozen=True, eq=False)
class ScaleSynapse(Synapse):
    """``nir.Scale``: elementwise gain, ``weight`` of the input's shape."""

    elementwise: ClassVar[bool] = True
    netx_type: ClassVar[str] = "dense"  # a 1-D Scale as a diagonal matrix

    def apply(self, x: Tensor, weight: Tensor) -> Tensor:
        return x * weight

    def matrix(self, weight: np.ndarray) -> sp.csr_matrix:
        idx = np.arange(weight.size)
        return sp.csr_matrix((weight.ravel(), (idx, idx)), shape=(weight.size, weight.size))

    def conv_spec(self) -> ConvSpec | None:
        if len(self.in_shape) != 3:
            return None
        per_channel = self.weight.reshape(self.in_shape[0], -1)
        if not np.all(per_channel == per_channel[:, :1]):
            return None
        return ConvSpec(diagonal_kernel(self.in_shape[0], (1, 1), per_channel[:, 0]), (1, 1), (0, 0))

    def flops(self) -> int:
        return int(np.prod(self.in_shape))

    def netx_layer(self, weight: np.ndarray, weight_exp: int) -> tuple[Layer, list[str]]:
        if len(self.in_shape) != 1:
            return {}, ["a Scale of a [C, H, W] layer has no netx layer; export it as a depthwise 1x1 Conv2d"]
        return _dense_layer(self.matrix(np.asarray(weight)).toarray().astype(np.int64) << weight_exp), []


def _conv_layer(out_shape: Shape, geo: ConvGeometry, kernel: np.ndarray) -> tuple[Layer, list[str]]:
    reasons = [] if geo.fits_lava_conv() else ["the convolution's geometry exceeds Lava Conv's int8 fields"]
    return {"type": "conv", "shape": np.array(out_shape), "weight": kernel, "stride": np.array(geo.stride),
            "padding": np.array(geo.padding), "dilation": np.array(geo.dilation),
            "groups": np.array(geo.groups)}, reasons


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

    def conv_spec(self) -> ConvSpec | None:
        g = self.geo
        return ConvSpec(full_kernel(self.weight, g.groups, g.dilation), g.stride, g.padding)

    def flops(self) -> int:
        _, in_per_group, kh, kw = self.weight.shape
        return int(np.prod(self.out_shape)) * in_per_group * kh * kw

    def netx_layer(self, weight: np.ndarray, weight_exp: int) -> tuple[Layer, list[str]]:
        return _conv_layer(self.out_shape, self.geo, np.asarray(weight, dtype=np.int64) << weight_exp)


@dataclass(frozen=True, eq=False)
class SumPoolSynapse(Synapse):
    """``nir.SumPool2d`` (and ``nir.AvgPool2d``, lowered): a depthwise kernel of one shared value, ``weight``
    of shape ``()`` (1.0 for a sum, ``1/(kh·kw)`` for an average)."""

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

    def conv_spec(self) -> ConvSpec | None:
        g = self.geo
        return ConvSpec(diagonal_kernel(self.in_shape[0], g.weight_shape[2:], float(self.weight)), g.stride,
                        g.padding)

    def flops(self) -> int:
        return int(np.prod(self.out_shape)) * int(np.prod(self.geo.weight_shape[2:]))

    def netx_layer(self, weight: np.ndarray, weight_exp: int) -> tuple[Layer, list[str]]:
        kernel = np.broadcast_to(np.asarray(weight, dtype=np.int64) << weight_exp, self.geo.weight_shape)
        return _conv_layer(self.out_shape, self.geo, np.ascontiguousarray(kernel))
