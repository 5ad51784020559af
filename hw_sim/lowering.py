"""Lower any standard NIR graph (Sinabs, snnTorch, Norse, Rockpool exports) to the canonical form.

The canonical form (``docs/deploy_contract.md``, parsed by ``graph.parse``) allows, between two
neuron layers, ``[Flatten] → [Delay] → one weighted node``. :func:`lower` turns a standard graph
into it, exactly, or refuses it with a :class:`ConfigError` naming the node, its type, the
offending parameter and what is supported, before anything is simulated:

1. nested ``NIRGraph`` nodes are flattened (node ``g`` of subgraph ``s`` becomes ``s.g``; edges to
   ``s`` / ``s.input`` enter its Input, edges from ``s`` / ``s.output`` leave its Output), and the
   pass-through nodes (inner Input/Output, ``Identity``) are removed;
2. every route from a source (the Input or a neuron node) through linear nodes to a neuron node
   (a *chain*) is composed into one weighted node (``compose``): its exact matrix product, written
   as one ``Affine``, ``Conv2d`` or ``Scale``; a chain that already is canonical keeps its nodes
   and names; an ``AvgPool2d`` becomes a depthwise ``Conv2d``; a neuron feeding a neuron directly
   gets an identity ``Scale``;
3. neuron nodes are checked by their builders (``neurons.NEURON_BUILDERS``: v_reset, tau).

A chain is a route, so a linear node with several inputs (a sum) splits into one chain per
input; its bias is added in one of them only. Recurrent chains (from a neuron back to itself)
are lowered like any other; ``graph.parse`` gives them their one-step delay.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import nir
import numpy as np
from nir.ir.graph import Identity

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.compose import MAX_DENSE, Composite, Stage, channel_bias, compose, conv_matches, \
    identity_stage, weighted_stage
from spikinghash.hw_sim.neurons import NEURON_BUILDERS
from spikinghash.hw_sim.synapses import SYNAPSE_BUILDERS

Shape = tuple[int, ...]
LINEAR = (*SYNAPSE_BUILDERS, nir.AvgPool2d)
PASS = (Identity,)
SUPPORTED = ("Input", "Output", "NIRGraph", "Identity", "Flatten", "Delay",
             *sorted(t.__name__ for t in LINEAR), *sorted(t.__name__ for t in NEURON_BUILDERS))
REFUSED: dict[type, str] = {
    nir.Conv1d: "1-D convolutions have no Loihi layout here (neuron layers are [N] or [C, H, W]); export the "
                "signal as [C, 1, L] with a Conv2d of kernel (1, k)",
}


def refuse(name: str, node: Any, problem: str) -> ConfigError:
    return ConfigError(f"node {name!r} ({type(node).__name__}): {problem}")


def delay_steps(node: nir.Delay, name: str, dt: float) -> int:
    """A Delay's one delay in steps; ConfigError unless every element is the same non-negative multiple of dt."""
    steps = np.asarray(node.delay, dtype=np.float64) / dt
    k = np.rint(steps)
    if steps.size == 0 or np.any(np.abs(steps - k) > 1e-6) or np.any(k != k.flat[0]) or k.flat[0] < 0:
        raise ConfigError(f"node {name!r} (Delay): delay {np.unique(node.delay)} s is not one non-negative "
                          f"multiple of dt={dt}; supported: one delay of k·dt for the whole node")
    return int(k.flat[0])


# -- 1. nested graphs ---------------------------------------------------------------------

