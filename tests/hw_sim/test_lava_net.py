"""The fast integer simulator is bit-exact with lava-nc's own fixed_pt processes: every spike of every
layer at every step, the hash layer's v and the codes, on every sample run. Lava runs are few and tiny
(each one spawns an OS process per Lava process)."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.compare import bit_exactness
from spikinghash.hw_sim.fast_sim import simulate_int
from spikinghash.hw_sim.graph import parse
from spikinghash.hw_sim.int_net import IntNet, IntNeuron, IntSynapse
from spikinghash.hw_sim.lava_net import LavaResult, choose_reset, run_lava
from spikinghash.hw_sim.quantize import quantize


def odd_conv_graph(graphs, seed: int) -> nir.NIRGraph:
    """in[2,5,7] -c grouped conv, kernel 3x2, stride (2,1), padding (1,0), dilation (1,2)-> n1[4,3,5]
    -fl, a-> n2[6] -> out: exercises Lava's (W, H, C) layout and its flipped convolution kernel."""
    rng = np.random.default_rng(seed)
    nodes = {"in": nir.Input(input_type={"input": np.array([2, 5, 7])}),
             "c": nir.Conv2d(input_shape=(5, 7), weight=rng.normal(0, 1.5, (4, 1, 3, 2)), stride=(2, 1),
                             padding=(1, 0), dilation=(1, 2), groups=2, bias=rng.normal(0.2, 0.2, 4)),
             "n1": graphs.lif((4, 3, 5)), "fl": graphs.flatten((4, 3, 5)), "a": graphs.affine(rng, 60, 6, bias=1.5),
             "n2": graphs.lif((6,)), "out": nir.Output(output_type={"output": np.array([6])})}
    edges = [("in", "c"), ("c", "n1"), ("n1", "fl"), ("fl", "a"), ("a", "n2"), ("n2", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": graphs.dt}, type_check=False)


def _assert_bit_exact(q: IntNet, frames: np.ndarray, samples: int, reset: str | None = None) -> LavaResult:
    fast = simulate_int(q, frames)
    lava = run_lava(q, frames, samples=samples, reset=reset)
    diff = bit_exactness(fast, lava)
    assert all(v == 0 for v in diff.values()), diff
    for name, spikes in lava.spikes.items():
        assert spikes.shape[1] == samples and spikes.any(), name  # every layer fired on Lava
    return lava


@pytest.mark.parametrize("seed", [0, 1])
def test_rich_graph_bit_exact_back_to_back(graphs, count_frames, seed: int) -> None:
    """Conv, stride-2 Conv, SumPool, Scale, IF, Affine, Linear; residual fan-in; an input Delay path."""
    net, x = parse(graphs.rich(seed)), count_frames(4, 3, seed)
    lava = _assert_bit_exact(quantize(net, x), x, samples=3)
    assert lava.reset == "interval"


def test_odd_convolution_with_graded_intensities(graphs) -> None:
    net = parse(odd_conv_graph(graphs, 0))
    x = np.random.default_rng(0).random((4, 2, 2, 5, 7))  # intensities: graded 8-bit input, quantum 1/255-ish
    q = quantize(net, x)
    assert q.synapses["c->n1"].kind == "conv" and q.input_quantum != 1.0
    _assert_bit_exact(q, x, samples=2)


def test_delay_from_a_neuron_layer_bit_exact_with_fresh_runs(graphs) -> None:
    net = parse(graphs.neuron_delay(0))
    x = np.random.default_rng(0).random((5, 2, 6))
    with pytest.raises(ConfigError, match="fresh"):
        choose_reset(net, "interval")
    lava = _assert_bit_exact(quantize(net, x), x, samples=2)
    assert lava.reset == "fresh"


def test_wrap_arounds_and_saturations_bit_exact(graphs) -> None:
    # conv sums up to 6 taps · 255 · 254 << 7 pass 2**23 (Lava's Conv wraps at 24 bits); u wraps; v saturates
    net = parse(odd_conv_graph(graphs, 1))
    rng = np.random.default_rng(3)
    w_conv = 2 * rng.integers(-128, 128, (4, 1, 3, 2))
    w_conv[0] = 254
    q = IntNet(net, {"c->n1": IntSynapse(w_conv, 7, "conv"),
                     "a->n2": IntSynapse(2 * rng.integers(-128, 128, (6, 60)), 7, "matrix")},
               {"n1": IntNeuron(4095, 2048, 100_000, rng.integers(-4096, 4096, (4, 3, 5)), np.full((4, 3, 5), 7)),
                "n2": IntNeuron(0, 100, 120_000, np.zeros(6, dtype=int), np.zeros(6, dtype=int))})
    x = rng.integers(0, 256, (5, 2, 2, 5, 7)).astype(float)
    fast = simulate_int(q, x)
    assert fast.counts["n1"]["synapse_wraps"] > 0 and fast.counts["n2"]["u_wraps"] > 0
    assert fast.counts["n2"]["v_saturations"] > 0
    _assert_bit_exact(q, x, samples=2)
    # Dense sums beyond int32 (16-bit graded input): the int32 channel wraps
    chain = parse(graphs.chain())
    q = IntNet(chain, {"a0->n1": IntSynapse(np.full((3, 4), 255), 7, "matrix"),
                       "a1->n2": IntSynapse(np.array([[254, -256, 2], [-2, 100, 254]]), 0, "matrix")},
               {"n1": IntNeuron(4095, 0, 131_071, np.zeros(3, dtype=int), np.zeros(3, dtype=int)),
                "n2": IntNeuron(4095, 1024, 200, np.zeros(2, dtype=int), np.zeros(2, dtype=int))}, input_bits=16)
    x = rng.integers(0, 65_536, (6, 2, 4)).astype(float)
    assert simulate_int(q, x).counts["n1"]["synapse_wraps"] > 0
    _assert_bit_exact(q, x, samples=2)
