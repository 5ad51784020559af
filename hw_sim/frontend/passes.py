"""Lower any standard NIR graph (Sinabs, snnTorch, Norse, Rockpool exports) to the canonical form, as a list
of passes.

The canonical form (``docs/deploy_contract.md``, parsed by ``graph.parse``) allows, between two
neuron layers, ``[Flatten] → [Delay] → one weighted node``. :func:`lower` runs :data:`PASSES` in
order, each a small function from one :class:`Lowering` state to the next, checkable on its own;
what cannot be lowered exactly is refused with a :class:`ConfigError` naming the node, its type,
the offending parameter and what is supported, before anything is simulated:

1. ``flatten nested graphs``: node ``g`` of subgraph ``s`` becomes ``s.g``; edges to ``s`` /
   ``s.input`` enter its Input, edges from ``s`` / ``s.output`` leave its Output (both become
   pass-throughs);
2. ``drop pass-throughs``: the nodes of role "pass" (``Identity``, the inlined Inputs/Outputs) go,
   their edges joined;
3. ``check kinds``: every node's kind is in the registry (``kinds.KINDS``) and not
   refused, and every neuron node builds (v_reset, tau);
4. ``compose chains``: every route from a source (the Input or a neuron node) through linear nodes to
   a neuron node (a *chain*) is composed into one weighted node (``compose``): its exact matrix
   product, written as one ``Affine``, ``Conv2d`` or ``Scale``; a chain that already is canonical keeps
   its nodes and names; an ``AvgPool2d`` becomes a depthwise ``Conv2d``; a neuron feeding a neuron
   directly gets an identity ``Scale``;
5. ``type-check``: NIR's own type inference and check on the result (``export.nir_check.type_check``,
   with grouped convolutions corrected).

A chain is a route, so a linear node with several inputs (a sum) splits into one chain per
input; its bias is added in one of them only. Recurrent chains (from a neuron back to itself)
are lowered like any other; ``graph.parse`` gives them their one-step delay.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

import nir
import numpy as np
from nir.ir.graph import Identity

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.compose import (MAX_DENSE, Composite, Stage, channel_bias, compose, conv_matches,
                                                 identity_stage, weighted_stage)
from spikinghash.hw_sim.kinds import KINDS, delay_steps, role_of, supported_names

Shape = tuple[int, ...]
DEFAULT_DT = 1e-3  # seconds, for graphs whose metadata holds no dt (reported as metadata["dt_default"])


def refuse(name: str, node: Any, problem: str) -> ConfigError:
    return ConfigError(f"node {name!r} ({type(node).__name__}): {problem}")


@dataclass
class Lowering:
    """The graph between two passes: flat ``nodes`` and ``edges``, the graph's ``metadata`` and ``dt``
    (seconds), and ``composed``: weighted node -> the chain it replaced."""

    nodes: dict[str, Any]
    edges: list[tuple[str, str]]
    metadata: dict[str, Any]
    dt: float
    composed: dict[str, str] = field(default_factory=dict)
    source: str = "the graph"  # how messages name it ("NIR file 'x.nir'")

    def graph(self) -> nir.NIRGraph:
        meta = dict(self.metadata)
        meta["lowering"] = {"composed": dict(self.composed)} if self.composed else {}
        return nir.NIRGraph(nodes=self.nodes, edges=list(dict.fromkeys(self.edges)), metadata=meta, type_check=False)


# -- 1. nested graphs ---------------------------------------------------------------------

def _inline(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Nodes and edges of ``graph`` with every nested NIRGraph inlined (its Input and Output as pass-throughs)."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    ends: dict[str, tuple[str, str]] = {}  # subgraph name -> (its Input, its Output) after inlining
    for name, node in graph.nodes.items():
        full = prefix + name
        if role_of(node) == "graph":
            inner, inner_edges = _inline(node, full + ".")
            ins = [n for n in node.nodes if role_of(node.nodes[n]) == "input"]
            outs = [n for n in node.nodes if role_of(node.nodes[n]) == "output"]
            if len(ins) != 1 or len(outs) != 1:
                raise refuse(full, node, f"a nested graph with {len(ins)} Input and {len(outs)} Output nodes; "
                                         "supported: subgraphs with exactly one of each")
            nodes.update(inner)
            edges += inner_edges
            ends[full] = (f"{full}.{ins[0]}", f"{full}.{outs[0]}")
            nodes[ends[full][0]], nodes[ends[full][1]] = Identity(input_type={"input": None}), \
                Identity(input_type={"input": None})
        else:
            nodes[full] = node
    for src, dst in graph.edges:
        s, d = prefix + src, prefix + dst
        s = ends[s][1] if s in ends else s
        d = ends[d][0] if d in ends else d
        for end in (s, d):
            if end not in nodes:
                raise ConfigError(f"edge ({src!r}, {dst!r}) names a node {end!r} that the graph does not hold")
        edges.append((s, d))
    return nodes, edges


def flatten_nested(state: Lowering) -> Lowering:
    """Pass 1: every nested NIRGraph inlined."""
    nodes, edges = _inline(nir.NIRGraph(nodes=state.nodes, edges=state.edges, type_check=False))
    return Lowering(nodes, edges, state.metadata, state.dt, state.composed, state.source)


# -- 2. pass-throughs ---------------------------------------------------------------------

def drop_pass_throughs(state: Lowering) -> Lowering:
    """Pass 2: every node of role "pass" removed, its inputs joined to its outputs."""
    nodes, edges = dict(state.nodes), list(state.edges)
    for name in [n for n, node in nodes.items() if role_of(node) == "pass"]:
        ins = [s for s, d in edges if d == name]
        outs = [d for s, d in edges if s == name]
        edges = [e for e in edges if name not in e] + [(s, d) for s in ins for d in outs]
        del nodes[name]
    return Lowering(nodes, list(dict.fromkeys(edges)), state.metadata, state.dt, state.composed, state.source)


# -- 3. node kinds --------------------------------------------------------------------------

def check_kinds(state: Lowering) -> Lowering:
    """Pass 3: every node's kind known and not refused; every neuron node builds (its parameters checked)."""
    for name, node in state.nodes.items():
        kind = KINDS.get(type(node))
        if kind is None:
            raise refuse(name, node, f"hw_sim does not simulate this node type; supported: "
                                     f"{', '.join(supported_names())}")
        if kind.role == "refused":
            raise refuse(name, node, str(kind.refused))
        if kind.role == "neuron":
            kind.build(node, name, state.dt)
    return state


