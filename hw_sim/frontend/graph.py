"""Parse a NIR graph in the deployment contract's canonical form into neuron layers and paths.

Canonical form (``docs/deploy_contract.md``): every path from a source (the Input or a
neuron node) to the next neuron node is ``[Flatten] → [Delay] → one weighted node → neuron``;
several paths may end in one neuron node (their currents add); Output is fed by exactly
one neuron node, the hash (or readout) layer. Anything else raises :class:`ConfigError`
naming the node. Any other standard NIR graph enters through ``frontend.read.load``, which lowers it
to this form first (``frontend.passes.lower``).

Recurrence: a path from a neuron layer back to itself (snnTorch's ``RLeaky``/``RSynaptic``,
``lif → w_rec → lif``) delivers the spikes of step ``t - f`` at step t, ``f`` = its Delay in
steps or 1 without one (within a step a cycle cannot close). A cycle through more than one
layer is refused: on Loihi each of its synapses adds a step, and no Lava delay can take
steps away.

Latency on Lava: each synapse process delivers one step late, so neuron layer ``n`` runs
the float model's step t at Lava step ``t + lag[n]``, where ``lag`` = synaptic depth
(``lag[Input] = 0``, ``lag[n] = max over incoming feed-forward paths of lag[source] + 1``). A
path whose source is shallower than ``lag[n] - 1``, or that carries a float ``Delay`` of k
steps, is given a Lava synaptic delay ``lag[n] - lag[source] - 1 + k`` (``DelayDense`` /
``DelaySparse``), so all paths of a layer stay aligned; a recurrent path gets ``f - 1``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np
import torch
from torch import Tensor

from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.frontend.passes import graph_dt
from spikinghash.hw_sim.kinds import KINDS, delay_steps, role_of
from spikinghash.hw_sim.kinds.neurons import LAYER_SHAPES, NeuronLayer, layout_of
from spikinghash.hw_sim.kinds.synapses import Synapse
from spikinghash.hw_sim.spec import MAX_DELAY

Shape = tuple[int, ...]
#: The roles of the canonical form (the lowering removes or composes the others).
CANONICAL_ROLES = ("input", "output", "flatten", "delay", "synapse", "neuron")


@dataclass(frozen=True)
class Path:
    """One ``source → [Flatten] → [Delay k] → synapse → target`` path; ``delay`` in time steps (a recurrent path,
    ``source == target``, delivers the spikes of step ``t - delay`` at step t, ``delay >= 1``)."""

    source: str
    synapse: str
    target: str
    delay: int
    flatten: bool

    @property
    def recurrent(self) -> bool:
        return self.source == self.target

    @property
    def key(self) -> str:
        return f"{self.synapse}->{self.target}"


@dataclass(frozen=True, eq=False)
class CanonicalNet:
    """A canonical graph: neuron layers in topological order, their incoming paths and lags.

    ``metadata``: the graph's, with ``dt`` and ``dt_default`` (True when the graph held no dt and
    1 ms was assumed) and, for a lowered graph, ``lowering`` (what was composed). ``shapes`` holds every source's shape (input frames ``[C, H, W]`` or ``[N]``, neuron
    layers their own); ``synapses`` is keyed by path key (a weighted node feeding two
    neuron layers is two paths).
    """

    input_name: str
    input_shape: Shape
    output: str
    dt: float
    neurons: dict[str, NeuronLayer]
    paths: dict[str, list[Path]]
    synapses: dict[str, Synapse]
    lags: dict[str, int]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shapes(self) -> dict[str, Shape]:
        return {self.input_name: self.input_shape, **{n: layer.shape for n, layer in self.neurons.items()}}

    def all_paths(self) -> list[Path]:
        return [p for ps in self.paths.values() for p in ps]

    def lava_delay(self, path: Path) -> int:
        """Synaptic delay (steps) the Lava process of ``path`` needs beyond its built-in one step."""
        return self.lags[path.target] - self.lags[path.source] - 1 + path.delay

    def delayed_sources(self) -> set[str]:
        """Neuron layers feeding a path with a float Delay (their spikes before step 0 matter)."""
        return {p.source for p in self.all_paths() if p.delay > 0 and p.source != self.input_name}


def _err(name: str, node: Any, problem: str) -> ConfigError:
    return ConfigError(f"node {name!r} ({type(node).__name__}): {problem}; export the canonical form of "
                       "docs/deploy_contract.md ([Flatten] → [Delay] → one weighted node → neuron)")


def _trace_path(target: str, syn: str, nodes: dict, preds: dict, dt: float) -> tuple[str, int, bool]:
    """Walk back from a weighted node to its source through at most one Flatten and one Delay."""
    delay, flatten, name = 0, False, syn
    while True:
        if len(preds[name]) != 1:
            raise _err(name, nodes[name], f"has {len(preds[name])} inputs, a path node needs exactly one")
        name = preds[name][0]
        role = role_of(nodes[name])
        if role in ("input", "neuron"):
            return name, delay, flatten
        if role == "delay" and delay == 0:
            delay = delay_steps(nodes[name], name, dt)
        elif role == "flatten" and not flatten:
            flatten = True
        else:
            raise _err(name, nodes[name], f"stands between {syn!r} and its source, where a path allows only one "
                                          "Flatten and one Delay (compose consecutive linear nodes into one)")


def parse(graph: nir.NIRGraph) -> CanonicalNet:
    """Check ``graph`` is canonical and build its :class:`CanonicalNet`."""
    nodes = dict(graph.nodes)
    for name, node in nodes.items():
        if role_of(node) not in CANONICAL_ROLES:
            allowed = sorted(k.name for k in KINDS.values() if k.role in CANONICAL_ROLES)
            raise ConfigError(f"node {name!r} is a {type(node).__name__}, which the canonical form does not hold; "
                              f"export only {allowed} (or lower the graph first: frontend.read.load)")
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for src, dst in graph.edges:
        for end in (src, dst):
            if end not in nodes:
                raise ConfigError(f"edge ({src!r}, {dst!r}) names a node {end!r} that the graph does not hold")
        preds[dst].append(src)
        succs[src].append(dst)
    by_role: dict[str, list[str]] = defaultdict(list)
    for name, node in nodes.items():
        by_role[str(role_of(node))].append(name)
    if len(by_role["input"]) != 1 or len(by_role["output"]) != 1:
        raise ConfigError(f"graph has {len(by_role['input'])} Input and {len(by_role['output'])} Output nodes; "
                          "hw_sim needs exactly one of each")
    meta = dict(getattr(graph, "metadata", None) or {})
    dt, default = graph_dt(graph)
    meta.setdefault("dt_default", default)
    meta["dt"] = dt
    if not dt > 0:
        raise ConfigError(f"graph metadata dt={dt} must be a positive number of seconds; export the step length")
    input_name, output_name = by_role["input"][0], by_role["output"][0]
    input_shape = tuple(int(s) for s in np.asarray(nodes[input_name].input_type["input"]).ravel())
    if layout_of(input_shape) is None:
        raise _err(input_name, nodes[input_name], f"input shape {list(input_shape)} is none of "
                                                  f"{', '.join(LAYER_SHAPES.values())}")

    out_src = preds[output_name]
    if len(out_src) != 1 or role_of(nodes[out_src[0]]) != "neuron":
        raise _err(output_name, nodes[output_name], "must be fed by exactly one neuron node (the hash layer)")

    incoming: dict[str, list[tuple[str, str, int, bool]]] = {}
    for n in by_role["neuron"]:
        if not preds[n]:
            raise _err(n, nodes[n], "has no incoming weighted node")
        for syn in preds[n]:
            if role_of(nodes[syn]) != "synapse":
                raise _err(syn, nodes[syn], f"feeds neuron {n!r} directly; exactly one weighted node must")
            source, delay, flatten = _trace_path(n, syn, nodes, preds, dt)
            if source == n:  # recurrent: the previous step's spikes (or those of its Delay)
                delay = max(delay, 1)
            incoming[n] = incoming.get(n, []) + [(syn, source, delay, flatten)]
    for name in nodes:
        if name not in (input_name, output_name) and not succs[name]:
            raise _err(name, nodes[name], "leads nowhere (no outgoing edge)")

    order = _topological(incoming, input_name)
    neurons = {n: KINDS[type(nodes[n])].build(nodes[n], n, dt) for n in order}
    shapes: dict[str, Shape] = {input_name: input_shape, **{n: layer.shape for n, layer in neurons.items()}}
    lags, paths, synapses = {input_name: 0}, {}, {}
    for n in order:
        paths[n] = []
        for syn, source, delay, flatten in incoming[n]:
            in_shape = (int(np.prod(shapes[source])),) if flatten else shapes[source]
            synapse = KINDS[type(nodes[syn])].build(nodes[syn], syn, in_shape)
            if synapse.out_shape != shapes[n]:
                raise _err(syn, nodes[syn], f"outputs shape {list(synapse.out_shape)} into neuron {n!r} of shape "
                                            f"{list(shapes[n])}")
            path = Path(source, syn, n, delay, flatten)
            paths[n].append(path)
            synapses[path.key] = synapse
        forward = [p for p in paths[n] if not p.recurrent]
        if not forward:
            raise _err(n, nodes[n], "is fed only by itself; a recurrent layer needs a feed-forward input too")
        lags[n] = max(lags[p.source] for p in forward) + 1
        _check_cuba_bias(n, neurons[n], paths[n], synapses)
    net = CanonicalNet(input_name, input_shape, out_src[0], dt, neurons, paths, synapses, lags, meta)
    for p in net.all_paths():
        if net.lava_delay(p) > MAX_DELAY:
            raise _err(p.synapse, nodes[p.synapse], f"needs a Lava synaptic delay of {net.lava_delay(p)} steps, "
                                                    f"more than Loihi's {MAX_DELAY}")
    return net


def _topological(incoming: dict[str, list[tuple[str, str, int, bool]]], input_name: str) -> list[str]:
    order: list[str] = []
    done = {input_name}
    pending = dict(incoming)
    while pending:
        ready = [n for n, ins in pending.items() if all(src in done or src == n for _, src, _, _ in ins)]
        if not ready:
            raise ConfigError(f"neuron layers {sorted(pending)} form a recurrent cycle through more than one layer "
                              "(or hang off no source): on Loihi each synapse of a cycle adds one step, so a cycle "
                              "through k layers takes at least k steps there but one in the float model (NIR: a "
                              "recurrent edge delivers the previous step's spikes); supported: a layer feeding "
                              "itself through one weighted node (snnTorch RLeaky/RSynaptic), optionally delayed")
        for n in ready:
            order.append(n)
            done.add(n)
            del pending[n]
    return order


def _check_cuba_bias(name: str, layer: NeuronLayer, paths: list[Path], synapses: dict[str, Synapse]) -> None:
    """A weighted node's bias enters a current-based neuron through its synaptic filter, Loihi's bias enters v."""
    if layer.current_decay is None or np.all(layer.current_decay == 0):
        return
    if any(np.any(synapses[p.key].bias != 0) for p in paths):
        raise ConfigError(f"neuron node {name!r} ({layer.kind}): a weighted node's bias reaches it through the "
                          "synaptic filter (tau_syn > dt), but Loihi adds its bias to v directly; supported: zero "
                          "biases into current-based neurons (put a constant drive in v_leak), or tau_syn = dt")


def as_frames(frames: Any, net: CanonicalNet) -> Tensor:
    """Frames ``[T, B, *input_shape]`` (numpy or torch) as a float64 tensor; DataError on a wrong shape."""
    x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, Tensor) else frames).to(torch.float64)
    if x.ndim != 2 + len(net.input_shape) or tuple(x.shape[2:]) != net.input_shape:
        raise DataError(f"frames of shape {list(x.shape)} do not fit the graph's input: expected "
                        f"[T, B, {', '.join(map(str, net.input_shape))}]")
    # a finite sum proves every value finite (one pass, no mask); only an infinite or NaN sum needs the full check
    if not np.isfinite(float(x.sum())) and not torch.isfinite(x).all():
        raise DataError("frames hold NaN or infinite values; clean the input data")
    return x
