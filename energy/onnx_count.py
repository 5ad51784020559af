"""Counting on an exported ONNX graph (any registered model), with firing rates measured by onnxruntime.

The graph is run on real frames with every tensor that feeds a counted node exposed as an
extra output (:mod:`.onnx_graph` picks them). Per counted node and over all batches:

- FLOPs from the actual tensor shapes, summed over batches and divided by the number of
  SAMPLES (never by T: tensors are ``[T, B, ...]`` or ``[T·B, ...]``); a node whose tensor
  carries the time axis runs ``T`` steps per sample, one after the time mean runs once;
- the rate of each spike operand: nonzero entries / entries over all batches, steps, samples.

Pricing: Eq. 26 per counted node (``docs/energy.md``), one :class:`~.layer_cost.LayerCost` each, through
the same functions as the NIR views (``layers.price_input_layer`` / ``layers.price_layer``):

============================  ===============================================================
the first layer               a multiply (below) whose data operands are all the graph's input
                              (through layout ops): by input kind (``layers.FIRST_LAYER``),
                              MACs once (static), MACs × T (event frames), ACs at the input's
                              rate (binary events): the one rule of the NIR graphs
Conv, MatMul, Gemm, Mul, Div  no spike operand: MACs at every step its tensor carries (× T
                              with the time axis, × 1 after the time mean): a real-valued
                              tensor holds new values at every step, the event-frames row of
                              the rule. One spike operand: ACs at its rate (Eq. 25). Two
                              spike operands (SSA's QKᵀ, spike gating): ACs at the measured
                              fraction of products whose two factors are both 1 (Spikingformer).
Add, Sub, Sum                 a constant operand: a bias, folded into its layer (not counted).
                              spike operands: ACs at their mean rate. Real operands: ACs, rate 1.
ReduceMean, ReduceSum         ACs over the input entries, at the input's rate (1 if real).
============================  ===============================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import onnx

from spikinghash.energy.input_profile import InputMeter, InputProfile
from spikinghash.energy.layer_cost import LayerCost, price_input_layer, price_layer
from spikinghash.energy.onnx_graph import GraphPlan, analyse
from spikinghash.errors import DataError

MULTIPLY = {"Conv", "MatMul", "Gemm", "Mul", "Div"}
REDUCE = {"ReduceMean", "ReduceSum"}


@dataclass
class _Acc:
    """Running sums of one counted node over batches."""

    flops: float = 0.0  # over all batches, all steps
    steps: int = 1
    numel: dict[str, float] = field(default_factory=dict)
    nnz: dict[str, float] = field(default_factory=dict)
    binary: dict[str, bool] = field(default_factory=dict)
    pairs: float = 0.0  # products with both spike factors 1


def _flops(node: onnx.NodeProto, vals: dict[str, np.ndarray], plan: GraphPlan) -> tuple[float, tuple[int, ...]]:
    """MACs of one batch and the shape that carries the time axis."""
    out = vals[node.output[0]]
    op = node.op_type
    if op == "Conv":
        w = plan.initializer_shapes.get(node.input[1]) or vals[node.input[1]].shape
        return float(out.size * int(np.prod(w[1:]))), out.shape
    if op == "MatMul":
        return float(out.size * vals[node.input[0]].shape[-1]), out.shape
    if op == "Gemm":
        a = vals[node.input[0]].shape
        trans = any(at.name == "transA" and at.i for at in node.attribute)
        return float(out.size * (a[0] if trans else a[1])), out.shape
    if op in REDUCE:
        x = vals[node.input[0]]
        return float(x.size), x.shape
    return float(out.size), out.shape


def _pair_count(node: onnx.NodeProto, a: np.ndarray, b: np.ndarray) -> float:
    """Products whose two factors are both nonzero (exact, from the measured tensors)."""
    a1, b1 = (a != 0).astype(np.float64), (b != 0).astype(np.float64)
    if node.op_type == "MatMul":
        return float((a1 @ b1).sum())
    return float((a1 * b1).sum())


def _time_steps(shape: tuple[int, ...], steps: int, batch: int) -> int:
    if shape and (shape[0] == steps * batch or (len(shape) > 1 and shape[:2] == (steps, batch))):
        return steps
    return 1


class OnnxCounter:
    """Accumulates measurements of one exported file over batches of frames ``[T, B, C, H, W]``."""

    def __init__(self, path: str | os.PathLike, steps: int, threads: int = 1) -> None:
        import onnxruntime as ort

        if not os.path.isfile(path):
            raise DataError(f"ONNX file {os.fspath(path)!r} not found; export it with `spikinghash export onnx`")
        model = onnx.load(os.fspath(path))
        self.plan = analyse(model, steps)
        known = {o.name for o in model.graph.output}
        for name in self.plan.exposed():
            if name not in known:
                model.graph.output.append(onnx.ValueInfoProto(name=name))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every tensor
        self._session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        self._names = self.plan.exposed()
        self.acc = {n.name: _Acc() for n in self.plan.counted}
        self.neurons = {s: [0.0, 0.0] for s in self.plan.neuron_spikes}  # scope -> [updates, spikes]
        self.meter = InputMeter()
        self.samples = 0

    def add(self, frames: np.ndarray) -> None:
        """Run one batch ``[T, B, C, H, W]`` and add its measurements."""
        x = np.asarray(frames, dtype=np.float32)
        batch = x.shape[1]
        self.meter.add(x)
        vals = dict(zip(self._names, self._session.run(self._names, {self.plan.input_name: x})))
        steps = self.plan.steps
        for node in self.plan.counted:
            acc = self.acc[node.name]
            flops, shape = _flops(node, vals, self.plan)
            acc.flops += flops
            acc.steps = _time_steps(shape, steps, batch)
            data = self.plan.data_inputs[node.name]
            for name in data:
                v = vals[name]
                acc.numel[name] = acc.numel.get(name, 0.0) + v.size
                acc.nnz[name] = acc.nnz.get(name, 0.0) + float(np.count_nonzero(v))
                is01 = bool(np.all((v == 0) | (v == 1)))
                acc.binary[name] = acc.binary.get(name, True) and is01
            if node.op_type in MULTIPLY and len(data) == 2:
                acc.pairs += _pair_count(node, vals[data[0]], vals[data[1]])
        for scope_name, outs in self.plan.neuron_spikes.items():
            for name in outs:
                self.neurons[scope_name][0] += vals[name].size
                self.neurons[scope_name][1] += float(np.count_nonzero(vals[name]))
        self.samples += batch

    def is_spike(self, node: str, tensor: str) -> bool:
        """Spikes = produced by a neuron's comparison (through layout ops) AND measured values all 0 or 1."""
        return (tensor in self.plan.spike_origin and self.acc[node].binary.get(tensor, False)
                and tensor != self.plan.input_name)

    def input_profile(self) -> InputProfile:
        """What the frames run so far carry (static, event frames or binary events)."""
        return self.meter.profile()

    def layers(self) -> list[LayerCost]:
        """One :class:`LayerCost` per counted node (bias additions left out), per sample (Eq. 26)."""
        if self.samples == 0:
            raise DataError("no frames were run through the ONNX graph; give at least one sample")
        kind = self.input_profile().kind
        out = []
        for node in self.plan.counted:
            acc, data = self.acc[node.name], self.plan.data_inputs[node.name]
            spikes = [t for t in data if self.is_spike(node.name, t)]
            rates = [acc.nnz[t] / acc.numel[t] for t in spikes]
            flops = acc.flops / self.samples / acc.steps  # one step of one sample
            has_const = len(data) < len([i for i in node.input if i])
            op = node.op_type
            tag = "spike×spike" if len(spikes) == 2 else "spike" if spikes else "real"
            if op in MULTIPLY and all(t in self.plan.input_origin for t in data):  # the first layer
                in_rate = sum(acc.nnz[t] for t in data) / sum(acc.numel[t] for t in data)
                out.append(price_input_layer(node.name, f"{op}(input)", flops, acc.steps, kind, in_rate))
                continue
            if op in MULTIPLY:
                if not spikes:
                    out.append(price_layer(node.name, f"{op}({tag})", flops, acc.steps, "mac"))
                    continue
                rate = acc.pairs / acc.flops if len(spikes) == 2 else rates[0]
            elif op in REDUCE:
                rate = rates[0] if spikes else 1.0
            else:  # additions
                if has_const and op in ("Add", "Sub"):
                    continue  # a bias: part of its layer
                rate = float(np.mean(rates)) if spikes else 1.0
            out.append(price_layer(node.name, f"{op}({tag})", flops, acc.steps, "ac", rate))
        return out

    def neuron_table(self) -> list[dict[str, Any]]:
        """Per neuron scope: neuron updates and spikes per sample, firing rate."""
        return [{"name": s, "updates_per_sample": u / self.samples, "spikes_per_sample": k / self.samples,
                 "firing_rate": k / u if u else 0.0} for s, (u, k) in self.neurons.items()]

    def mean_firing_rate(self) -> float:
        updates = sum(u for u, _ in self.neurons.values())
        return sum(k for _, k in self.neurons.values()) / updates if updates else 0.0


def count_onnx(path: str | os.PathLike, batches: Iterable[np.ndarray], steps: int) -> OnnxCounter:
    """Measure ``path`` on ``batches`` of frames ``[T, B, C, H, W]``; returns the filled counter."""
    counter = OnnxCounter(path, steps)
    for x in batches:
        counter.add(x)
    return counter