# -- 4. chains ----------------------------------------------------------------------------

def _chains(end: str, nodes: dict[str, Any], preds: dict[str, list[str]]) -> list[list[str]]:
    """Every route into ``end`` from a source (Input or neuron), source first, ``end`` excluded."""
    out: list[list[str]] = []

    def walk(name: str, route: list[str]) -> None:
        node = nodes[name]
        if role_of(node) in ("input", "neuron"):
            out.append([name, *reversed(route)])
            return
        if name in route:
            raise refuse(name, node, "lies on a cycle of linear nodes without a neuron; supported: recurrence "
                                     "through a neuron layer")
        if role_of(node) == "output":
            raise refuse(name, node, "feeds another node; supported: Output as the graph's last node")
        if not preds[name]:
            raise refuse(name, node, "has no input")
        for p in preds[name]:
            walk(p, [*route, name])

    for p in preds[end]:
        walk(p, [])
    return out


def _shape_of(name: str, node: Any, dt: float) -> Shape:
    if role_of(node) == "input":
        return tuple(int(s) for s in np.asarray(node.input_type["input"]).ravel())
    return KINDS[type(node)].build(node, name, dt).shape


def _stages(chain: list[str], nodes: dict[str, Any], shapes: dict[str, Shape], dt: float) -> list[Stage]:
    shape, stages = shapes[chain[0]], []
    for name in chain[1:]:
        node = nodes[name]
        role = role_of(node)
        if role == "flatten":
            stages.append(identity_stage(name, node, shape, (int(np.prod(shape)),)))
        elif role == "delay":
            stages.append(identity_stage(name, node, shape, shape, delay_steps(node, name, dt)))
        else:
            stages.append(weighted_stage(name, node, shape))
        shape = stages[-1].out_shape
    return stages


