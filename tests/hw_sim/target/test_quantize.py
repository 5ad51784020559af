"""Quantization: mantissa/exponent splits and a whole layer's scale computed by hand; the headroom rule
(no saturation on the calibration data, saturation beyond it); float and integer spikes agree closely."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.spec import effective_weights as lava_effective_weights
from spikinghash.hw_sim.target.quantize import bias_mantissas, input_coding, quantize, weight_cap, weight_mantissas
from spikinghash.hw_sim.verify.compare import compare_float_int

DT = 1e-3


def test_weight_mantissas_by_hand() -> None:
    # mixed: 300.2 / 2**(1+1) = 75.05 -> 75 -> value 150; -3 / 4 = -0.75 -> -1 -> -2; exponent 1
    values, exp = weight_mantissas(np.array([300.2, -3.0]), "mixed")
    assert values.tolist() == [150, -2] and exp == 1
    values, exp = weight_mantissas(np.array([600.0, 10.0]), "excitatory")  # 600 / 4 = 150 <= 255
    assert values.tolist() == [150, 2] and exp == 2  # 10 / 4 = 2.5 -> 2 (half to even)
    values, exp = weight_mantissas(np.array([-255.4]), "inhibitory")
    assert values.tolist() == [-255] and exp == 0
    for v in (np.array([150, -2]), np.array([255, 0]), np.array([-255])):
        np.testing.assert_array_equal(lava_effective_weights(v), v)  # Lava keeps them as they are


def test_weight_mantissas_within_a_largest_exponent_by_hand() -> None:
    # exponent 0 only: 300.2 -> 2·rint(150.1) = 300, clipped to 254; -3 -> 2·rint(-1.5) = -4
    values, exp = weight_mantissas(np.array([300.2, -3.0]), "mixed", exp_max=0)
    assert values.tolist() == [254, -4] and exp == 0
    values, exp = weight_mantissas(np.array([600.0, 10.0]), "excitatory", exp_max=1)  # 600 / 2 = 300 > 255
    assert values.tolist() == [255, 5] and exp == 1
    assert (weight_cap("mixed"), weight_cap("excitatory"), weight_cap("inhibitory")) == (254, 255, 255)


def test_bias_mantissas_by_hand() -> None:
    mant, exp = bias_mantissas(np.array([10_000.0, -4096.0, 4096.0, 0.0, 1e7]))
    # 10000: 2**1 -> 5000 > 4095, 2**2 -> 2500; -4096 fits 13 bits; 4096 needs 2**1; 1e7 > 4095·2**7: clipped
    assert mant.tolist() == [2500, -4096, 2048, 0, 4095] and exp.tolist() == [2, 0, 1, 0, 7]
    # a fixed exponent (netx's 6): 100 / 64 = 1.5625 -> 2; -32 / 64 = -0.5 -> 0 (half to even); 1e6 / 64 clipped
    mant, exp = bias_mantissas(np.array([100.0, -32.0, 1e6]), exp=6)
    assert mant.tolist() == [2, 0, 4095] and exp.tolist() == [6, 6, 6]


def _one_layer() -> nir.NIRGraph:
    nodes = {"in": nir.Input(input_type={"input": np.array([2])}),
             "a": nir.Affine(weight=np.array([[0.5, -0.25]]), bias=np.array([0.1])),
             "n": nir.LIF(tau=np.array([2 * DT]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                          v_reset=np.zeros(1)),
             "out": nir.Output(output_type={"output": np.array([1])})}
    return nir.NIRGraph(nodes=nodes, edges=[("in", "a"), ("a", "n"), ("n", "out")], metadata={"dt": DT},
                        type_check=False)


def test_one_layer_quantized_by_hand() -> None:
    frames = np.tile(np.array([1.0, 0.0]), (4, 1, 1))  # [T=4, B=1, 2] event counts
    q = quantize(_one_layer(), frames)
    n, syn = q.neurons["n"], q.synapses["a->n"]
    # Bounds on S: threshold 131071·64/1 = 8,388,544; drive 0.5·2**23/(0.5·0.5) = 16,777,216;
    # bias 4095·128/(0.5·0.1) = 10,483,200; weights 254·128·64/(0.5·0.5) = 8,323,072 (the smallest).
    assert n.scale == pytest.approx(8_323_072) and n.limited_by == "weights:a->n"
    assert n.vth == 130_048  # 8,323,072 / 64
    assert (n.du, n.dv) == (4095, 2048)
    # weight targets S·0.5·W/64 = [32512, -16256] -> mantissas /2**8: 127 -> 254, -63.5 -> -64 -> -128
    assert syn.weight.tolist() == [[254, -128]] and syn.weight_exp == 7 and syn.kind == "matrix"
    # bias S·0.5·0.1 = 416,153.6 -> /2**7 = 3251.2 -> 3251
    assert n.bias_mant.tolist() == [3251] and n.bias_exp.tolist() == [7]
    assert q.input_quantum == 1.0 and not q.input_signed


def test_input_coding() -> None:
    assert input_coding(np.array([0.0, 3.0, 17.0]), 8) == (1.0, False)  # event counts stay exact
    assert input_coding(np.array([0.0, 300.0]), 8) == (300 / 255, False)  # counts beyond 8 bits
    assert input_coding(np.array([0.0, 0.5]), 8) == (0.5 / 255, False)  # intensities
    assert input_coding(np.array([-0.2, 0.1]), 8) == (0.2 / 255, True)


def test_quantized_rich_graph_agrees_with_float_and_never_saturates_on_its_calibration(graphs, count_frames) -> None:
    for seed in (0, 1):
        net, x = parse(graphs.rich(seed)), count_frames(5, 32, seed)
        q = quantize(net, x)
        result = compare_float_int(simulate_float(net, x), run := simulate_int(q, x))
        for layer, agree in result["layers"].items():
            assert agree["agreement"] > 0.9, layer
            assert agree["rate_a"] == pytest.approx(agree["rate_b"], abs=0.03), layer
        assert result["hash"]["bit_agreement"] > 0.9
        assert all(c == 0 for layer in run.counts.values() for c in layer.values())  # headroom holds


def test_inputs_beyond_the_calibration_range_saturate_and_are_counted(graphs, count_frames) -> None:
    net = parse(graphs.rich(0))
    q = quantize(net, count_frames(5, 16, 0, rate=0.05))  # calibrated on very sparse input
    run = simulate_int(q, count_frames(5, 16, 1, rate=30.0) * 8)  # then driven far harder
    assert run.counts["input"]["clipped"] > 0
    assert sum(c["v_saturations"] + c["u_wraps"] for name, c in run.counts.items() if name != "input") > 0


def test_uneven_thresholds_are_rejected() -> None:
    g = _one_layer()
    g.nodes["n"] = nir.LIF(tau=np.full(2, 2 * DT), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.array([1.0, 2.0]),
                           v_reset=np.zeros(2))
    g.nodes["a"] = nir.Affine(weight=np.ones((2, 2)), bias=np.zeros(2))
    g.nodes["out"] = nir.Output(output_type={"output": np.array([2])})
    with pytest.raises(ConfigError, match="'n'.*v_threshold"):
        quantize(g, np.ones((2, 1, 2)))
