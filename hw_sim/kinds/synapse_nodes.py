"""The NIR side of the synapse kinds: build a :class:`~.synapses.Synapse` from a NIR node on its input shape,
rewrite the node for snnTorch's importer (``--portable``), and what that importer makes of it.

Each function here is one facet of one entry of ``kinds.KINDS``.
"""

from __future__ import annotations

import copy
from typing import Any

import nir
import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds.synapses import (AffineSynapse, ConvGeometry, ConvSynapse, ScaleSynapse,
                                               SumPoolSynapse, Synapse, diagonal_kernel)

Shape = tuple[int, ...]


def pair(value: Any, name: str, node: str) -> tuple[int, int]:
    """One or two integers as an (H, W) pair; ConfigError naming the node otherwise."""
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
        if any(t % 2 for t in totals) or any(s != 1 for s in pair(node.stride, "stride", name)):
            raise ConfigError(f"node {name!r}: padding='same' is asymmetric here; export explicit integer padding")
        return totals[0] // 2, totals[1] // 2
    return pair(node.padding, "padding", name)


def _check_3d(in_shape: Shape, name: str, what: str) -> tuple[int, int, int]:
    if len(in_shape) != 3:
        raise ConfigError(f"node {name!r} ({what}) needs a [C, H, W] input, got shape {list(in_shape)}; "
                          "feed it from the input frames or a 3-D neuron layer")
    return in_shape  # type: ignore[return-value]


# -- builders: NIR node on its input shape -> Synapse --------------------------------------------

def conv2d(node: nir.Conv2d, name: str, in_shape: Shape) -> Synapse:
    c, h, w = _check_3d(in_shape, name, "Conv2d")
    weight = np.asarray(node.weight, dtype=np.float64)
    groups = int(node.groups)
    if weight.ndim != 4 or weight.shape[1] * groups != c or weight.shape[0] % groups:
        raise ConfigError(f"node {name!r}: Conv2d weight {list(weight.shape)} with groups={groups} does not fit "
                          f"an input of {c} channels; export weight [out, in/groups, kh, kw]")
    kernel = (weight.shape[2], weight.shape[3])
    dilation = pair(node.dilation, "dilation", name)
    geo = ConvGeometry(pair(node.stride, "stride", name), _conv_padding(node, name, kernel, dilation),
                       dilation, groups, weight.shape)  # type: ignore[arg-type]
    out_shape = (weight.shape[0], *geo.out_hw(h, w))
    bias = np.broadcast_to(np.asarray(node.bias, dtype=np.float64).reshape(-1, 1, 1), out_shape).copy()
    return ConvSynapse(name, in_shape, out_shape, weight, bias, geo)


def affine(node: nir.Affine | nir.Linear, name: str, in_shape: Shape) -> Synapse:
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 2 or in_shape != (weight.shape[1],):
        raise ConfigError(f"node {name!r}: {type(node).__name__} weight {list(weight.shape)} does not take an "
                          f"input of shape {list(in_shape)}; put a Flatten before it or fix the weight shape")
    bias = np.asarray(getattr(node, "bias", np.zeros(weight.shape[0])), dtype=np.float64).reshape(weight.shape[0])
    return AffineSynapse(name, in_shape, (weight.shape[0],), weight, bias.copy())


def _pool(node: nir.SumPool2d | nir.AvgPool2d, name: str, in_shape: Shape, average: bool) -> Synapse:
    c, h, w = _check_3d(in_shape, name, type(node).__name__)
    kernel = pair(node.kernel_size, "kernel_size", name)
    geo = ConvGeometry(pair(node.stride, "stride", name), pair(node.padding, "padding", name), (1, 1), c,
                       (c, 1, *kernel))
    out_shape = (c, *geo.out_hw(h, w))
    # count_include_pad: every window of an average divides by kh·kw, as torch's default
    value = 1.0 / (kernel[0] * kernel[1]) if average else 1.0
    return SumPoolSynapse(name, in_shape, out_shape, np.array(value), np.zeros(out_shape), geo)


def sumpool2d(node: nir.SumPool2d, name: str, in_shape: Shape) -> Synapse:
    return _pool(node, name, in_shape, average=False)


