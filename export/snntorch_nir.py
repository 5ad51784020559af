r"""A user's snnTorch network as a standard NIR graph whose every spike equals snnTorch's own.

:func:`snntorch_to_nir` traces one step (``export/snntorch_trace.py``), converts each layer
with one entry of :data:`LAYERS` or :data:`~spikinghash.export.snntorch_neurons.NEURONS`, and
wires the nodes along the traced data flow. Node names are the module paths (``0``,
``features.2``, ...), plus ``input`` and ``output``. Supported:

* ``nn.Conv2d`` (zero padding) -> ``Conv2d``; ``nn.Linear`` -> ``Affine`` (``Linear`` without bias);
* ``nn.BatchNorm1d/2d`` directly after a ``Conv2d``/``Linear`` read by nothing else: folded into
  it with its running statistics (the network is exported as in eval mode);
* ``nn.AvgPool2d`` (no padding, floor mode) -> ``AvgPool2d``; ``nn.Flatten`` (not over the batch
  axis) -> ``Flatten`` with NIR's batch-free dims; ``nn.Identity`` and ``nn.Dropout`` (identity in
  eval mode) -> no node;
* ``snn.Leaky``, ``snn.Synaptic``, ``snn.RLeaky`` -> ``LIF``/``IF``, ``CubaLIF``, a nested
  ``NIRGraph`` (mapping and conditions in ``export/snntorch_neurons.py``).

Anything else is refused, one line per module path, in one :class:`ConfigError`
(its first line says how many follow).
Time: one frame per step of ``dt`` seconds (``metadata["dt"]``); only ``τ/dt`` matters.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable

import nir
import numpy as np
import snntorch as snn
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.export.nir_check import type_check
from spikinghash.export.snntorch_neurons import NEURONS, neuron_problems, recurrent_bias
from spikinghash.export.snntorch_trace import INPUT, Call, trace
from spikinghash.models.batch_norm import fold_batch_norm
from spikinghash.models.neuromorphic_ops import conv2d_node

Shape = tuple[int, ...]
DEFAULT_DT = 1e-3
_PASS_THROUGH = (nn.Identity, nn.Dropout)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def _array(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _conv(conv: nn.Module, in_shape: Shape, norm: nn.Module | None = None) -> nir.NIRNode:
    weight, bias = fold_batch_norm(conv.weight, conv.bias, norm or nn.Identity())
    return conv2d_node(weight, bias, in_shape, stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                       groups=conv.groups)


def _linear(linear: nn.Module, in_shape: Shape, norm: nn.Module | None = None) -> nir.NIRNode:
    if norm is None and linear.bias is None:
        return nir.Linear(weight=_array(linear.weight))
    weight, bias = fold_batch_norm(linear.weight, linear.bias, norm or nn.Identity())
    return nir.Affine(weight=_array(weight), bias=_array(bias))


def _avg_pool(pool: nn.Module, in_shape: Shape, norm: nn.Module | None = None) -> nir.NIRNode:
    kernel = np.broadcast_to(np.asarray(pool.kernel_size), (2,))
    stride = np.broadcast_to(np.asarray(pool.stride if pool.stride is not None else pool.kernel_size), (2,))
    return nir.AvgPool2d(kernel_size=np.array(kernel), stride=np.array(stride), padding=np.array([0, 0]))


def _flatten(flat: nn.Module, in_shape: Shape, norm: nn.Module | None = None) -> nir.NIRNode:
    # NIR shapes have no batch axis: torch's dim d >= 1 is NIR's d - 1; negative dims are the same.
    start, end = (d - 1 if d > 0 else d for d in (flat.start_dim, flat.end_dim))
    return nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=start, end_dim=end)


#: torch layer type -> ``(layer, input shape, folded batch norm or None) -> NIR node``.
LAYERS: dict[type[nn.Module], Callable[[nn.Module, Shape, nn.Module | None], nir.NIRNode]] = {
    nn.Conv2d: _conv,
    nn.Linear: _linear,
    nn.AvgPool2d: _avg_pool,
    nn.Flatten: _flatten,
}


def _layer_problems(layer: nn.Module) -> list[str]:
    """Why a supported torch layer type still has no exact NIR node in this configuration."""
    problems = []
    if isinstance(layer, nn.Conv2d):
        if layer.padding_mode != "zeros":
            problems.append(f"padding_mode={layer.padding_mode!r}: NIR pads with zeros; use padding_mode='zeros'")
        if isinstance(layer.padding, str):
            problems.append(f"padding={layer.padding!r}: give the padding in pixels (NIR has no 'same')")
    if isinstance(layer, nn.AvgPool2d):
        if np.any(np.asarray(layer.padding) != 0) or layer.ceil_mode or layer.divisor_override:
            problems.append("AvgPool2d with padding, ceil_mode or divisor_override: NIR's AvgPool2d is the plain "
                            "average of each window; use padding=0, ceil_mode=False")
    if isinstance(layer, nn.Flatten) and layer.start_dim == 0:
        problems.append("Flatten(start_dim=0) merges the batch axis; use nn.Flatten() (start_dim=1)")
    return problems


_REASONS = {
    nn.MaxPool2d: "max-pool has no NIR node; use nn.AvgPool2d",
    nn.MaxPool1d: "max-pool has no NIR node; use nn.AvgPool2d",
    nn.ReLU: "a non-spiking activation has no NIR node here; use an snnTorch neuron",
}


@dataclass
class _Node:
    """A unit on its way to a NIR node: its producer and, for a weighted node, what is folded into it."""

    call: Call
    source: str
    norm: nn.Module | None = None
    extra_bias: list[np.ndarray] = field(default_factory=list)
    readers: list[str] = field(default_factory=list)


def _problems(calls: list[Call]) -> list[str]:
    lines = []
    for call in calls:
        unit, kind = call.module, type(call.module)
        if isinstance(unit, snn.SpikingNeuron):  # neuron_problems refuses all but the exact NEURONS types
            found = neuron_problems(unit)
        elif kind in LAYERS:
            found = _layer_problems(unit)
        elif isinstance(unit, _PASS_THROUGH + _NORMS):
            found = []
        else:
            found = [_REASONS.get(kind, f"{kind.__name__} is not supported (Conv2d, Linear, AvgPool2d, Flatten, "
                                        "Identity, BatchNorm, snn.Leaky, snn.Synaptic, snn.RLeaky are)")]
        lines += [f"{call.path} ({kind.__name__}): {p}" for p in found]
    return lines


def _fold_error(path: str, module: nn.Module, what: str) -> ConfigError:
    return ConfigError(f"{path} ({type(module).__name__}): {what}")


def _resolve(calls: list[Call]) -> tuple[dict[str, _Node], dict[str, str]]:
    """Skip pass-through units, fold each batch norm into its layer and each recurrent bias into the layer
    feeding the neuron. Returns the remaining units by path (call order) and, for every traced path,
    the unit whose output it carries."""
    nodes: dict[str, _Node] = {}
    alias: dict[str, str] = {INPUT: INPUT}
    for call in calls:
        source = alias[call.source]
        owner = nodes.get(source)
        if owner is not None and owner.norm is not None and call.source == source:
            raise _fold_error(call.path, call.module, f"reads {source} before its batch norm, which is folded into "
                                                      f"{source}; read the batch norm's output")
        if isinstance(call.module, _PASS_THROUGH):
            alias[call.path] = source
            continue
        if isinstance(call.module, _NORMS):
            if owner is None or not isinstance(owner.call.module, (nn.Conv2d, nn.Linear)) or owner.readers \
                    or owner.norm is not None:
                raise _fold_error(call.path, call.module, "a batch norm is folded into the Conv2d or Linear directly "
                                                          "before it, read by nothing else; move it there")
            if call.module.running_mean is None:
                raise _fold_error(call.path, call.module, "a batch norm without running statistics cannot be folded; "
                                                          "build it with track_running_stats=True")
            owner.norm = call.module
            alias[call.path] = source
            continue
        if owner is not None:
            owner.readers.append(call.path)
        nodes[call.path] = _Node(call, source)
        alias[call.path] = call.path
        bias = recurrent_bias(call.module, call.out_shape) if hasattr(call.module, "recurrent") else None
        if bias is not None and np.any(bias != 0):
            if owner is None or not isinstance(owner.call.module, (nn.Conv2d, nn.Linear)):
                raise _fold_error(call.path, call.module, "its recurrent layer's bias reaches the membrane at every "
                                  "step and is exported into the Conv2d/Linear feeding it; put one there or build "
                                  "the recurrent layer with bias=False")
            owner.extra_bias.append(bias)
    for path, node in nodes.items():
        if node.extra_bias and len(node.readers) != 1:
            raise _fold_error(path, node.call.module, f"feeds {node.readers}, but the recurrent bias of "
                              f"{node.readers[0]} is folded into it; give that neuron a layer of its own")
    return nodes, alias


def _weighted(node: _Node) -> nir.NIRNode:
    call = node.call
    converted = LAYERS[type(call.module)](call.module, call.in_shape, node.norm)
    if not node.extra_bias:
        return converted
    extra = sum(node.extra_bias)
    if isinstance(converted, nir.Linear):
        converted = nir.Affine(weight=converted.weight, bias=np.zeros(converted.weight.shape[0], converted.weight.dtype))
    if isinstance(converted, nir.Conv2d):
        per_channel = extra.reshape(extra.shape[0], -1)
        if not np.all(per_channel == per_channel[:, :1]):
            raise ConfigError(f"{call.path}: the recurrent bias is not one value per channel; use a recurrent Conv2d")
        extra = per_channel[:, 0]
    converted.bias = (converted.bias.astype(np.float64) + extra).astype(converted.bias.dtype)
    return converted


def snntorch_to_nir(module: nn.Module, sample: Tensor, dt: float = DEFAULT_DT, *, T: int | None = None) -> nir.NIRGraph:
    """The NIR graph of ``module``, an snnTorch network stepped one frame at a time.

    Args:
        module: ``nn.Sequential`` (or a module whose ``forward`` calls each layer once per step)
            of the supported layers (module docstring); snnTorch neurons with ``init_hidden=True``.
        sample: one step's input ``[B, ...]`` (e.g. ``[1, C, H, W]``); only its shape matters.
        dt: the step in seconds (``metadata["dt"]``); ``τ = dt/(1−β)``.
        T: time steps per sample to record in ``metadata["T"]`` (optional).

    Returns:
        A type-checked ``nir.NIRGraph``; ``metadata["snntorch"]`` names the source model, its snnTorch
        version and input shape (not ``metadata["spikinghash"]``, which marks our own hash models).

    Raises:
        ConfigError: listing every module that has no exact NIR form, each with its fix.
    """
    if not dt > 0:
        raise ConfigError(f"dt={dt}: give a time step dt > 0 seconds")
    if sample.dim() < 2:
        raise ConfigError(f"sample of shape {list(sample.shape)}: give one step's input with a batch axis, [B, ...]")
    traced = trace(module, sample)
    problems = _problems(traced.calls)
    if problems:
        raise ConfigError(f"{type(module).__name__} has no exact NIR form ({len(problems)} module(s)):\n  "
                          + "\n  ".join(problems))
    units, alias = _resolve(traced.calls)
    in_shape = tuple(int(s) for s in sample.shape[1:])
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type={"input": np.array(in_shape)})}
    edges: list[tuple[str, str]] = []
    names = {INPUT: "input"}
    for path, unit in units.items():
        name = path if path not in ("input", "output") else f"{path}_"
        names[path] = name
        kind = type(unit.call.module)
        nodes[name] = (NEURONS[kind](unit.call.module, unit.call.out_shape, dt) if kind in NEURONS else _weighted(unit))
        edges.append((names[unit.source], name))
    last = alias[traced.output]
    out_shape = next(c.out_shape for c in traced.calls if c.path == traced.output)
    nodes["output"] = nir.Output(output_type={"output": np.array(out_shape)})
    edges.append((names[last], "output"))
    # Not under "spikinghash": that key marks our own hash models (their Eq. 18 readout).
    metadata: dict[str, Any] = {
        "dt": float(dt),
        "snntorch": {"model": type(module).__name__, "version": importlib.metadata.version("snntorch"),
                     "input": "frames", "input_shape": list(in_shape)},
    }
    if T is not None:
        metadata["T"] = int(T)
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)
    type_check(graph)
    return graph
