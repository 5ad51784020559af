"""The quantizer's rules (hw_sim/target/rules.py): netx's format and the QAT grid's power-of-two scales as
parameters of the one quantizer. Every bound of a one-layer graph is computed by hand here; the named rule
sets; fixed scales lowered by powers of two where a format needs it; the cost report against plain rules."""

from __future__ import annotations

import math

import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.kinds.synapses import ConvSynapse, SumPoolSynapse
from spikinghash.hw_sim.spec import WEIGHT_EXP_MAX
from spikinghash.hw_sim.target.quantize import quantize, quantize_with_cost
from spikinghash.hw_sim.target.rules import LOIHI, RULES, Rules, netx_rules, qat_rules, rules

DT = 1e-3
FRAMES = np.tile(np.array([1.0, 0.0]), (4, 1, 1))  # [T=4, B=1, 2] event counts: only the first input fires


def one_layer(bias: float = 0.1, gamma: float = 2.0) -> nir.NIRGraph:
    """in[2] -a-> n[1], W = [0.5, -0.25], a LIF of input gain dt/tau = 1/gamma and threshold 1."""
    nodes = {"in": nir.Input(input_type={"input": np.array([2])}),
             "a": nir.Affine(weight=np.array([[0.5, -0.25]]), bias=np.array([bias])),
             "n": nir.LIF(tau=np.array([gamma * DT]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1),
                          v_reset=np.zeros(1)),
             "out": nir.Output(output_type={"output": np.array([1])})}
    return nir.NIRGraph(nodes=nodes, edges=[("in", "a"), ("a", "n"), ("n", "out")], metadata={"dt": DT},
                        type_check=False)


def test_named_rule_sets() -> None:
    assert rules("loihi") is LOIHI and set(RULES) == {"loihi", "netx"}
    assert rules("netx") == netx_rules() and netx_rules().bias_exp == 6
    assert (netx_rules().dense_weight_exp_max, netx_rules().conv_weight_exp_max) == (0, 0)
    assert (netx_rules(wide_conv_weights=True).dense_weight_exp_max,
            netx_rules(wide_conv_weights=True).conv_weight_exp_max) == (0, WEIGHT_EXP_MAX)
    with pytest.raises(ConfigError, match="unknown quantizer rules 'lava'; choose one of loihi, netx"):
        rules("lava")
    with pytest.raises(ConfigError, match="scale_rounding 'nearest'"):
        Rules("bad", scale_rounding="nearest")
    with pytest.raises(ConfigError, match="bias_exp 8"):
        Rules("bad", bias_exp=8)


def test_one_layer_under_netx_rules_by_hand() -> None:
    q = quantize(one_layer(), FRAMES, rules=netx_rules())
    n, syn = q.neurons["n"], q.synapses["a->n"]
    # Bounds on S: threshold 131071·64/1 = 8,388,544; drive 0.5·2**23/(0.5·0.5) = 16,777,216;
    # bias 4095·2**6/(0.5·0.1) = 5,241,600 (bias_exp fixed at 6); weights at exponent 0:
    # 254·2**0·64/(0.5·0.5) = 65,024 (the smallest).
    assert n.scale == 65_024 and n.limited_by == "weights:a->n"
    assert n.vth == 1016  # 65,024 / 64
    # weight targets S·0.5·W/64 = [254, -127] -> even values 254 and 2·rint(-63.5) = -128, at exponent 0
    assert syn.weight.tolist() == [[254, -128]] and syn.weight_exp == 0
    # bias S·0.5·0.1 = 3251.2 -> rint(3251.2 / 64) = rint(50.8) = 51 at exponent 6: 3264
    assert n.bias_mant.tolist() == [51] and n.bias_exp.tolist() == [6] and n.bias().tolist() == [3264]


def test_the_cost_report_against_plain_rules_by_hand() -> None:
    _, changes = quantize_with_cost(one_layer(), FRAMES, netx_rules())
    # plain Loihi: S = 254·2**7·64/0.25 = 8,323,072 (test_quantize), 128 times netx's 65,024; at netx's scale
    # the plain bias is 3251.2 -> 3251 at exponent 0, 13 below netx's 3264
    assert changes == {"n": {"scale": 65_024.0, "limited_by": "weights:a->n", "scale_divided_by": 128.0,
                             "vth": 1016, "max_bias_change": 13.0,
                             "max_bias_change_thresholds": 13 / (1016 * 64)}}


