"""lava-dl netx as a second Lava front end: the HDF5 file we write, what netx's own loader builds from it,
the refusals, and (slow) netx runs on Lava fixed_pt compared spike for spike with the fast simulator and with
our own Lava build.

Independent sides: netx's ``hdf5.Network`` builds its Lava processes from the file by itself (we only read
their variables back), and the fast simulator is hw_sim's own batched integer code."""

from __future__ import annotations

import dataclasses

import h5py
import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.netx.write import fit_for_netx, netx_dense_effective, sequential_paths, write_netx
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.target.quantize import quantize


def dense_graph(graphs, seed: int) -> nir.NIRGraph:
    """in[2,3,3] -fl, a0-> n0[6] -a1-> n1[5] -a2-> n2[4] -> out (a Flatten right after the input)."""
    rng = np.random.default_rng(seed)
    nodes = {"in": nir.Input(input_type={"input": np.array([2, 3, 3])}), "fl": graphs.flatten((2, 3, 3)),
             "a0": graphs.affine(rng, 18, 6, std=0.8, bias=0.3), "n0": graphs.lif((6,)),
             "a1": graphs.affine(rng, 6, 5, std=1.0, bias=0.4), "n1": graphs.lif((5,), gamma=3.0),
             "a2": graphs.affine(rng, 5, 4, std=1.0, bias=0.4), "n2": graphs.if_neuron((4,), r=0.5),
             "out": nir.Output(output_type={"output": np.array([4])})}
    edges = [("in", "fl"), ("fl", "a0"), ("a0", "n0"), ("n0", "a1"), ("a1", "n1"), ("n1", "a2"), ("a2", "n2"),
             ("n2", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": graphs.dt}, type_check=False)


def conv_graph(graphs, seed: int) -> nir.NIRGraph:
    """in[2,6,6] -c1 conv 3x3-> n1[4,6,6] -c2 conv 3x3 s2-> n2[4,3,3] -fl, a-> n3[8] -> out."""
    rng = np.random.default_rng(seed)
    nodes = {"in": nir.Input(input_type={"input": np.array([2, 6, 6])}),
             "c1": graphs.conv(rng, 2, 4, (6, 6), std=0.5), "n1": graphs.lif((4, 6, 6)),
             "c2": graphs.conv(rng, 4, 4, (6, 6), stride=2, std=0.6), "n2": graphs.lif((4, 3, 3), gamma=3.0),
             "fl": graphs.flatten((4, 3, 3)), "a": graphs.affine(rng, 36, 8, std=0.4, bias=0.5),
             "n3": graphs.lif((8,), gamma=4.0, vth=0.5), "out": nir.Output(output_type={"output": np.array([8])})}
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "c2"), ("c2", "n2"), ("n2", "fl"), ("fl", "a"), ("a", "n3"),
             ("n3", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": graphs.dt}, type_check=False)


def cuba_graph(graphs, seed: int) -> nir.NIRGraph:
    """in[8] -a0-> n0[6] LIF -lin-> n1[5] CubaLIF (tau_syn = 4 dt: a real current decay, netx's iDecay)."""
    rng = np.random.default_rng(seed)
    shape = (5,)
    cuba = nir.CubaLIF(tau_syn=np.full(shape, 4 * graphs.dt), tau_mem=np.full(shape, 2 * graphs.dt),
                       r=np.ones(shape), v_leak=np.zeros(shape), v_threshold=np.full(shape, 0.3),
                       v_reset=np.zeros(shape), w_in=np.ones(shape))
    nodes = {"in": nir.Input(input_type={"input": np.array([8])}), "a0": graphs.affine(rng, 8, 6, std=0.8),
             "n0": graphs.lif((6,)), "lin": nir.Linear(weight=rng.normal(0.3, 0.8, (5, 6))), "n1": cuba,
             "out": nir.Output(output_type={"output": np.array([5])})}
    edges = [("in", "a0"), ("a0", "n0"), ("n0", "lin"), ("lin", "n1"), ("n1", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": graphs.dt}, type_check=False)


def dense_frames(steps: int, batch: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(1.5, (steps, batch, 2, 3, 3)).astype(np.float64)


def _netx_network(path, int_net):
    from lava.lib.dl.netx import hdf5

    from spikinghash.hw_sim.backends.lava.build import lava_shape

    return hdf5.Network(net_config=str(path), input_message_bits=int_net.input_bits,
                        input_shape=lava_shape(int_net.net.input_shape), reset_interval=5, reset_offset=1)


# -- the file and what netx builds from it (no Lava run) ------------------------------------------

def test_dense_file_loads_into_netx_with_our_parameters(graphs, tmp_path) -> None:
    from spikinghash.hw_sim.backends.netx.network import loaded_parameters

    x = dense_frames(5, 8, 0)
    q, changes = fit_for_netx(dense_graph(graphs, 0), x)
    path = tmp_path / "model.net"
    write_netx(q, path)
    with h5py.File(path, "r") as f:  # netx's layout, read independently of the writer
        types = [f[f"layer/{i}/type"][0].decode() for i in range(len(f["layer"]))]
        assert types == ["input", "flatten", "dense", "dense", "dense"]
        assert list(f["layer/0/shape"][()]) == [2, 3, 3]
        n0 = q.neurons["n0"]
        assert f["layer/2/neuron/iDecay"][()] == n0.du + 1 == 4096  # netx: du = iDecay - 1
        assert f["layer/2/neuron/vThMant"][()] == n0.vth and f["layer/2/neuron/vDecay"][()] == n0.dv
        assert np.array_equal(f["layer/2/bias"][()] * 64, n0.bias())  # netx: bias_exp = 6
        assert f["layer/4/neuron/vDecay"][()] == 0  # the IF layer
    network = _netx_network(path, q)
    assert len(network.layers) == 3
    assert loaded_parameters(network, q) == {"n0": {}, "n1": {}, "n2": {}}
    for name, c in changes.items():  # the bias grid cost at most half a threshold unit
        assert 0 <= c["max_bias_change"] <= 32 and c["scale"] == q.neurons[name].scale


def test_a_tampered_file_shows_in_the_loaded_parameters(graphs, tmp_path) -> None:
    from spikinghash.hw_sim.backends.netx.network import loaded_parameters

    q, _ = fit_for_netx(conv_graph(graphs, 1), np.random.default_rng(1).poisson(0.8, (5, 4, 2, 6, 6)))
    path = tmp_path / "model.net"
    write_netx(q, path)
    with h5py.File(path, "r+") as f:
        assert f["layer/1/type"][0] == b"conv" and f["layer/1/bias"].shape == (4,)  # per channel
        f["layer/1/bias"][2] += 1
        f["layer/2/neuron/iDecay"][()] = 4000
    diff = loaded_parameters(_netx_network(path, q), q)
    assert set(diff["n1"]) == {"bias"} and diff["n1"]["bias"]["count"] == 36  # every neuron of channel 2
    assert diff["n1"]["bias"]["netx"] - diff["n1"]["bias"]["expected"] == 64
    assert set(diff["n2"]) == {"du"} and diff["n2"]["du"]["netx"] == 3999
    assert diff["n3"] == {}


def test_plain_quantization_is_refused_with_the_reasons(graphs, tmp_path) -> None:
    q = quantize(parse(dense_graph(graphs, 0)), dense_frames(5, 8, 0))
    assert max(s.weight_exp for s in q.synapses.values()) > 0
    with pytest.raises(ConfigError, match="weight optimisation") as err:
        write_netx(q, tmp_path / "model.net")
    assert "multiple of 64" in str(err.value) and "fit_for_netx" in str(err.value)
    assert not (tmp_path / "model.net").exists()


def test_fit_for_netx_bounds_each_scale_at_exponent_0(graphs) -> None:
    graph, x = conv_graph(graphs, 2), np.random.default_rng(2).poisson(0.8, (5, 4, 2, 6, 6))
    plain = quantize(parse(graph), x)
    fitted, changes = fit_for_netx(graph, x)
    wide, _ = fit_for_netx(graph, x, wide_conv_weights=True)
    for path, s in plain.synapses.items():
        name = path.split("->")[1]
        q, n = fitted.synapses[path], fitted.neurons[name]
        assert q.weight_exp == 0 and s.weight_exp > 0  # the plain scale needs exponents, netx's none
        assert changes[name]["scale_divided_by"] == plain.neurons[name].scale / n.scale > 1
        assert changes[name]["scale"] == n.scale and changes[name]["limited_by"] == n.limited_by
        assert np.all(n.bias_exp == 6)
        if n.limited_by == f"weights:{path}":  # the scale where the 8-bit mantissas are full, not 2**e below it
            assert np.abs(q.weight).max() >= 253
    assert wide.synapses["c1->n1"].weight_exp == plain.synapses["c1->n1"].weight_exp > 0
    assert wide.synapses["a->n3"].weight_exp == 0  # dense layers always at exponent 0


def test_netx_weight_loading_facts() -> None:
    """What netx's optimize_weight_bits plus Lava's 8-bit Dense make of a file's weights (hand-checked)."""
    assert np.array_equal(netx_dense_effective(np.array([[3, -5], [254, -256]])), [[3, -5], [254, -256]])
    assert np.array_equal(netx_dense_effective(np.array([[255, 7]])), [[255, 7]])
    assert np.array_equal(netx_dense_effective(np.array([[300, -2]])), [[254, -2]])  # mixed: clipped to 254
    assert np.array_equal(netx_dense_effective(np.array([[300, 2]])), [[0, 0]])  # one sign > 255: zeroed
    assert np.array_equal(netx_dense_effective(np.array([[-128, 0]])), [[-64, 0]])  # no positive weight
    assert netx_dense_effective(np.zeros((2, 2), dtype=int)) is None  # netx raises on a zero matrix


# -- refusals --------------------------------------------------------------------------------

def test_non_sequential_graphs_are_refused(graphs) -> None:
    with pytest.raises(ConfigError, match="fan-in: layer 'n2' sums 2 paths") as err:
        sequential_paths(parse(graphs.rich(0)))
    message = str(err.value)
    assert "skip: path 'pool->n2'" not in message  # n1 is n2's previous layer
    assert "skip: path 'c3->n3' comes from 'in', not from the previous layer 'n2'" in message
    assert message.endswith("and 2 more; run it with `--backend lava` (our Lava build runs any canonical graph)")
    with pytest.raises(ConfigError, match="delay: path 'a2->n2' carries a Delay of 2 steps"):
        sequential_paths(parse(graphs.neuron_delay(0)))


def test_recurrence_is_refused(graphs) -> None:
    net = parse(dense_graph(graphs, 0))
    loop = dataclasses.replace(net.paths["n1"][0], source="n1")
    recurrent = dataclasses.replace(net, paths={**net.paths, "n1": [loop]})
    with pytest.raises(ConfigError, match="recurrence: path 'a1->n1' comes from 'n1'"):
        sequential_paths(recurrent)
    with pytest.raises(ConfigError, match="fan-in"):
        fit_for_netx(graphs.rich(0), np.zeros((2, 1, 2, 6, 6)))  # refused before any quantization


# -- netx on Lava fixed_pt, spike for spike (slow: each run spawns an OS process per Lava process) --

def _assert_exact(report: dict, layers: list[str]) -> None:
    assert report["bit_exact"], report
    assert list(report["layers"]) == layers
    for depth, name in enumerate(layers, start=1):
        layer = report["layers"][name]
        assert layer["bit_exact_fast"] and layer["bit_exact_lava"] and layer["parameters"] == {}
        assert layer["offset_steps"] == depth and layer["measured_offsets"] == [depth]
        assert layer["spikes"] > 0 and layer["first_difference"] is None
    assert report["v_hash_bit_exact_fast"] and report["codes_bit_exact_fast"] and report["v_hash_bit_exact_lava"]


@pytest.mark.slow
def test_netx_dense_net_bit_exact(graphs) -> None:
    from spikinghash.hw_sim.verify.netx import run_netx

    x = dense_frames(6, 8, 3)
    q, _ = fit_for_netx(dense_graph(graphs, 3), x)
    report = run_netx(q, x, samples=2)
    _assert_exact(report, ["n0", "n1", "n2"])
    assert report["samples"] == 2 and report["seconds_per_sample"] > 0


@pytest.mark.slow
def test_netx_current_based_neuron_bit_exact(graphs) -> None:
    """A CubaLIF layer: Lava's du < 4095, written as netx's iDecay = du + 1."""
    from spikinghash.hw_sim.verify.netx import run_netx

    x = np.random.default_rng(5).poisson(1.5, (8, 3, 8)).astype(np.float64)
    q, _ = fit_for_netx(cuba_graph(graphs, 5), x)
    assert q.neurons["n1"].du == 1023 and q.neurons["n0"].du == 4095  # round(4096 / 4) - 1
    _assert_exact(run_netx(q, x, samples=2), ["n0", "n1"])


@pytest.mark.slow
def test_a_netx_difference_is_reported_per_layer_with_step_and_cause(graphs, tmp_path) -> None:
    """A file whose first layer's threshold was changed after writing: netx runs what the file says, and the
    report names the layer, its first differing step and the cause; the next layer's cause is its input."""
    from spikinghash.hw_sim.verify.netx import run_netx

    x = dense_frames(6, 8, 3)
    q, _ = fit_for_netx(dense_graph(graphs, 3), x)
    path = tmp_path / "model.net"
    write_netx(q, path)
    with h5py.File(path, "r+") as f:
        f["layer/2/neuron/vThMant"][()] = 1  # n0 now fires whenever v > 64
    report = run_netx(q, x, samples=2, path=path, with_lava=False)
    assert not report["bit_exact"]
    n0, n1 = report["layers"]["n0"], report["layers"]["n1"]
    assert not n0["bit_exact_fast"] and n0["bit_exact_lava"] is None and n0["measured_offsets"] == []
    assert n0["parameters"]["vth"]["netx"] == 1 and n0["cause"] == "netx built other parameters: vth"
    first = n0["first_difference"]
    assert first["netx"] == 1 and first["reference"] == 0 and first["count"] > 0
    assert n1["cause"] == f"its input differs: layer 'n0' first differs at step {first['step']}"
    assert n1["parameters"] == {} and n1["first_difference"]["step"] >= first["step"]
    assert report["layers"]["n2"]["cause"].startswith("its input differs: layer 'n1'")


@pytest.mark.slow
def test_netx_conv_net_bit_exact(graphs, tmp_path) -> None:
    from spikinghash.hw_sim.verify.netx import run_netx

    x = np.random.default_rng(4).poisson(0.8, (5, 4, 2, 6, 6)).astype(np.float64)
    q, _ = fit_for_netx(conv_graph(graphs, 4), x)
    write_netx(q, tmp_path / "model.net")
    report = run_netx(q, x, samples=2, path=tmp_path / "model.net")
    _assert_exact(report, ["n1", "n2", "n3"])
    assert [report["layers"][n]["netx_type"] for n in ("n1", "n2", "n3")] == ["conv", "conv", "dense"]
