"""Parsing of canonical NIR graphs: paths, lags and Lava delays derived by hand; non-canonical graphs rejected
with a ConfigError that names the offending node."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.frontend.read import load


def test_rich_graph_paths_lags_and_lava_delays(graphs) -> None:
    net = parse(graphs.rich(0))
    # depth: n1 = 1 synapse from the input, n2 = 2, n3 = 3 (via sc), n4 = 4 (via a1)
    assert net.lags == {"in": 0, "n1": 1, "n2": 2, "n3": 3, "n4": 4}
    assert list(net.neurons) == ["n1", "n2", "n3", "n4"] and net.output == "n4"
    delays = {p.key: net.lava_delay(p) for p in net.all_paths()}
    # c3 comes from the input (lag 0) into n3 (lag 3) through a Delay of 1: 3 - 0 - 1 + 1 = 3;
    # lin comes from n2 (lag 2) into n4 (lag 4): 4 - 2 - 1 = 1
    assert delays == {"c1->n1": 0, "c2->n2": 0, "pool->n2": 0, "sc->n3": 0, "c3->n3": 3, "a1->n4": 0,
                      "lin->n4": 1}
    paths = {p.key: p for p in net.all_paths()}
    assert paths["c3->n3"].delay == 1 and paths["c3->n3"].source == "in"
    assert paths["a1->n4"].flatten and not paths["c2->n2"].flatten
    assert net.synapses["pool->n2"].out_shape == (4, 3, 3) and net.synapses["a1->n4"].in_shape == (36,)
    assert net.delayed_sources() == set()  # the only Delay starts at the input
    assert parse(graphs.neuron_delay(0)).delayed_sources() == {"n1"}


def test_neuron_parameters_follow_the_euler_discretisation(graphs) -> None:
    net = parse(graphs.rich(0))
    n2, n3 = net.neurons["n2"], net.neurons["n3"]
    np.testing.assert_allclose(n2.decay, 1 - 1 / 3)  # tau = 3 dt
    np.testing.assert_allclose(n2.gain, 1 / 3)
    np.testing.assert_allclose(n3.decay, 1.0)  # IF: no leak
    np.testing.assert_allclose(n3.gain, 0.5)  # IF: gain r


def test_file_round_trip(graphs, tmp_path) -> None:
    path = tmp_path / "net.nir"
    nir.write(path, graphs.rich(3))
    net, ref = load(path), parse(graphs.rich(3))
    assert net.lags == ref.lags and net.dt == pytest.approx(1e-3)
    for key, syn in ref.synapses.items():
        np.testing.assert_array_equal(net.synapses[key].weight, syn.weight)
    with pytest.raises(DataError, match="not found"):
        load(tmp_path / "missing.nir")


def _edit(graph: nir.NIRGraph, nodes: dict | None = None, add: list | None = None,
          remove: list | None = None) -> nir.NIRGraph:
    new_nodes = {**graph.nodes, **(nodes or {})}
    new_edges = [e for e in graph.edges if e not in (remove or [])] + (add or [])
    return nir.NIRGraph(nodes=new_nodes, edges=new_edges, metadata=graph.metadata, type_check=False)


def _bad_graph(g, case: str) -> tuple[nir.NIRGraph, str]:
    base, sh = g.chain(), (3,)
    cases = {
        "unsupported node": lambda: (_edit(base, {"n1": nir.Conv1d(
            input_shape=3, weight=np.ones((1, 1, 1)), stride=1, padding=0, dilation=1, groups=1,
            bias=np.zeros(1))}), "n1"),
        "two weighted nodes": lambda: (_edit(base, {"extra": nir.Affine(weight=np.eye(3), bias=np.zeros(3))},
                                             [("a0", "extra"), ("extra", "n1")], [("a0", "n1")]), "a0"),
        "neuron into neuron": lambda: (_edit(base, {"n1b": g.lif(sh)}, [("n1", "n1b"), ("n1b", "a1")],
                                       [("n1", "a1")]), "n1"),
        "nonzero reset": lambda: (_edit(base, {"n1": nir.LIF(
            tau=np.full(sh, 2e-3), r=np.ones(sh), v_leak=np.zeros(sh), v_threshold=np.ones(sh),
            v_reset=np.full(sh, 0.1))}), "n1"),
        "output from weighted node": lambda: (_edit(base, {"a2": nir.Affine(weight=np.ones((2, 2)), bias=np.zeros(2))},
                                                    [("n2", "a2"), ("a2", "out")], [("n2", "out")]), "out"),
        "cycle": lambda: (_edit(base, {"back": nir.Affine(weight=np.ones((3, 2)), bias=np.zeros(3))},
                                [("n2", "back"), ("back", "n1")]), "n1"),
        "delay not a multiple of dt": lambda: (_edit(base, {"d": nir.Delay(delay=np.full(4, 1.5e-3))},
                                                     [("in", "d"), ("d", "a0")], [("in", "a0")]), "d"),
        "dangling node": lambda: (_edit(base, {"spare": g.flatten((3,))}, [("n1", "spare")]), "spare"),
    }
    return cases[case]()


@pytest.mark.parametrize("case", ["unsupported node", "two weighted nodes", "neuron into neuron", "nonzero reset",
                                  "output from weighted node", "cycle", "delay not a multiple of dt",
                                  "dangling node"])
def test_non_canonical_graphs_name_the_node(graphs, case: str) -> None:
    graph, node = _bad_graph(graphs, case)
    with pytest.raises(ConfigError, match=f"'{node}'"):
        parse(graph)


def test_shape_errors_name_the_node(graphs) -> None:
    rng = np.random.default_rng(0)
    nodes = {"in": nir.Input(input_type={"input": np.array([2, 4, 4])}), "a": graphs.affine(rng, 32, 3),
             "n": graphs.lif((3,)), "out": nir.Output(output_type={"output": np.array([3])})}
    no_flatten = nir.NIRGraph(nodes=nodes, edges=[("in", "a"), ("a", "n"), ("n", "out")], type_check=False)
    with pytest.raises(ConfigError, match="'a'.*Flatten"):
        parse(no_flatten)
    nodes = {"in": nir.Input(input_type={"input": np.array([2, 4, 4])}), "s": nir.Scale(scale=np.ones((2, 1, 1))),
             "n": graphs.lif((2, 4, 4)), "out": nir.Output(output_type={"output": np.array([2, 4, 4])})}
    broadcast = nir.NIRGraph(nodes=nodes, edges=[("in", "s"), ("s", "n"), ("n", "out")], type_check=False)
    with pytest.raises(ConfigError, match="'s'.*full per-element"):
        parse(broadcast)


def test_lava_delay_beyond_63_steps_is_rejected(graphs) -> None:
    g = graphs.chain()
    g.nodes["d"] = nir.Delay(delay=np.full(4, 64e-3))
    g.edges.remove(("in", "a0"))
    g.edges += [("in", "d"), ("d", "a0")]
    with pytest.raises(ConfigError, match="'a0'.*63"):
        parse(g)