def flatten_graph(graph: nir.NIRGraph, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Nodes and edges of ``graph`` with every nested NIRGraph inlined and every pass-through node removed."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    ends: dict[str, tuple[str, str]] = {}  # subgraph name -> (its Input, its Output) after inlining
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            inner, inner_edges = flatten_graph(node, full + ".")
            ins = [n for n in node.nodes if isinstance(node.nodes[n], nir.Input)]
            outs = [n for n in node.nodes if isinstance(node.nodes[n], nir.Output)]
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
    if prefix == "":
        nodes, edges = _drop_pass_nodes(nodes, edges)
    return nodes, edges


def _drop_pass_nodes(nodes: dict[str, Any], edges: list[tuple[str, str]]) -> tuple[dict, list]:
    for name in [n for n, node in nodes.items() if isinstance(node, PASS)]:
        ins = [s for s, d in edges if d == name]
        outs = [d for s, d in edges if s == name]
        edges = [e for e in edges if name not in e] + [(s, d) for s in ins for d in outs]
        del nodes[name]
    return nodes, list(dict.fromkeys(edges))


# -- 2. chains ----------------------------------------------------------------------------

def _chains(end: str, nodes: dict[str, Any], preds: dict[str, list[str]]) -> list[list[str]]:
    """Every route into ``end`` from a source (Input or neuron), source first, ``end`` excluded."""
    out: list[list[str]] = []

    def walk(name: str, route: list[str]) -> None:
        node = nodes[name]
        if isinstance(node, nir.Input) or type(node) in NEURON_BUILDERS:
            out.append([name, *reversed(route)])
            return
        if name in route:
            raise refuse(name, node, "lies on a cycle of linear nodes without a neuron; supported: recurrence "
                                     "through a neuron layer")
        if isinstance(node, nir.Output):
            raise refuse(name, node, "feeds another node; supported: Output as the graph's last node")
        if not preds[name]:
            raise refuse(name, node, "has no input")
        for p in preds[name]:
            walk(p, [*route, name])

    for p in preds[end]:
        walk(p, [])
    return out


def _check_kind(name: str, node: Any) -> None:
    if isinstance(node, tuple(REFUSED)):
        raise refuse(name, node, REFUSED[type(node)])
    known = (nir.Input, nir.Output, nir.Flatten, nir.Delay, *LINEAR, *NEURON_BUILDERS)
    if not isinstance(node, known):
        raise refuse(name, node, f"hw_sim does not simulate this node type; supported: {', '.join(SUPPORTED)}")


def _shape_of(name: str, node: Any, dt: float) -> Shape:
    if isinstance(node, nir.Input):
        return tuple(int(s) for s in np.asarray(node.input_type["input"]).ravel())
    return NEURON_BUILDERS[type(node)](node, name, dt).shape  # checks the neuron's parameters


def _stages(chain: list[str], nodes: dict[str, Any], shapes: dict[str, Shape], dt: float) -> list[Stage]:
    shape, stages = shapes[chain[0]], []
    for name in chain[1:]:
        node = nodes[name]
        if isinstance(node, nir.Flatten):
            stages.append(identity_stage(name, node, shape, (int(np.prod(shape)),)))
        elif isinstance(node, nir.Delay):
            stages.append(identity_stage(name, node, shape, shape, delay_steps(node, name, dt)))
        else:
            stages.append(weighted_stage(name, node, shape))
        shape = stages[-1].out_shape
    return stages


def _is_canonical(chain: list[str], nodes: dict[str, Any]) -> bool:
    """``source → [Flatten] → [Delay] → one weighted node`` already (decided by node types alone: building the
    matrices of a large model's convolutions only to keep them would cost minutes)."""
    kinds = [type(nodes[n]) for n in chain[1:]]
    return (len(kinds) >= 1 and kinds[-1] in SYNAPSE_BUILDERS and all(k in (nir.Flatten, nir.Delay) for k in kinds[:-1])
            and kinds.count(nir.Flatten) <= 1 and kinds.count(nir.Delay) <= 1)


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


def lower(graph: nir.NIRGraph) -> nir.NIRGraph:
    """The canonical form of ``graph`` (module docstring); ``metadata["lowering"]`` lists composed nodes."""
    meta = dict(getattr(graph, "metadata", None) or {})
    dt = float(np.asarray(meta.get("dt", 1e-3)))
    nodes, edges = flatten_graph(graph)
    for name, node in nodes.items():
        _check_kind(name, node)
    preds: dict[str, list[str]] = defaultdict(list)
    for s, d in edges:
        preds[d].append(s)
    shapes = {n: _shape_of(n, node, dt) for n, node in nodes.items()
              if isinstance(node, nir.Input) or type(node) in NEURON_BUILDERS}
    out = _Builder(dt)
    for name, node in nodes.items():  # sources, neurons and outputs keep their names
        if name in shapes or isinstance(node, nir.Output):
            out.nodes[name] = node
    for end, node in nodes.items():
        if type(node) not in NEURON_BUILDERS and not isinstance(node, nir.Output):
            continue
        seen: set[tuple[str, ...]] = set()
        for chain in _chains(end, nodes, preds):
            if isinstance(node, nir.Output):
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
    meta["lowering"] = {"composed": dict(out.composed)} if out.composed else {}
    return nir.NIRGraph(nodes=out.nodes, edges=list(dict.fromkeys(out.edges)), metadata=meta, type_check=False)
