r"""``--portable``: rewrite a NIR graph, exactly, into node kinds snnTorch 1.0.0's importer reads correctly.

Each rewrite computes the same spikes (exact in real arithmetic; in float the rescaled thresholds
round once):

* time: every time constant and delay is rescaled to snnTorch's hard-coded step
  (:data:`~spikinghash.hw_sim.kinds.neuron_nodes.SNNTORCH_DT`): ``τ' = τ·dt'/dt``; only ``dt/τ`` enters
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

Each rewrite is the ``portable`` facet of its kind's registry entry (``kinds``); this module
walks the graph. What has no importable equivalent stays (a per-position ``Scale``, ``Delay``, ``IF``);
the consumer probe (``consumers``) then says so. The rewrites made are listed in
``metadata["portable"]``. A QAT graph's per-layer scales are rescaled with their membranes.
"""

from __future__ import annotations

import copy
from typing import Any

import nir
import numpy as np

from spikinghash.export.nir_check import type_check
from spikinghash.hw_sim.kinds import portable_node, role_of
from spikinghash.hw_sim.kinds.neuron_nodes import SNNTORCH_DT


def _rewrite(name: str, node: nir.NIRNode, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """One node rewritten by its kind's ``portable`` facet (``k = dt'/dt``); a nested graph node by node."""
    if role_of(node) == "graph":
        return _rewrite_graph(node, k, dt, done, prefix=f"{name}.")
    return portable_node(name, node, k, dt, done)


def _rewrite_graph(graph: nir.NIRGraph, k: float, dt: float, done: list[str], prefix: str = "") -> nir.NIRGraph:
    nodes = {n: _rewrite(f"{prefix}{n}", v, k, dt, done) for n, v in graph.nodes.items()}
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=copy.deepcopy(graph.metadata),
                        type_check=False)


def _rescale_qat(scales: dict[str, Any], before: nir.NIRGraph, after: nir.NIRGraph) -> None:
    """A QAT graph's integer units per float unit (``metadata["spikinghash"]["qat_scales"]``) follow a
    layer's membrane rescale ``v' = v/g``: every float quantity of the layer shrinks by g, so ``S' = S·g``."""
    for name in scales:
        old, new = before.nodes.get(name), after.nodes.get(name)
        if role_of(old) == "neuron" and hasattr(old, "v_threshold"):
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