def test_limited_by_names_the_binding_constraint() -> None:
    # a bias of 10: S·0.5·10 <= 4095·2**6 gives S <= 52,416, below the weights' 65,024
    q = quantize(one_layer(bias=10.0), FRAMES, rules=netx_rules())
    n = q.neurons["n"]
    assert n.scale == 52_416 and n.limited_by == "bias"
    assert n.bias_mant.tolist() == [4095] and n.bias_exp.tolist() == [6]  # 52,416·5 = 4095·64: full range
    # plain rules: the bias may use exponent 7 (S <= 104,832) and the weights exponent 7 (S <= 8,323,072)
    plain = quantize(one_layer(bias=10.0), FRAMES).neurons["n"]
    assert plain.scale == 104_832 and plain.limited_by == "bias" and plain.bias_exp.tolist() == [7]


def test_netx_rules_put_dense_weights_at_exponent_0_and_biases_on_64(graphs, count_frames) -> None:
    net, x = parse(graphs.rich(1)), count_frames(5, 16, 1)
    plain = quantize(net, x)
    assert max(s.weight_exp for s in plain.synapses.values()) > 0  # the plain rules use exponents
    for wide in (False, True):
        q = quantize(net, x, rules=netx_rules(wide_conv_weights=wide))
        for path in net.all_paths():
            conv = isinstance(net.synapses[path.key], (ConvSynapse, SumPoolSynapse))
            assert q.synapses[path.key].weight_exp == 0 or (wide and conv), path.key
        for name, n in q.neurons.items():
            assert np.all(n.bias_exp == 6) and np.all(n.bias() % 64 == 0)
            assert n.scale <= plain.neurons[name].scale


def test_power_of_two_scales_give_the_mantissas_of_those_scales_fixed(graphs, count_frames) -> None:
    net, x = parse(graphs.rich(0)), count_frames(5, 16, 0)
    plain, grid = quantize(net, x), quantize(net, x, rules=qat_rules())
    fixed = quantize(net, x, scales={n: q.scale for n, q in grid.neurons.items()})
    for name, q in grid.neurons.items():
        gain = float(net.neurons[name].gain.flat[0])
        s = plain.neurons[name].scale
        assert q.scale == 2.0 ** math.floor(math.log2(s * gain)) / gain and s / 2 < q.scale <= s
        assert q.limited_by == plain.neurons[name].limited_by + ", rounded to a power of two"
        if gain in (0.5, 0.25):  # gamma = 2, 4: the product is exactly a power of two
            assert math.log2(q.scale * gain).is_integer()
        f = fixed.neurons[name]
        assert (f.vth, f.limited_by) == (q.vth, "fixed") and np.array_equal(f.bias(), q.bias())
    for key, s in grid.synapses.items():
        assert np.array_equal(s.weight, fixed.synapses[key].weight) and s.weight_exp == fixed.synapses[key].weight_exp
    # the gains the rounding uses may be given (a QAT model's 1/gamma): S·gain is then exactly 2**k
    given = quantize(net, x, rules=qat_rules({n: 0.3 for n in net.neurons}))
    assert all(math.log2(q.scale * 0.3).is_integer() for q in given.neurons.values())
    with pytest.raises(ConfigError, match=r"power-of-two gains lack neuron layer\(s\) \['n4'\]"):
        quantize(net, x, rules=qat_rules({n: 0.5 for n in list(net.neurons)[:3]}))


def test_fixed_scales_are_lowered_by_powers_of_two_where_netx_needs_it() -> None:
    # S = 4·65,024: weight targets [1016, -508] need exponent 2 (2·rint(1016/8) = 254, 2·rint(-63.5) = -128)
    q = quantize(one_layer(), FRAMES, scales={"n": 4 * 65_024.0}, rules=netx_rules())
    assert q.neurons["n"].scale == 65_024 and q.neurons["n"].limited_by == "fixed / 2**2 for weights:a->n"
    assert q.synapses["a->n"].weight.tolist() == [[254, -128]] and q.synapses["a->n"].weight_exp == 0
    plain = quantize(one_layer(), FRAMES, scales={"n": 4 * 65_024.0})  # plain rules keep a fixed scale
    assert plain.neurons["n"].scale == 4 * 65_024 and plain.neurons["n"].limited_by == "fixed"
    assert plain.synapses["a->n"].weight.tolist() == [[254, -128]] and plain.synapses["a->n"].weight_exp == 2
    # bias 10 at S = 104,832: 524,160 = 8190·64 needs one more exponent, as do the weights ([409.5, -204.75])
    q = quantize(one_layer(bias=10.0), FRAMES, scales={"n": 104_832.0}, rules=netx_rules())
    assert q.neurons["n"].scale == 52_416 and q.neurons["n"].limited_by == "fixed / 2**1 for bias, weights:a->n"
    assert q.neurons["n"].bias().tolist() == [4095 * 64]
