r"""``--portable``: rewrite a NIR graph, exactly, into node kinds snnTorch 1.0.0's importer reads correctly.

Each rewrite computes the same spikes (exact in real arithmetic; in float the rescaled thresholds
round once):

* time: every time constant and delay is rescaled to snnTorch's hard-coded step
  (:data:`~spikinghash.export.consumers.SNNTORCH_DT`): ``τ' = τ·dt'/dt``; only ``dt/τ`` enters
  the Euler step, so nothing changes, and ``metadata["dt"] = dt'``;
* membrane scale: a ``LIF`` with input gain ``g = R·dt/τ != 1`` runs on ``v' = v/g``:
  ``R' = R/g, v_th' = v_th/g, v_leak' = v_leak/g, v_reset' = v_reset/g`` (the importer needs
  ``g = 1``); a ``CubaLIF`` first scales its current by ``h = w_in·dt/τ_syn`` (``w_in' = w_in/h``,
  ``R ← R·h``), then its membrane likewise;
* a grouped ``Conv2d`` -> the same convolution with ``groups = 1`` and a block-diagonal kernel
  (the importer builds ``in_channels = in/groups``);
* ``Scale`` over ``[N]`` -> ``Linear`` with ``diag(s)``; ``Scale`` constant over H, W on
  ``[C, H, W]`` -> a 1×1 ``Conv2d`` with kernel ``diag(s_c)``; ``SumPool2d`` -> a ``Conv2d`` of ones on
  the diagonal channel pairs (same stride and padding). Zeros add nothing, so these are exact.

What has no importable equivalent stays (a per-position ``Scale``, ``Delay``, ``IF``); the
consumer probe (``export/consumers.py``) then says so. The rewrites made are listed in
``metadata["portable"]``. A QAT graph's per-layer scales are rescaled with their membranes.
"""

from __future__ import annotations

import copy
from typing import Any

import nir
import numpy as np

from spikinghash.export.consumers import SNNTORCH_DT
from spikinghash.export.nir_check import type_check


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
    weight = np.zeros((channels, channels, *kernel), dtype=per_channel.dtype)
    weight[np.arange(channels), np.arange(channels)] = per_channel[:, None, None]
    return nir.Conv2d(input_shape=tuple(int(s) for s in np.asarray(in_shape)[1:]), weight=weight,
                      stride=stride, padding=padding, dilation=1, groups=1, bias=np.zeros(channels, weight.dtype))


def _pair(value: Any) -> tuple[int, int]:
    flat = [int(v) for v in np.atleast_1d(np.asarray(value))]
    return (flat[0], flat[0]) if len(flat) == 1 else (flat[0], flat[1])


def _rewrite(name: str, node: nir.NIRNode, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """One node rewritten (``k = dt'/dt``), or the node itself; appends what changed to ``done``."""
    if isinstance(node, nir.LIF):
        g = node.r * dt / node.tau
        if not np.allclose(g, 1.0, rtol=1e-12):
            done.append(f"{name}: membrane scaled by 1/(r·dt/tau)")
        return nir.LIF(tau=node.tau * k, r=node.r / g, v_leak=node.v_leak / g, v_threshold=node.v_threshold / g,
                       v_reset=node.v_reset / g)
    if isinstance(node, nir.CubaLIF):
        h = node.w_in * dt / node.tau_syn
        r = node.r * h
        g = r * dt / node.tau_mem
        if not (np.allclose(h, 1.0, rtol=1e-12) and np.allclose(g, 1.0, rtol=1e-12)):
            done.append(f"{name}: current and membrane rescaled")
        return nir.CubaLIF(tau_syn=node.tau_syn * k, tau_mem=node.tau_mem * k, r=r / g, v_leak=node.v_leak / g,
                           v_threshold=node.v_threshold / g, v_reset=node.v_reset / g, w_in=node.w_in / h)
    if isinstance(node, nir.Delay):
        return nir.Delay(delay=node.delay * k)
    if isinstance(node, nir.Conv2d) and int(node.groups) != 1:
        done.append(f"{name}: grouped Conv2d (groups={int(node.groups)}) -> block-diagonal Conv2d")
        return nir.Conv2d(input_shape=node.input_shape, weight=_dense_kernel(node.weight, int(node.groups)),
                          stride=node.stride, padding=node.padding, dilation=node.dilation, groups=1, bias=node.bias)
    if isinstance(node, nir.Scale):
        scale = np.asarray(node.scale)
        if scale.ndim == 1:
            done.append(f"{name}: Scale -> Linear(diag)")
            return nir.Linear(weight=np.diag(scale))
        if scale.ndim == 3 and np.all(scale == scale[:, :1, :1]):
            done.append(f"{name}: per-channel Scale -> 1x1 Conv2d(diag)")
            return _diagonal_conv(scale[:, 0, 0], (1, 1), scale.shape)
    if isinstance(node, nir.SumPool2d) and node.input_type and "input" in node.input_type:
        shape = np.asarray(node.input_type["input"])
        done.append(f"{name}: SumPool2d -> Conv2d of ones")
        return _diagonal_conv(np.ones(int(shape[0]), np.float32), _pair(node.kernel_size), shape,
                              stride=_pair(node.stride), padding=_pair(node.padding))
    if isinstance(node, nir.NIRGraph):
        return _rewrite_graph(node, k, dt, done, prefix=f"{name}.")
    return copy.deepcopy(node)


def _rewrite_graph(graph: nir.NIRGraph, k: float, dt: float, done: list[str], prefix: str = "") -> nir.NIRGraph:
    nodes = {n: _rewrite(f"{prefix}{n}", v, k, dt, done) for n, v in graph.nodes.items()}
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=copy.deepcopy(graph.metadata),
                        type_check=False)


def _rescale_qat(scales: dict[str, Any], before: nir.NIRGraph, after: nir.NIRGraph) -> None:
    """A QAT graph's integer units per float unit (``metadata["spikinghash"]["qat_scales"]``) follow a
    layer's membrane rescale ``v' = v/g``: every float quantity of the layer shrinks by g, so ``S' = S·g``."""
    for name in scales:
        old, new = before.nodes.get(name), after.nodes.get(name)
        if isinstance(old, (nir.LIF, nir.CubaLIF)):
            g = np.unique(np.asarray(old.v_threshold, np.float64) / np.asarray(new.v_threshold, np.float64))
            if g.size != 1:
                raise ValueError(f"{name}: the membrane rescale differs across neurons; a QAT scale is one per layer")
            scales[name] = float(np.asarray(scales[name])) * float(g[0])


def make_portable(graph: nir.NIRGraph, dt: float = SNNTORCH_DT) -> nir.NIRGraph:
    """A copy of ``graph`` with the rewrites of the module docstring, stepped every ``dt`` seconds.

    The graph's shapes must be inferred (a graph from ``snntorch_to_nir`` or ``to_nir_graph``, or
    one read back and passed through ``nir_check.type_check``).
    """
    meta = copy.deepcopy(graph.metadata) if isinstance(graph.metadata, dict) else {}
    old_dt = float(np.asarray(meta.get("dt", 1e-3)))
    done: list[str] = []
    portable = _rewrite_graph(graph, dt / old_dt, old_dt, done)
    scales = (meta.get("spikinghash") or {}).get("qat_scales")
    if scales:
        _rescale_qat(scales, graph, portable)
    portable.metadata = {**meta, "dt": float(dt), "portable": [f"time rescaled from dt = {old_dt} s to {dt} s", *done]}
    type_check(portable)
    return portable
