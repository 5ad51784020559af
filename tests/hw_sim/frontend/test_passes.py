"""Lowering of standard NIR graphs: each composed weighted node against the original chain computed node by node
with torch's own operators (independent of hw_sim's matrices), nested graphs, and every refusal's message."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikinghash.errors import ConfigError
from spikinghash.hw_sim import nir_examples
from spikinghash.hw_sim.frontend.passes import lower
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.target.quantize import quantize

DT = 1e-3


def _lif(shape, tau=2e-3, vth=1.0, **kw) -> nir.LIF:
    return nir.LIF(tau=np.full(shape, tau), r=np.ones(shape), v_leak=np.zeros(shape), v_threshold=np.full(shape, vth),
                   **{"v_reset": np.zeros(shape), **kw})


def _chain_graph(in_shape, chain: dict, out_shape, metadata=None) -> nir.NIRGraph:
    nodes = {"in": nir.Input(input_type={"input": np.array(in_shape)}), **chain, "n": _lif(out_shape),
             "out": nir.Output(output_type={"output": np.array(out_shape)})}
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:])), metadata=metadata or {"dt": DT},
                        type_check=False)


def _torch_chain(chain: dict, x: torch.Tensor) -> torch.Tensor:
    """The chain node by node with torch's operators (the oracle)."""
    for node in chain.values():
        if isinstance(node, nir.Conv2d):
            x = F.conv2d(x, torch.as_tensor(node.weight), torch.as_tensor(node.bias), stride=tuple(node.stride),
                         padding=tuple(node.padding), dilation=tuple(node.dilation), groups=node.groups)
        elif isinstance(node, nir.SumPool2d):
            k = tuple(int(v) for v in node.kernel_size)
            x = F.avg_pool2d(x, k, tuple(int(v) for v in node.stride), tuple(int(v) for v in node.padding)) * np.prod(k)
        elif isinstance(node, nir.AvgPool2d):
            x = F.avg_pool2d(x, tuple(int(v) for v in node.kernel_size), tuple(int(v) for v in node.stride),
                             tuple(int(v) for v in node.padding))
        elif isinstance(node, nir.Flatten):
            x = x.reshape(x.shape[0], -1)
        elif isinstance(node, nir.Affine):
            x = x @ torch.as_tensor(node.weight).T + torch.as_tensor(node.bias)
        elif isinstance(node, nir.Linear):
            x = x @ torch.as_tensor(node.weight).T
        elif isinstance(node, nir.Scale):
            x = x * torch.as_tensor(node.scale)
    return x