def _is_canonical(chain: list[str], nodes: dict[str, Any]) -> bool:
    """``source → [Flatten] → [Delay] → one weighted node`` already (decided by node kinds alone: building the
    matrices of a large model's convolutions only to keep them would cost minutes)."""
    roles = [role_of(nodes[n]) for n in chain[1:]]
    return (len(roles) >= 1 and roles[-1] == "synapse" and all(r in ("flatten", "delay") for r in roles[:-1])
            and roles.count("flatten") <= 1 and roles.count("delay") <= 1)


class _Builder:
    """Collects the canonical graph's nodes and edges."""

    def __init__(self, dt: float) -> None:
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.composed: dict[str, str] = {}
        self.dt = dt

    def fresh(self, base: str) -> str:
        name, i = base, 1
        while name in self.nodes:
            name, i = f"{base}#{i}", i + 1
        return name

    def keep(self, chain: list[str], nodes: dict[str, Any]) -> None:
        for name in chain:
            self.nodes[name] = nodes[name]
        self.edges += list(zip(chain[:-1], chain[1:]))

    def emit(self, source: str, target: str, c: Composite, names: list[str]) -> None:
        """The composite as ``source → [Flatten] → [Delay] → weighted node → target``."""
        base = "+".join(c.names) if c.names else f"{source}->{target}"
        where = " → ".join(names)
        weighted, flat_in = self._weighted(c, where)
        chain = [source]
        if flat_in and len(c.in_shape) != 1:
            fl = self.fresh(f"{base}.flatten")
            self.nodes[fl] = nir.Flatten(input_type={"input": np.array(c.in_shape)}, start_dim=0, end_dim=-1)
            chain.append(fl)
        if c.delay:
            d = self.fresh(f"{base}.delay")
            self.nodes[d] = nir.Delay(delay=np.full((int(np.prod(c.in_shape)),) if flat_in else c.in_shape,
                                                    c.delay * self.dt))
            chain.append(d)
        w = self.fresh(base)
        self.nodes[w] = weighted
        self.composed[w] = where
        self.edges += list(zip([*chain, w], [*chain[1:], w, target]))

    def _weighted(self, c: Composite, where: str) -> tuple[Any, bool]:
        """The one NIR weighted node of ``c`` and whether its input is flattened."""
        if c.elementwise and c.in_shape == c.out_shape and _is_diagonal(c):
            diag = c.matrix.diagonal().reshape(c.in_shape)
            if not np.any(c.bias):
                return nir.Scale(scale=diag), False
            if len(c.in_shape) == 1:
                return nir.Affine(weight=np.diag(diag), bias=c.bias.copy()), False
        if len(c.out_shape) == 1:
            if c.matrix.shape[0] * c.matrix.shape[1] > MAX_DENSE:
                raise ConfigError(f"chain {where}: its composed matrix {list(c.matrix.shape)} exceeds "
                                  f"{MAX_DENSE:,} entries; supported: smaller composed Affine layers")
            return nir.Affine(weight=c.matrix.toarray(), bias=c.bias.copy()), True
        if conv_matches(c):
            bias = channel_bias(c)
            if bias is None:
                raise ConfigError(f"chain {where}: a bias before a padded convolution differs at the borders, "
                                  "which one Conv2d bias per channel cannot hold; supported: biases on the last "
                                  "node of a convolution chain, or no padding after a biased one")
            return nir.Conv2d(input_shape=tuple(c.in_shape[1:]), weight=c.conv.weight, stride=c.conv.stride,
                              padding=c.conv.padding, dilation=1, groups=1, bias=bias), False
        raise ConfigError(f"chain {where}: its composed map [{', '.join(map(str, c.in_shape))}] -> "
                          f"[{', '.join(map(str, c.out_shape))}] is neither one convolution (borders checked "
                          "exactly) nor an Affine; supported: Conv2d/SumPool2d/AvgPool2d/per-channel Scale chains "
                          "whose borders compose, or chains ending in an Affine/Linear")


def _is_diagonal(c: Composite) -> bool:
    m = c.matrix.tocoo()
    return bool(np.all(m.row == m.col))