def avgpool2d(node: nir.AvgPool2d, name: str, in_shape: Shape) -> Synapse:
    """An average pool: the sum pool's depthwise kernel holding ``1/(kh·kw)`` (lowered to a ``Conv2d``)."""
    return _pool(node, name, in_shape, average=True)


def scale(node: nir.Scale, name: str, in_shape: Shape) -> Synapse:
    values = np.asarray(node.scale, dtype=np.float64)
    if values.shape != in_shape:
        raise ConfigError(f"node {name!r}: Scale of shape {list(values.shape)} on an input of shape "
                          f"{list(in_shape)}; store the full per-element scale (no broadcasting in NIR)")
    return ScaleSynapse(name, in_shape, in_shape, values, np.zeros(in_shape))


# -- --portable: exact rewrites into node kinds snnTorch 1.0's importer reads ----------------------

def _dense_kernel(weight: np.ndarray, groups: int) -> np.ndarray:
    """``[out, in/groups, kh, kw]`` grouped kernel -> ``[out, in, kh, kw]`` block-diagonal kernel."""
    out_ch, per_group, kh, kw = weight.shape
    dense = np.zeros((out_ch, per_group * groups, kh, kw), dtype=weight.dtype)
    outs = out_ch // groups
    for g in range(groups):
        dense[g * outs:(g + 1) * outs, g * per_group:(g + 1) * per_group] = weight[g * outs:(g + 1) * outs]
    return dense


def _diagonal_conv(per_channel: np.ndarray, kernel: tuple[int, int], in_shape: Any, stride: Any = 1,
                   padding: Any = 0) -> nir.Conv2d:
    channels = per_channel.shape[0]
    weight = diagonal_kernel(channels, kernel, per_channel, per_channel.dtype)
    return nir.Conv2d(input_shape=tuple(int(s) for s in np.asarray(in_shape)[1:]), weight=weight,
                      stride=stride, padding=padding, dilation=1, groups=1, bias=np.zeros(channels, weight.dtype))


def portable_conv2d(name: str, node: nir.Conv2d, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """A grouped ``Conv2d`` -> the same convolution with ``groups = 1`` and a block-diagonal kernel."""
    if int(node.groups) == 1:
        return copy.deepcopy(node)
    done.append(f"{name}: grouped Conv2d (groups={int(node.groups)}) -> block-diagonal Conv2d")
    return nir.Conv2d(input_shape=node.input_shape, weight=_dense_kernel(node.weight, int(node.groups)),
                      stride=node.stride, padding=node.padding, dilation=node.dilation, groups=1, bias=node.bias)


def portable_scale(name: str, node: nir.Scale, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """``Scale`` over ``[N]`` -> ``Linear(diag)``; constant over H, W on ``[C, H, W]`` -> a 1×1 ``Conv2d``."""
    values = np.asarray(node.scale)
    if values.ndim == 1:
        done.append(f"{name}: Scale -> Linear(diag)")
        return nir.Linear(weight=np.diag(values))
    if values.ndim == 3 and np.all(values == values[:, :1, :1]):
        done.append(f"{name}: per-channel Scale -> 1x1 Conv2d(diag)")
        return _diagonal_conv(values[:, 0, 0], (1, 1), values.shape)
    return copy.deepcopy(node)


def portable_sumpool2d(name: str, node: nir.SumPool2d, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """``SumPool2d`` -> a ``Conv2d`` of ones on the diagonal channel pairs (same stride and padding)."""
    if not (node.input_type and "input" in node.input_type):
        return copy.deepcopy(node)
    shape = np.asarray(node.input_type["input"])
    done.append(f"{name}: SumPool2d -> Conv2d of ones")
    return _diagonal_conv(np.ones(int(shape[0]), np.float32), pair(node.kernel_size, "kernel_size", name), shape,
                          stride=pair(node.stride, "stride", name), padding=pair(node.padding, "padding", name))


def snntorch_conv2d(node: nir.Conv2d, dt: float) -> list[str]:
    """What snnTorch 1.0's importer gets wrong about a ``Conv2d``."""
    if int(node.groups) != 1:
        return ["a grouped Conv2d is built with in_channels = in/groups (--portable expands it)"]
    return []