def _conv(rng, cin, cout, hw, k=3, stride=1, pad=1, dilation=1, groups=1, bias=True) -> nir.Conv2d:
    return nir.Conv2d(input_shape=hw, weight=rng.normal(0, 1, (cout, cin // groups, k, k)), stride=stride,
                      padding=pad, dilation=dilation, groups=groups, bias=rng.normal(0, 1, cout) if bias else np.zeros(cout))


def _pool(kind, k=2, s=2, p=0):
    return kind(kernel_size=np.array([k, k]), stride=np.array([s, s]), padding=np.array([p, p]))


CHAINS = {
    "sumpool->conv": lambda r: ((4, 8, 8), {"p": _pool(nir.SumPool2d), "c": _conv(r, 4, 3, (4, 4))}, (3, 4, 4)),
    "avgpool->conv": lambda r: ((4, 8, 8), {"p": _pool(nir.AvgPool2d), "c": _conv(r, 4, 3, (4, 4))}, (3, 4, 4)),
    "avgpool alone": lambda r: ((3, 6, 6), {"p": _pool(nir.AvgPool2d, 3, 3)}, (3, 2, 2)),
    "conv->conv (stride, dilation, groups)": lambda r: (
        (4, 11, 11), {"c1": _conv(r, 4, 6, (11, 11), stride=2, pad=0, dilation=2, groups=2, bias=False),
                      "c2": _conv(r, 6, 5, (4, 4), k=2, stride=1, pad=0)}, (5, 3, 3)),
    "conv->sumpool->conv": lambda r: (
        (2, 8, 8), {"c1": _conv(r, 2, 4, (8, 8), pad=0, bias=False), "p": _pool(nir.SumPool2d),
                    "c2": _conv(r, 4, 3, (3, 3), pad=0)}, (3, 1, 1)),
    "per-channel scale->conv": lambda r: (
        (3, 5, 5), {"s": nir.Scale(scale=np.repeat(r.uniform(0.5, 2, (3, 1, 1)), 25).reshape(3, 5, 5)),
                    "c": _conv(r, 3, 2, (5, 5))}, (2, 5, 5)),
    "sumpool->flatten->affine": lambda r: (
        (8, 8, 8), {"p": _pool(nir.SumPool2d), "f": nir.Flatten(input_type={"input": np.array([8, 4, 4])}),
                    "a": nir.Affine(weight=r.normal(0, 1, (6, 128)), bias=r.normal(0, 1, 6))}, (6,)),
    "affine->scale->linear": lambda r: (
        (7,), {"a": nir.Affine(weight=r.normal(0, 1, (9, 7)), bias=r.normal(0, 1, 9)),
               "s": nir.Scale(scale=r.uniform(0.5, 2, 9)), "l": nir.Linear(weight=r.normal(0, 1, (4, 9)))}, (4,)),
}


@pytest.mark.parametrize("case", list(CHAINS))
def test_a_composed_chain_is_the_chain_node_by_node(case: str) -> None:
    rng = np.random.default_rng(len(case))
    in_shape, chain, out_shape = CHAINS[case](rng)
    net = load(_chain_graph(in_shape, chain, out_shape))
    (path,) = net.paths["n"]
    x = torch.as_tensor(rng.normal(0, 1, (5, *in_shape)))
    got = net.synapses[path.key].float_forward(x.reshape(5, -1) if path.flatten else x)
    expected = _torch_chain(chain, x.clone())
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-9, atol=1e-9)
    if case != "avgpool alone":
        assert path.synapse == "+".join(n for n, v in chain.items() if not isinstance(v, nir.Flatten))


def test_fan_in_through_a_shared_biased_node_counts_its_bias_once() -> None:
    rng = np.random.default_rng(3)
    nodes = {"in": nir.Input(input_type={"input": np.array([4])}),
             "a": nir.Affine(weight=rng.normal(0, 1, (5, 4)), bias=rng.normal(0, 1, 5)), "n1": _lif((5,)),
             "b": nir.Affine(weight=rng.normal(0, 1, (5, 5)), bias=rng.normal(0, 1, 5)),
             "c": nir.Affine(weight=rng.normal(0, 1, (3, 5)), bias=rng.normal(0, 1, 3)), "n2": _lif((3,)),
             "out": nir.Output(output_type={"output": np.array([3])})}
    edges = [("in", "a"), ("a", "n1"), ("n1", "b"), ("a", "b"), ("b", "c"), ("c", "n2"), ("n2", "out")]
    net = load(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT}, type_check=False))
    assert sorted(p.source for p in net.paths["n2"]) == ["in", "n1"]
    x, s = torch.as_tensor(rng.normal(0, 1, (2, 4))), torch.as_tensor(rng.integers(0, 2, (2, 5)).astype(float))
    got = sum(net.synapses[p.key].float_forward(x if p.source == "in" else s) for p in net.paths["n2"])
    w = {k: torch.as_tensor(nodes[k].weight) for k in "abc"}
    bias = {k: torch.as_tensor(nodes[k].bias) for k in "abc"}
    expected = ((x @ w["a"].T + bias["a"] + s) @ w["b"].T + bias["b"]) @ w["c"].T + bias["c"]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-9, atol=1e-9)


def test_the_nir_papers_cnn_lowers_to_five_canonical_paths() -> None:
    net = load(nir_examples.nmnist_cnn())
    assert list(net.neurons) == ["1", "3", "6", "10", "12"]
    assert {p.key: p.source for p in net.all_paths()} == {
        "0->1": "input", "2->3": "1", "4+5->6": "3", "7+9->10": "6", "11->12": "10"}
    assert net.synapses["4+5->6"].geometry().weight_shape == (8, 16, 6, 6)  # pool 2 then conv 3: kernel 6, stride 2
    assert net.synapses["7+9->10"].weight.shape == (128, 512)
    assert net.metadata["dt_default"] is True and net.dt == pytest.approx(1e-3)
    assert net.metadata["lowering"]["composed"] == {"4+5": "3 → 4 → 5 → 6", "7+9": "6 → 7 → 8 → 9 → 10"}


