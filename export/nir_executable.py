r"""A NIR graph (or ``.nir`` file) as an executable torch network, stepped one frame at a time.

The graph is wired by nirtorch 2.6's interpreter (``nirtorch.nir_to_torch``: a torch.fx
module over the graph's edges, whose inputs into one node are summed — the contract's fan-in),
with our own map from NIR node types to modules: nirtorch's defaults give ``Affine`` a random
bias (it assigns the NIR bias to ``weight.bias``) and build ``Conv2d`` modules that reject
grouped convolutions, and it has no neurons or delay. Semantics, per step of ``dt``:

* ``Conv2d``/``Affine``/``Linear``/``Scale``/``SumPool2d``/``AvgPool2d``: in the same step;
* ``Delay``: ``y[t] = x[t - k]`` with ``k = delay/dt`` steps (per element), zeros before;
* ``LIF``: ``v ← v + (dt/τ)·(v_leak − v + r·I)``; spike iff ``v > v_threshold``, then
  ``v ← v_reset`` (NIR's LIF, Euler step dt); ``IF``: ``v ← v + r·I``, same spike and reset;
  ``CubaLIF``: ``i ← i + (dt/τ_syn)·(−i + w_in·S)`` first, then ``v`` as the LIF's with ``I = i``;
* a nested ``NIRGraph`` (snnTorch's recurrent layers) runs as one node; nirtorch feeds an edge
  that closes a cycle with the previous step's value (zeros at the first step);
* ``Flatten``: NIR shapes have no batch axis, so its dims are shifted by one here.

Neuron state starts at ``v = 0`` (our LIF rests at V_reset = 0).

This is an independent oracle, kept independent on purpose: it shares no code with ``hw_sim``'s float
reference (``hw_sim/frontend/float_sim.py``) or with the torch model, so the round-trip tests
(torch model = this interpreter = hw_sim) check three separate implementations of the same equations.
"""

from __future__ import annotations

import os
from typing import Any, Callable, NamedTuple

import nir
import nirtorch
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _tensor(array: Any) -> Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64))


def _pair(value: Any) -> tuple[int, int]:
    flat = [int(v) for v in np.atleast_1d(np.asarray(value))]
    return (flat[0], flat[0]) if len(flat) == 1 else (flat[0], flat[1])


class LIFStep(nn.Module):
    """NIR ``LIF`` (or ``IF`` when ``tau`` is None), one step: ``(I, v) -> (spikes, v)``."""

    def __init__(self, node: nir.LIF | nir.IF, dt: float) -> None:
        super().__init__()
        leaky = isinstance(node, nir.LIF)
        self.leaky = leaky
        self.register_buffer("gain", _tensor(dt / node.tau if leaky else np.ones_like(node.r)))
        self.register_buffer("v_leak", _tensor(node.v_leak if leaky else np.zeros_like(node.r)))
        self.register_buffer("r", _tensor(node.r))
        self.register_buffer("v_threshold", _tensor(node.v_threshold))
        self.register_buffer("v_reset", _tensor(node.v_reset))

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        v = torch.zeros_like(x) if state is None else state
        if self.leaky:
            v = v + self.gain * (self.v_leak - v + self.r * x)
        else:
            v = v + self.r * x
        spikes = v > self.v_threshold
        return spikes.to(x.dtype), torch.where(spikes, self.v_reset.expand_as(v), v)


class CubaLIFStep(nn.Module):
    """NIR ``CubaLIF``, one step: ``(S, (i, v)) -> (spikes, (i, v))``; the current is updated first."""

    def __init__(self, node: nir.CubaLIF, dt: float) -> None:
        super().__init__()
        self.register_buffer("syn_gain", _tensor(dt / node.tau_syn))
        self.register_buffer("w_in", _tensor(node.w_in))
        self.register_buffer("gain", _tensor(dt / node.tau_mem))
        self.register_buffer("v_leak", _tensor(node.v_leak))
        self.register_buffer("r", _tensor(node.r))
        self.register_buffer("v_threshold", _tensor(node.v_threshold))
        self.register_buffer("v_reset", _tensor(node.v_reset))

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        i, v = (torch.zeros_like(x), torch.zeros_like(x)) if state is None else state
        i = i + self.syn_gain * (self.w_in * x - i)
        v = v + self.gain * (self.v_leak - v + self.r * i)
        spikes = v > self.v_threshold
        return spikes.to(x.dtype), (i, torch.where(spikes, self.v_reset.expand_as(v), v))


