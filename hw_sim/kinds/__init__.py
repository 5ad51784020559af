"""NIR node kinds, each described once: the registry every stage reads (this module), the synapse and neuron
descriptions with their float and fixed-point behaviours (``synapses``, ``neurons``, ``lif_kernel``), and their
NIR side (``synapse_nodes``, ``neuron_nodes``).

Every stage reads it; none keeps a table of node types of its own:

- ``role`` places the kind in the canonical form (``frontend.graph.parse``) and tells the lowering
  passes (``frontend.passes``) what to do with it: ``"input"``/``"output"``, ``"flatten"``,
  ``"delay"``, ``"pass"`` (dropped), ``"graph"`` (a nested graph, inlined), ``"synapse"`` (a
  canonical weighted node), ``"linear"`` (weighted but not canonical: composed into one), ``"neuron"``,
  ``"refused"`` (the target cannot hold it; ``refused`` says why and what to do);
- ``build`` makes the kind's description (a synapse kind: ``(node, name, in_shape) ->
  synapses.Synapse``; a neuron kind: ``(node, name, dt) -> neurons.NeuronLayer``; a Delay: ``(node, name,
  dt) -> steps``). That description holds the behaviours side by side: float step, fixed-point step
  (bit-exact with Lava), exact matrix for composition, FLOPs (``energy``) and netx form
  (``backends.netx``); every neuron kind runs Lava's LIF datapath (``neurons.IntNeuron``);
- ``portable``: the exact rewrite ``export nir --portable`` applies (``frontend.portable``), if any;
- ``snntorch``: what snnTorch 1.0's ``import_from_nir`` makes of the node (``frontend.consumers``): the
  reasons it would compute other spikes (empty: exact), or None where it has no mapping at all.

Adding a node kind is one entry here (plus its description class and its tests). The float oracle of
the tests (``export.nir_executable``) keeps its own node map on purpose: it must share no code with
what it checks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable

import nir
import numpy as np
from nir.ir.graph import Identity

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds import neuron_nodes as N
from spikinghash.hw_sim.kinds import synapse_nodes as S

ROLES = ("input", "output", "flatten", "delay", "pass", "graph", "synapse", "linear", "neuron", "refused")
Portable = Callable[[str, Any, float, float, list], Any]  # (name, node, k = dt'/dt, dt, done) -> node


@dataclass(frozen=True)
class NodeKind:
    """Everything hw_sim knows about one NIR node class (module docstring)."""

    nir_type: type
    role: str
    build: Callable[..., Any] | None = None
    portable: Portable | None = None
    snntorch: Callable[[Any, float], list[str]] | None = None
    refused: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"{self.nir_type.__name__}: role {self.role!r} is not one of {ROLES}")

    @property
    def name(self) -> str:
        return self.nir_type.__name__


def delay_steps(node: nir.Delay, name: str, dt: float) -> int:
    """A Delay's one delay in steps; ConfigError unless every element is the same non-negative multiple of dt."""
    steps = np.asarray(node.delay, dtype=np.float64) / dt
    k = np.rint(steps)
    if steps.size == 0 or np.any(np.abs(steps - k) > 1e-6) or np.any(k != k.flat[0]) or k.flat[0] < 0:
        raise ConfigError(f"node {name!r} (Delay): delay {np.unique(node.delay)} s is not one non-negative "
                          f"multiple of dt={dt}; supported: one delay of k·dt for the whole node")
    return int(k.flat[0])


def _portable_delay(name: str, node: nir.Delay, k: float, dt: float, done: list[str]) -> nir.Delay:
    return nir.Delay(delay=node.delay * k)


def _exact(node: Any, dt: float) -> list[str]:
    """snnTorch's importer maps the node and computes what it says."""
    return []


KINDS: dict[type, NodeKind] = {k.nir_type: k for k in (
    NodeKind(nir.Input, "input", snntorch=_exact),
    NodeKind(nir.Output, "output", snntorch=_exact),
    NodeKind(nir.Flatten, "flatten", snntorch=_exact),
    NodeKind(nir.Delay, "delay", build=delay_steps, portable=_portable_delay),
    NodeKind(Identity, "pass"),
    NodeKind(nir.NIRGraph, "graph", snntorch=_exact),
    NodeKind(nir.Conv2d, "synapse", S.conv2d, S.portable_conv2d, S.snntorch_conv2d),
    NodeKind(nir.Affine, "synapse", S.affine, snntorch=_exact),
    NodeKind(nir.Linear, "synapse", S.affine, snntorch=_exact),
    NodeKind(nir.Scale, "synapse", S.scale, S.portable_scale),
    NodeKind(nir.SumPool2d, "synapse", S.sumpool2d, S.portable_sumpool2d),
    NodeKind(nir.AvgPool2d, "linear", S.avgpool2d, snntorch=_exact),
    NodeKind(nir.LIF, "neuron", N.leaky, N.portable_lif, N.snntorch_lif),
    NodeKind(nir.LI, "neuron", N.leaky),
    NodeKind(nir.IF, "neuron", N.integrator, snntorch=N.snntorch_if),
    NodeKind(nir.I, "neuron", N.integrator),
    NodeKind(nir.CubaLIF, "neuron", N.current_based, N.portable_cubalif, N.snntorch_lif),
    NodeKind(nir.CubaLI, "neuron", N.current_based),
    NodeKind(nir.Threshold, "neuron", N.threshold),
    NodeKind(nir.Conv1d, "refused", refused=(
        "1-D convolutions have no Loihi layout here (neuron layers are [N] or [C, H, W]); export the signal "
        "as [C, 1, L] with a Conv2d of kernel (1, k)")),
)}


def kind_of(node: Any) -> NodeKind | None:
    """The registry entry of ``node``'s class (None for a class hw_sim does not know)."""
    return KINDS.get(type(node))


def role_of(node: Any) -> str | None:
    """``kind_of(node).role``, or None for an unknown class."""
    kind = KINDS.get(type(node))
    return None if kind is None else kind.role


def types_with(*roles: str) -> tuple[type, ...]:
    """The NIR classes whose role is one of ``roles``."""
    return tuple(t for t, k in KINDS.items() if k.role in roles)


def supported_names() -> list[str]:
    """Every NIR class name hw_sim takes (the refused ones left out)."""
    return sorted(k.name for k in KINDS.values() if k.role != "refused")


def portable_node(name: str, node: Any, k: float, dt: float, done: list[str]) -> Any:
    """``node`` rewritten by its kind's ``portable`` facet (a copy of it where there is none)."""
    kind = KINDS.get(type(node))
    if kind is None or kind.portable is None:
        return copy.deepcopy(node)
    return kind.portable(name, node, k, dt, done)
