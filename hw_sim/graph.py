"""Parse a NIR graph in the deployment contract's canonical form into neuron layers and paths.

Canonical form (``docs/deploy_contract.md``): every path from a source (the Input or a
neuron node) to the next neuron node is ``[Flatten] → [Delay] → one weighted node → neuron``;
several paths may end in one neuron node (their currents add); Output is fed by exactly
one neuron node, the hash (or readout) layer. Anything else raises :class:`ConfigError`
naming the node. Any other standard NIR graph enters through :func:`load`, which lowers it
to this form first (``lowering.lower``).

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

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np
import torch
from torch import Tensor

from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.lowering import delay_steps, lower
from spikinghash.hw_sim.neurons import NEURON_BUILDERS, NeuronLayer
from spikinghash.hw_sim.synapses import SYNAPSE_BUILDERS, Synapse

Shape = tuple[int, ...]
MAX_LAVA_DELAY = 63  # Loihi 2: 6-bit synaptic delays
DEFAULT_DT = 1e-3  # seconds, for graphs whose metadata holds no dt (reported as metadata["dt_default"])
ROLES: dict[type, str] = {nir.Input: "input", nir.Output: "output", nir.Flatten: "flatten", nir.Delay: "delay",
                          **{t: "synapse" for t in SYNAPSE_BUILDERS}, **{t: "neuron" for t in NEURON_BUILDERS}}


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
        role = ROLES[type(nodes[name])]
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
        if type(node) not in ROLES:
            raise ConfigError(f"node {name!r} is a {type(node).__name__}, which hw_sim does not simulate; export "
                              f"only {sorted(t.__name__ for t in ROLES)}")
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
        by_role[ROLES[type(node)]].append(name)
    if len(by_role["input"]) != 1 or len(by_role["output"]) != 1:
        raise ConfigError(f"graph has {len(by_role['input'])} Input and {len(by_role['output'])} Output nodes; "
                          "hw_sim needs exactly one of each")
    meta = dict(getattr(graph, "metadata", None) or {})
    meta.setdefault("dt_default", "dt" not in meta)
    dt = float(np.asarray(meta.get("dt", DEFAULT_DT)))
    meta["dt"] = dt
    if not dt > 0:
        raise ConfigError(f"graph metadata dt={dt} must be a positive number of seconds; export the step length")
    input_name, output_name = by_role["input"][0], by_role["output"][0]
    input_shape = tuple(int(s) for s in np.asarray(nodes[input_name].input_type["input"]).ravel())
    if len(input_shape) not in (1, 3):
        raise _err(input_name, nodes[input_name], f"input shape {list(input_shape)} is neither [C, H, W] nor [N]")

    out_src = preds[output_name]
    if len(out_src) != 1 or ROLES[type(nodes[out_src[0]])] != "neuron":
        raise _err(output_name, nodes[output_name], "must be fed by exactly one neuron node (the hash layer)")

    incoming: dict[str, list[tuple[str, str, int, bool]]] = {}
    for n in by_role["neuron"]:
        if not preds[n]:
            raise _err(n, nodes[n], "has no incoming weighted node")
        for syn in preds[n]:
            if ROLES[type(nodes[syn])] != "synapse":
                raise _err(syn, nodes[syn], f"feeds neuron {n!r} directly; exactly one weighted node must")
            source, delay, flatten = _trace_path(n, syn, nodes, preds, dt)
            if source == n:  # recurrent: the previous step's spikes (or those of its Delay)
                delay = max(delay, 1)
            incoming[n] = incoming.get(n, []) + [(syn, source, delay, flatten)]
    for name in nodes:
        if name not in (input_name, output_name) and not succs[name]:
            raise _err(name, nodes[name], "leads nowhere (no outgoing edge)")

    order = _topological(incoming, input_name)
    neurons = {n: NEURON_BUILDERS[type(nodes[n])](nodes[n], n, dt) for n in order}
    shapes: dict[str, Shape] = {input_name: input_shape, **{n: layer.shape for n, layer in neurons.items()}}
    lags, paths, synapses = {input_name: 0}, {}, {}
    for n in order:
        paths[n] = []
        for syn, source, delay, flatten in incoming[n]:
            in_shape = (int(np.prod(shapes[source])),) if flatten else shapes[source]
            synapse = SYNAPSE_BUILDERS[type(nodes[syn])](nodes[syn], syn, in_shape)
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
        if net.lava_delay(p) > MAX_LAVA_DELAY:
            raise _err(p.synapse, nodes[p.synapse], f"needs a Lava synaptic delay of {net.lava_delay(p)} steps, "
                                                    f"more than Loihi's {MAX_LAVA_DELAY}")
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


def load(graph: nir.NIRGraph | str | os.PathLike) -> CanonicalNet:
    """Lower a graph object or a NIR file (``nir.write``'s HDF5, read and checked as :func:`read_checked` does) to
    the canonical form (``lowering.lower``: any standard NIR graph) and parse it into a :class:`CanonicalNet`."""
    if isinstance(graph, nir.NIRGraph):
        return parse(lower(graph))
    lowered = lower(_read(graph))
    _type_check(lowered, os.fspath(graph))
    return parse(lowered)


def _read(path: str | os.PathLike) -> nir.NIRGraph:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"NIR file {path!r} not found; export the model first (spikinghash export nir RUN_DIR)")
    try:
        return nir.read(path, type_check=False)
    except Exception as err:  # h5py and nir raise many types (OSError, KeyError, ValueError, ...)
        what = (f"{type(err).__name__}: {err}" if str(err) else
                "it names a node type nir 1.0.8 does not know" if isinstance(err, (AssertionError, KeyError))
                else type(err).__name__)
        raise DataError(f"NIR file {path!r} cannot be read as a NIR graph ({what}); write it again with nir.write "
                        "(nir 1.0.8 node types), or re-export a run with `spikinghash export nir RUN_DIR`") from None


def _type_check(graph: nir.NIRGraph, path: str) -> None:
    from spikinghash.export.nir_check import type_check  # the one correction of NIR's checker

    try:
        type_check(graph)
    except Exception as err:
        raise ConfigError(f"NIR file {path!r} fails NIR's type check: {err}; export a graph whose node shapes "
                          "agree along every edge") from None


def read_checked(path: str | os.PathLike) -> nir.NIRGraph:
    """Read a NIR file and run NIR's type check (with grouped convolutions' input types corrected) on its lowered
    form; returns the graph as read.

    NIR 1.0.8's own check (``nir.read``'s default) rejects every grouped ``Conv2d`` and every edge into a nested
    graph's ``sub.input`` (the form nirtorch and snnTorch export), so the file is read with ``type_check=False``
    and its lowered form (subgraphs flattened, ``lowering.lower``) is checked by ``export.nir_check.type_check``.
    A file that is not a readable NIR graph raises :class:`DataError`; one whose node types or shapes do not fit
    together, :class:`ConfigError` naming the node.
    """
    graph = _read(path)
    _type_check(lower(graph), os.fspath(path))
    return graph


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
