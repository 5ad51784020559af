"""The registry of node kinds: every NIR node class mapped once, every stage dispatching through it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import nir
import numpy as np
import pytest

from spikinghash.hw_sim.kinds import KINDS, ROLES
from spikinghash.hw_sim.kinds.neurons import NeuronLayer
from spikinghash.hw_sim.kinds.synapses import Synapse

ROOT = Path(__file__).resolve().parents[3]


def _nir_node_classes() -> set[type]:
    return {obj for obj in vars(nir).values() if inspect.isclass(obj) and issubclass(obj, nir.NIRNode)
            and obj is not nir.NIRNode}


def test_every_nir_node_class_has_exactly_one_entry() -> None:
    from nir.ir.graph import Identity

    assert _nir_node_classes() | {Identity} == set(KINDS)
    assert all(kind.nir_type is t and kind.role in ROLES for t, kind in KINDS.items())


def test_entries_hold_what_their_role_needs() -> None:
    for kind in KINDS.values():
        if kind.role in ("synapse", "linear", "neuron", "delay"):
            assert kind.build is not None, kind.name
        if kind.role == "refused":
            assert kind.refused and "export" in kind.refused, kind.name  # the reason and the fix


def test_built_descriptions_carry_every_behaviour() -> None:
    """A synapse kind's description has its float step, fixed-point step, matrix, FLOPs and netx form."""
    conv = KINDS[nir.Conv2d].build(nir.Conv2d(input_shape=(4, 4), weight=np.ones((3, 2, 3, 3)), stride=1, padding=1,
                                              dilation=1, groups=1, bias=np.zeros(3)), "c", (2, 4, 4))
    assert isinstance(conv, Synapse) and conv.flops() == 3 * 4 * 4 * 2 * 9  # by hand: outputs × taps
    layer, why = conv.netx_layer(np.ones((3, 2, 3, 3), np.int64), 2)
    assert layer["type"] == "conv" and why == [] and int(layer["weight"].max()) == 4
    lif = KINDS[nir.LIF].build(nir.LIF(tau=np.full(2, 2e-3), r=np.ones(2), v_leak=np.zeros(2),
                                       v_threshold=np.ones(2), v_reset=np.zeros(2)), "n", 1e-3)
    assert isinstance(lif, NeuronLayer) and lif.kind == "LIF" and lif.voltage_decay_int() == 2048


def test_conv1d_is_refused_with_its_reason_before_anything_runs() -> None:
    from spikinghash.errors import ConfigError
    from spikinghash.hw_sim.frontend.read import load

    graph = nir.NIRGraph(nodes={
        "in": nir.Input(input_type={"input": np.array([2, 8])}),
        "c": nir.Conv1d(input_shape=8, weight=np.ones((3, 2, 3)), stride=1, padding=1, dilation=1, groups=1,
                        bias=np.zeros(3)),
        "n": nir.IF(r=np.ones((3, 8)), v_threshold=np.ones((3, 8))),
        "out": nir.Output(output_type={"output": np.array([3, 8])})},
        edges=[("in", "c"), ("c", "n"), ("n", "out")], type_check=False)
    with pytest.raises(ConfigError, match=r"'c' \(Conv1d\): 1-D convolutions have no Loihi layout"):
        load(graph)


def dispatches(source: str) -> list[str]:
    """``line nir.Kind`` for every ``isinstance(x, nir.Kind)`` and every dict keyed by a NIR class in ``source``
    (``nir.NIRGraph``, the graph type itself, aside)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = []
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" and len(node.args) == 2:
            targets = [node.args[1], *getattr(node.args[1], "elts", [])]
        elif isinstance(node, ast.Dict):
            targets = [k for k in node.keys if k is not None]
        found += [f"{node.lineno} nir.{t.attr}" for t in targets
                  if isinstance(t, ast.Attribute) and getattr(t.value, "id", None) == "nir" and t.attr != "NIRGraph"]
    return found


@pytest.mark.parametrize("package", ["hw_sim", "energy", "pipeline", "report"])
def test_no_stage_dispatches_on_nir_classes_itself(package: str) -> None:
    """``isinstance(x, nir.Kind)`` and tables keyed by NIR classes live in the registry (``hw_sim/kinds``) alone."""
    found = [f"{path.relative_to(ROOT)}:{hit}" for path in sorted((ROOT / package).rglob("*.py"))
             if not str(path.relative_to(ROOT)).startswith("hw_sim/kinds") for hit in dispatches(path.read_text())]
    assert found == []


def test_the_scan_sees_a_dispatch() -> None:
    source = "import nir\nx = isinstance(n, (nir.Affine, nir.LIF))\nT = {nir.IF: 1}\ny = isinstance(g, nir.NIRGraph)\n"
    assert dispatches(source) == ["2 nir.Affine", "2 nir.LIF", "3 nir.IF"]