class DelayLine(nn.Module):
    """NIR ``Delay``: ``y[t] = x[t - k]`` per element, ``k = round(delay/dt)`` steps, zeros first."""

    def __init__(self, node: nir.Delay, dt: float) -> None:
        super().__init__()
        steps = np.asarray(node.delay, dtype=np.float64) / dt
        if not np.allclose(steps, np.round(steps), atol=1e-6) or (steps < 0).any():
            raise ValueError("a Delay must be a whole number (>= 0) of steps dt")
        self.register_buffer("steps", torch.as_tensor(np.round(steps).astype(np.int64)))
        self.depth = int(self.steps.max()) if self.steps.numel() else 0

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        # history[k] holds the input of k steps ago (history[0] is this step's input).
        past = x.new_zeros((self.depth, *x.shape)) if state is None else state
        history = torch.cat((x.unsqueeze(0), past))
        index = self.steps.expand_as(x).unsqueeze(0)
        return history.gather(0, index).squeeze(0), history[:-1] if self.depth else past


class Elementwise(nn.Module):
    """A stateless function of one input, with tensors kept as buffers (so ``.to(dtype)`` applies)."""

    def __init__(self, fn: Callable[..., Tensor], **tensors: Tensor) -> None:
        super().__init__()
        self.fn = fn
        for name, value in tensors.items():
            self.register_buffer(name, value)
        self.names = list(tensors)

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x, *(getattr(self, n) for n in self.names))