def test_nested_subgraph_is_flattened_with_its_recurrent_edge() -> None:
    net = load(nir_examples.braille_rnn())
    assert list(net.neurons) == ["rsyn.lif", "lif2"]
    rec = [p for p in net.paths["rsyn.lif"] if p.recurrent]
    assert [(p.synapse, p.delay, net.lava_delay(p)) for p in rec] == [("rsyn.w_rec", 1, 0)]
    assert net.lags == {"input": 0, "rsyn.lif": 1, "lif2": 2} and net.metadata["dt_default"] is False


def test_a_neuron_feeding_a_neuron_gets_an_identity_scale() -> None:
    nodes = {"in": nir.Input(input_type={"input": np.array([3])}), "a": nir.Linear(weight=np.eye(3)),
             "n1": _lif((3,)), "n2": _lif((3,)), "out": nir.Output(output_type={"output": np.array([3])})}
    g = nir.NIRGraph(nodes=nodes, edges=[("in", "a"), ("a", "n1"), ("n1", "n2"), ("n2", "out")],
                     metadata={"dt": DT}, type_check=False)
    (path,) = load(g).paths["n2"]
    assert path.source == "n1" and np.array_equal(load(g).synapses[path.key].weight, np.ones(3))


def _base(rng) -> dict:
    return {"in": nir.Input(input_type={"input": np.array([4])}),
            "a": nir.Linear(weight=rng.normal(0, 1, (3, 4))), "n1": _lif((3,)),
            "b": nir.Linear(weight=rng.normal(0, 1, (2, 3))), "n2": _lif((2,)),
            "out": nir.Output(output_type={"output": np.array([2])})}


def _graph(nodes: dict, edges: list, dt: float | None = DT) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={} if dt is None else {"dt": dt}, type_check=False)


CHAIN_EDGES = [("in", "a"), ("a", "n1"), ("n1", "b"), ("b", "n2"), ("n2", "out")]