def compose_chains(state: Lowering) -> Lowering:
    """Pass 4: every chain between sources and neurons as one canonical weighted node (module docstring)."""
    nodes, dt = state.nodes, state.dt
    preds: dict[str, list[str]] = defaultdict(list)
    for s, d in state.edges:
        preds[d].append(s)
    shapes = {n: _shape_of(n, node, dt) for n, node in nodes.items() if role_of(node) in ("input", "neuron")}
    out = _Builder(dt)
    for name, node in nodes.items():  # sources, neurons and outputs keep their names
        if name in shapes or role_of(node) == "output":
            out.nodes[name] = node
    for end, node in nodes.items():
        if role_of(node) not in ("neuron", "output"):
            continue
        seen: set[tuple[str, ...]] = set()
        for chain in _chains(end, nodes, preds):
            if role_of(node) == "output":
                if len(chain) > 1:
                    raise refuse(end, node, f"is fed through {chain[-1]!r} ({type(nodes[chain[-1]]).__name__}); "
                                            "supported: Output fed directly by one neuron node (end the graph "
                                            "with a LI/CubaLI readout or a spiking layer)")
                out.edges.append((chain[0], end))
                continue
            if _is_canonical(chain, nodes):  # graph.parse checks its shapes
                out.keep([*chain, end], nodes)
                continue
            try:
                stages = _stages(chain, nodes, shapes, dt)
                if stages and stages[-1].out_shape != shapes[end]:
                    raise refuse(chain[-1], nodes[chain[-1]], f"outputs shape {list(stages[-1].out_shape)} into "
                                 f"neuron {end!r} of shape {list(shapes[end])}; fix the weight shape")
                if not stages or not any(s.weighted for s in stages):
                    stages.append(weighted_stage(f"{chain[0]}->{end}", nir.Scale(scale=np.ones(shapes[end])),
                                                 stages[-1].out_shape if stages else shapes[chain[0]]))
                counted = []
                for i in range(len(stages)):  # a bias shared by several chains into `end` is added once
                    suffix = tuple(chain[1 + i:])
                    counted.append(suffix not in seen)
                    seen.add(suffix)
                composite = compose(stages, counted)
            except ValueError as err:
                raise ConfigError(f"chain {' → '.join([*chain, end])}: {err}") from None
            out.emit(chain[0], end, composite, [*chain, end])
    return Lowering(out.nodes, list(dict.fromkeys(out.edges)), state.metadata, dt,
                    {**state.composed, **out.composed}, state.source)


# -- 5. NIR's type check ---------------------------------------------------------------------

def type_check(state: Lowering) -> Lowering:
    """Pass 5: NIR's type inference and check on the lowered graph (``export.nir_check.type_check``)."""
    from spikinghash.export.nir_check import type_check as nir_type_check  # the one correction of NIR's checker

    try:
        nir_type_check(state.graph())
    except Exception as err:  # NIR raises ValueError, KeyError, AttributeError, ... on shapes that disagree
        raise ConfigError(f"{state.source} fails NIR's type check: {err}; export a graph whose node shapes agree "
                          "along every edge") from None
    return state


@dataclass(frozen=True)
class Pass:
    """One named lowering step."""

    name: str
    run: Callable[[Lowering], Lowering]


#: The lowering, in the order it runs.
PASSES: tuple[Pass, ...] = (
    Pass("flatten nested graphs", flatten_nested),
    Pass("drop pass-throughs", drop_pass_throughs),
    Pass("check kinds", check_kinds),
    Pass("compose chains", compose_chains),
    Pass("type-check", type_check),
)


def graph_dt(graph: nir.NIRGraph) -> tuple[float, bool]:
    """The graph's time step in seconds (``metadata["dt"]``) and whether it is the default (no dt stated)."""
    meta = getattr(graph, "metadata", None) or {}
    if "dt" not in meta:
        return DEFAULT_DT, True
    return float(np.asarray(meta["dt"])), False


def lower(graph: nir.NIRGraph, passes: tuple[Pass, ...] = PASSES, source: str = "the graph") -> nir.NIRGraph:
    """The canonical form of ``graph``: :data:`PASSES` in order; ``metadata["lowering"]`` lists composed nodes.
    ``source`` names the graph in messages."""
    dt, _ = graph_dt(graph)
    state = Lowering(dict(graph.nodes), list(graph.edges), dict(getattr(graph, "metadata", None) or {}), dt,
                     source=source)
    for step in passes:
        state = step.run(state)
    return state.graph()