def grouped_conv2d(x: Tensor, weight: Tensor, bias: Tensor, stride: tuple[int, int], padding: tuple[int, int],
                   dilation: tuple[int, int], groups: int) -> Tensor:
    """``F.conv2d`` as one unfold and one product over all groups.

    PyTorch runs float64 grouped or dilated convolutions one group at a time (thousands of
    small calls per step for a depthwise layer); this form costs one call at any dtype.
    """
    out_ch, in_per_group, kh, kw = weight.shape
    if groups == 1 and dilation == (1, 1):
        return F.conv2d(x, weight, bias, stride, padding)
    height = (x.shape[2] + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    width = (x.shape[3] + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    pointwise = (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0)
    cols = x.flatten(2) if pointwise else F.unfold(x, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.unflatten(1, (groups, in_per_group * kh * kw))
    kernel = weight.reshape(groups, out_ch // groups, in_per_group * kh * kw)
    out = torch.einsum("bgkl,gok->bgol", cols, kernel).flatten(1, 2) + bias[:, None]
    return out.unflatten(2, (height, width))


def _conv2d(node: nir.Conv2d) -> nn.Module:
    if isinstance(node.padding, str):
        raise ValueError(f"Conv2d padding {node.padding!r}: give the padding in pixels")
    padding, stride, dilation, groups = _pair(node.padding), _pair(node.stride), _pair(node.dilation), int(node.groups)
    return Elementwise(lambda x, w, b: grouped_conv2d(x, w, b, stride, padding, dilation, groups),
                       w=_tensor(node.weight), b=_tensor(node.bias))


def _flatten(node: nir.Flatten) -> nn.Module:
    # Shift NIR's dims (no batch axis) past the batch axis; negative dims count from the end.
    start, end = int(node.start_dim), int(node.end_dim)
    return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)


def _pool(node: nir.SumPool2d | nir.AvgPool2d) -> nn.Module:
    kernel, stride, padding = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    divisor = 1 if isinstance(node, nir.SumPool2d) else None
    return Elementwise(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad=True,
                                              divisor_override=divisor))


def node_map(dt: float) -> dict[type, Callable[[Any], nn.Module]]:
    """NIR node type -> torch module, for a graph stepped every ``dt`` seconds."""
    return {
        nir.Input: lambda node: nn.Identity(),
        nir.Output: lambda node: nn.Identity(),
        nir.Conv2d: _conv2d,
        nir.Affine: lambda node: Elementwise(F.linear, w=_tensor(node.weight), b=_tensor(node.bias)),
        nir.Linear: lambda node: Elementwise(F.linear, w=_tensor(node.weight)),
        nir.Scale: lambda node: Elementwise(torch.mul, s=_tensor(node.scale)),
        nir.Flatten: _flatten,
        nir.SumPool2d: _pool,
        nir.AvgPool2d: _pool,
        nir.Delay: lambda node: DelayLine(node, dt),
        nir.LIF: lambda node: LIFStep(node, dt),
        nir.IF: lambda node: LIFStep(node, dt),
        nir.CubaLIF: lambda node: CubaLIFStep(node, dt),
    }


def prepared(graph: nir.NIRGraph) -> tuple[nir.NIRGraph, dict[str, str]]:
    """``graph`` renamed for nirtorch: nodes ``n0, n1, ...`` in topological order (Kahn's algorithm).

    Returns the renamed graph and a map from new to original names. nirtorch turns node names
    into attributes of a ``torch.fx.GraphModule``, so a node called ``code`` or ``graph``
    breaks it, and ``a.b`` and ``a_b`` collide. It also re-queues a node whose inputs are not
    built yet and searches all edges again each time; files come back from HDF5 in
    alphabetical order, which made that search dominate (17 s for a 163-node graph).
    """
    pending = {name: 0 for name in graph.nodes}
    successors: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for src, dst in graph.edges:
        pending[dst] += 1
        successors[src].append(dst)
    ready = [name for name, count in pending.items() if count == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for nxt in successors[name]:
            pending[nxt] -= 1
            if pending[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(graph.nodes):
        raise ValueError("the graph has a cycle; a feed-forward NIR graph is needed")
    new = {name: f"n{i}" for i, name in enumerate(order)}
    renamed = nir.NIRGraph(nodes={new[n]: graph.nodes[n] for n in order},
                           edges=[(new[a], new[b]) for a, b in graph.edges],
                           metadata=graph.metadata, type_check=False)
    return renamed, {v: k for k, v in new.items()}


class NIRRun(NamedTuple):
    """Result of running a graph on ``T`` frames.

    Attributes:
        output: spikes of the node feeding ``Output``, ``[T, B, L]``.
        code: AND over the T steps of ``output`` (Eq. 18), ``[B, L]`` in {0, 1}.
        spikes: every neuron node's (and nested graph's) output by node name, ``[T, B, ...]`` (0./1.).
    """

    output: Tensor
    code: Tensor
    spikes: dict[str, Tensor]


class NIRExecutable(nn.Module):
    """An executable network for a NIR graph: ``x: [T, B, ...input shape] -> NIRRun``.

    ``module`` is nirtorch's module, whose submodules are named ``n0, n1, ...``; ``names`` maps
    them to the graph's node names.
    """

    def __init__(self, graph: nir.NIRGraph, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.dt = float(graph.metadata.get("dt", 1e-3)) if isinstance(graph.metadata, dict) else 1e-3
        renamed, self.names = prepared(graph)
        self.module = nirtorch.nir_to_torch(renamed, node_map(self.dt), dtype=dtype)
        self.neurons = {key: name for key, name in self.names.items()
                        if isinstance(graph.nodes[name], (nir.LIF, nir.IF, nir.CubaLIF, nir.NIRGraph))}

    def forward(self, x: Tensor) -> NIRRun:
        recorded: dict[str, list[Tensor]] = {name: [] for name in self.neurons.values()}
        hooks = [
            getattr(self.module, key).register_forward_hook(
                lambda mod, args, out, name=name: recorded[name].append(out[0]))
            for key, name in self.neurons.items()
        ]
        outputs, state = [], None
        try:
            for frame in x:
                out, state = self.module(frame, state)
                outputs.append(out)
        finally:
            for hook in hooks:
                hook.remove()
        output = torch.stack(outputs)
        return NIRRun(output, output.prod(dim=0), {n: torch.stack(s) for n, s in recorded.items()})


def load_executable(source: nir.NIRGraph | str | os.PathLike, dtype: torch.dtype = torch.float32) -> NIRExecutable:
    """:class:`NIRExecutable` for a graph or a ``.nir`` file (read without NIR's type check,
    which rejects grouped convolutions in NIR 1.0.8; see ``nir_check.type_check``)."""
    graph = source if isinstance(source, nir.NIRGraph) else nir.read(source, type_check=False)
    return NIRExecutable(graph, dtype)