def _refusal(case: str) -> tuple[nir.NIRGraph, str]:
    rng = np.random.default_rng(0)
    nodes, edges = _base(rng), list(CHAIN_EDGES)
    if case == "Conv1d":
        nodes["a"] = nir.Conv1d(input_shape=4, weight=np.ones((3, 1, 2)), stride=1, padding=0, dilation=1, groups=1,
                                bias=np.zeros(3))
        return _graph(nodes, edges), r"node 'a' \(Conv1d\): 1-D convolutions .*supported|Conv2d of kernel \(1, k\)"
    if case == "v_reset":
        nodes["n1"] = _lif((3,), v_reset=np.full(3, 0.2))
        return _graph(nodes, edges), r"node 'n1' \(LIF\): v_reset=\[0.2\] is not supported.*only v_reset = 0"
    if case == "tau below dt":
        nodes["n1"] = _lif((3,), tau=0.5e-3)
        return _graph(nodes, edges), r"node 'n1' \(LIF\): tau < dt=0.001 s .*supported: tau >= dt"
    if case == "two-layer cycle":
        nodes["back"] = nir.Linear(weight=np.ones((3, 2)))
        return _graph(nodes, edges + [("n2", "back"), ("back", "n1")]), \
            r"\['n1', 'n2'\] form a recurrent cycle through more than one layer.*supported: a layer feeding itself"
    if case == "output behind a weighted node":
        nodes["c"] = nir.Linear(weight=np.ones((2, 2)))
        edges = edges[:-1] + [("n2", "c"), ("c", "out")]
        return _graph(nodes, edges), r"node 'out' \(Output\): is fed through 'c' \(Linear\).*supported: Output fed"
    if case == "bias into CubaLIF":
        nodes["b"] = nir.Affine(weight=np.ones((2, 3)), bias=np.full(2, 0.1))
        nodes["n2"] = nir.CubaLIF(tau_syn=np.full(2, 5e-3), tau_mem=np.full(2, 5e-3), r=np.ones(2),
                                  v_leak=np.zeros(2), v_threshold=np.ones(2))
        return _graph(nodes, edges), r"node 'n2' \(CubaLIF\): a weighted node's bias .*supported: zero biases"
    if case == "delay not a multiple of dt":
        nodes["d"] = nir.Delay(delay=np.full(3, 1.5e-3))
        edges = [e for e in edges if e != ("n1", "b")] + [("n1", "d"), ("d", "b")]
        return _graph(nodes, edges), r"node 'd' \(Delay\): delay \[0.0015\] s is not one non-negative multiple"
    if case == "bias before a delay":
        nodes["a0"] = nir.Affine(weight=np.eye(4), bias=np.ones(4))
        nodes["d"] = nir.Delay(delay=np.full(4, 2e-3))
        edges = [e for e in edges if e != ("in", "a")] + [("in", "a0"), ("a0", "d"), ("d", "a")]
        return _graph(nodes, edges), r"chain in → a0 → d → a → n1: a bias before Delay 'd' would be delayed"
    if case == "per-position scale between convolutions":
        nodes = {"in": nir.Input(input_type={"input": np.array([2, 4, 4])}),
                 "s": nir.Scale(scale=rng.uniform(0.5, 2, (2, 4, 4))),
                 "c": nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 2, 3, 3)), stride=1, padding=1, dilation=1,
                                 groups=1, bias=np.zeros(2)),
                 "n1": _lif((2, 4, 4)), "out": nir.Output(output_type={"output": np.array([2, 4, 4])})}
        return _graph(nodes, [("in", "s"), ("s", "c"), ("c", "n1"), ("n1", "out")]), \
            r"chain in → s → c → n1: its composed map \[2, 4, 4\] -> \[2, 4, 4\] is neither one convolution"
    if case == "padded conv after a padded conv":  # the second one's zero padding is no padding of the input
        nodes = {"in": nir.Input(input_type={"input": np.array([2, 6, 6])}),
                 "c1": _conv(rng, 2, 3, (6, 6), bias=False), "c2": _conv(rng, 3, 2, (6, 6), bias=False),
                 "n1": _lif((2, 6, 6)), "out": nir.Output(output_type={"output": np.array([2, 6, 6])})}
        return _graph(nodes, [("in", "c1"), ("c1", "c2"), ("c2", "n1"), ("n1", "out")]), \
            r"chain in → c1 → c2 → n1: .* is neither one convolution \(borders checked exactly\)"
    if case == "biased conv before a padded conv":
        nodes = {"in": nir.Input(input_type={"input": np.array([2, 4, 4])}),
                 "c1": nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 2, 1, 1)), stride=1, padding=0,
                                  dilation=1, groups=1, bias=np.ones(2)),
                 "c2": nir.Conv2d(input_shape=(4, 4), weight=np.ones((2, 2, 3, 3)), stride=1, padding=1,
                                  dilation=1, groups=1, bias=np.zeros(2)),
                 "n1": _lif((2, 4, 4)), "out": nir.Output(output_type={"output": np.array([2, 4, 4])})}
        return _graph(nodes, [("in", "c1"), ("c1", "c2"), ("c2", "n1"), ("n1", "out")]), \
            r"chain in → c1 → c2 → n1: a bias before a padded convolution differs at the borders"
    if case == "nested graph with two inputs":
        sub = nir.NIRGraph(nodes={"i1": nir.Input(input_type={"input": np.array([3])}),
                                  "i2": nir.Input(input_type={"input": np.array([3])}), "n": _lif((3,)),
                                  "o": nir.Output(output_type={"output": np.array([3])})},
                           edges=[("i1", "n"), ("i2", "n"), ("n", "o")], type_check=False)
        nodes["n1"] = sub
        return _graph(nodes, edges), r"node 'n1' \(NIRGraph\): a nested graph with 2 Input and 1 Output"
    raise AssertionError(case)


REFUSALS = ["Conv1d", "v_reset", "tau below dt", "two-layer cycle", "output behind a weighted node",
            "bias into CubaLIF", "delay not a multiple of dt", "bias before a delay",
            "per-position scale between convolutions", "padded conv after a padded conv", "biased conv before a padded conv",
            "nested graph with two inputs"]


@pytest.mark.parametrize("case", REFUSALS)
def test_each_refusal_names_node_type_parameter_and_what_is_supported(case: str) -> None:
    graph, message = _refusal(case)
    with pytest.raises(ConfigError, match=message) as err:
        load(graph)
    assert "\n" not in str(err.value)


def test_thresholds_at_or_below_zero_are_refused_before_integer_simulation() -> None:
    nodes = _base(np.random.default_rng(1))
    nodes["n2"] = nir.Threshold(threshold=np.zeros(2))
    net = load(_graph(nodes, CHAIN_EDGES))
    with pytest.raises(ConfigError, match=r"node 'n2' \(Threshold\): v_threshold=0.0 must be positive.*supported"):
        quantize(net, np.ones((3, 2, 4)))


def test_lowering_keeps_a_canonical_graph_as_it_is(graphs) -> None:
    g = graphs.rich(1)
    lowered = lower(g)
    assert set(lowered.nodes) == set(g.nodes) and set(lowered.edges) == set(g.edges)
