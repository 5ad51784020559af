"""Static analysis of an exported ONNX graph for energy counting (no run yet).

It finds, from the graph alone:

- neuron scopes: the module scope (node name up to its last ``/``) of every comparison of
  a data tensor with a constant (the LIF's ``H > v_th``); all nodes of such a scope are the
  neuron's update, reported separately, never as synaptic operations;
- spike-origin tensors: comparison outputs of a neuron scope, and what layout-only ops
  (Cast, Reshape, Transpose, Concat, Slice, MaxPool, ...) make of them. A tensor counts as
  spikes only if it has this origin AND its measured values are all 0 or 1 (``onnx_count``):
  values alone would call a tensor that is all zero by construction "spikes at rate 0";
- input-origin tensors: the graph's input and what layout-only ops make of it; a counted node
  whose data operands all have this origin is a "first layer", priced by the input kind;
- the counted nodes (:data:`COUNTED`) on the way from the input to ``code``/``mem``
  (the training-only classifier feeding ``logits`` alone is left out).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import onnx

COMPARE = {"Greater", "Less", "GreaterOrEqual", "LessOrEqual"}
#: Ops that move or select values without computing: spikes stay spikes through them.
LAYOUT = {"Cast", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Concat", "Slice", "Gather", "Flatten",
          "Identity", "MaxPool", "Split", "Expand", "Tile"}
#: Op types that cost operations (the rules are in ``onnx_count.RULES``).
COUNTED = {"Conv", "MatMul", "Gemm", "Mul", "Div", "Add", "Sub", "Sum", "ReduceMean", "ReduceSum"}
#: Not counted by convention: batch norm is folded into the layer before it (docs/energy.md).
FOLDED = {"BatchNormalization"}
#: Outputs the energy counts reach; ``logits`` belongs to the training-only classifier.
ENDPOINTS = ("code", "mem")


def scope(node: onnx.NodeProto) -> str:
    return node.name.rsplit("/", 1)[0] if "/" in node.name else ""


@dataclass
class GraphPlan:
    """What to measure: counted nodes, their data (non-constant) inputs, neuron comparisons."""

    input_name: str
    steps: int
    counted: list[onnx.NodeProto] = field(default_factory=list)
    data_inputs: dict[str, list[str]] = field(default_factory=dict)  # node name -> its data inputs
    neuron_spikes: dict[str, list[str]] = field(default_factory=dict)  # neuron scope -> comparison outputs
    spike_origin: set[str] = field(default_factory=set)
    input_origin: set[str] = field(default_factory=set)
    constants: set[str] = field(default_factory=set)
    initializer_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # op type -> nodes neither counted nor layout

    def exposed(self) -> list[str]:
        """Tensors to read at run time: inputs and outputs of counted nodes, neuron comparison outputs."""
        names: list[str] = []
        for node in self.counted:
            names += self.data_inputs[node.name] + [node.output[0]]
            if node.op_type == "Conv" and node.input[1] not in self.initializer_shapes:
                names.append(node.input[1])  # a weight computed from constants: its shape is read at run time
        names += [t for ts in self.neuron_spikes.values() for t in ts]
        return list(dict.fromkeys(names))


def analyse(model: onnx.ModelProto, steps: int) -> GraphPlan:
    """Build the :class:`GraphPlan` of an exported graph unrolled over ``steps`` time steps."""
    g = model.graph
    plan = GraphPlan(g.input[0].name, steps)
    plan.input_origin.add(plan.input_name)
    plan.initializer_shapes = {i.name: tuple(i.dims) for i in g.initializer}
    const = set(plan.initializer_shapes)
    for node in g.node:  # topological order (ONNX requires it)
        if node.op_type in ("Constant", "Shape", "Size") or all(i in const for i in node.input if i):
            const.update(node.output)
    plan.constants = const
    useful = set(ENDPOINTS)
    for node in reversed(g.node):
        if any(o in useful for o in node.output):
            useful.update(i for i in node.input if i)
    neuron_scopes: set[str] = set()
    for node in g.node:
        data = [i for i in node.input if i and i not in const]
        if node.op_type in COMPARE and len(data) == 1 and scope(node):
            neuron_scopes.add(scope(node))
            plan.neuron_spikes.setdefault(scope(node), []).append(node.output[0])
            plan.spike_origin.add(node.output[0])
    for node in g.node:
        data = [i for i in node.input if i and i not in const]
        if not data or not any(o in useful for o in node.output) or all(o in const for o in node.output):
            continue  # constant, unused, or shape arithmetic (Shape/Size of a data tensor)
        if node.op_type in LAYOUT:
            for origin in (plan.spike_origin, plan.input_origin):
                if all(i in origin for i in data):
                    origin.update(node.output)
            continue
        if scope(node) in neuron_scopes:
            continue
        if node.op_type in COUNTED:
            plan.counted.append(node)
            plan.data_inputs[node.name] = data
        elif node.op_type not in FOLDED:
            plan.skipped[node.op_type] = plan.skipped.get(node.op_type, 0) + 1
    return plan
