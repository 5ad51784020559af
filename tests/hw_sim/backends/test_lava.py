"""The fast integer simulator is bit-exact with lava-nc's own fixed_pt processes: every spike of every
layer at every step, the hash layer's v and the codes, on every sample run. Lava runs are few and tiny
(each one spawns an OS process per Lava process)."""

from __future__ import annotations

import multiprocessing as mp

import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.backends.lava import build as lava_build, run as lava_net
from spikinghash.hw_sim.backends.lava.build import conv_bound, lava_matrix
from spikinghash.hw_sim.backends.lava.run import choose_reset, run_lava
from spikinghash.hw_sim.backends.lava.runtime import lava_children
from spikinghash.hw_sim.backends.result import BackendResult
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.kinds.neurons import IntNeuron
from spikinghash.hw_sim.target.int_net import IntNet, IntSynapse
from spikinghash.hw_sim.target.quantize import quantize
from spikinghash.hw_sim.verify.compare import bit_exactness


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


def _assert_bit_exact(q: IntNet, frames: np.ndarray, samples: int, reset: str | None = None,
                      **how: str) -> BackendResult:
    fast = simulate_int(q, frames)
    lava = run_lava(q, frames, samples=samples, reset=reset, **how)
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
    assert lava.info["reset"] == "interval"


def test_odd_convolution_with_graded_intensities(graphs) -> None:
    net = parse(odd_conv_graph(graphs, 0))
    x = np.random.default_rng(0).random((4, 2, 2, 5, 7))  # intensities: graded 8-bit input, quantum 1/255-ish
    q = quantize(net, x)
    assert q.synapses["c->n1"].kind == "conv" and q.input_quantum != 1.0
    # the whole 3x2 kernel fits at output row 1: the bound is the largest |kernel| sum x 255 << weight_exp
    path = net.paths["n1"][0]
    w = q.synapses["c->n1"]
    assert conv_bound(q, path, lava_matrix(q, path)) == int(np.abs(w.weight).sum(axis=(1, 2, 3)).max()) * 255 \
        << w.weight_exp
    for conv in ("never", "auto"):  # Lava's Conv, then Sparse with the unrolled matrix (wrap-free here)
        lava = _assert_bit_exact(q, x, samples=2, conv=conv)
        assert lava.info["realisations"]["c->n1"] == ("conv" if conv == "never" else "sparse")


@pytest.mark.parametrize("reset", ["interval", "fresh"])
def test_delay_from_a_neuron_layer_bit_exact_in_both_schedules(graphs, reset: str) -> None:
    net = parse(graphs.neuron_delay(0))
    x = np.random.default_rng(0).random((5, 3, 6))
    assert choose_reset(net, None) == "interval"  # the delayed buffers are zeroed when n1's window opens
    lava = _assert_bit_exact(quantize(net, x), x, samples=3, reset=reset)  # one compile
    assert lava.info["reset"] == reset and lava.info["realisations"]["a2->n2"] == "matrix"  # DelaySparse/DelayDense


def test_spikes_before_a_delayed_sources_window_are_discarded(graphs, monkeypatch) -> None:
    """n1 (bias 1.9: fires on its second step from rest) feeds a Delay: before its window it fires on its bias
    and, back to back, the previous sample's last spikes are in flight too. A Lava Reset zeroes the delayed
    buffer when n1's window opens (float Delays see zeros before step 0): bit-exact; without it those spikes
    reach n2's window."""
    graph = graphs.neuron_delay(0)
    graph.nodes["a1"].bias[:2] = 1.9
    net = parse(graph)
    x = np.random.default_rng(0).random((5, 3, 6))
    q = quantize(net, x)
    _assert_bit_exact(q, x, samples=3, reset="interval")
    monkeypatch.setattr(lava_build, "_zero_at", lambda *args: None)
    diff = bit_exactness(simulate_int(q, x), run_lava(q, x, samples=3))
    assert diff["n2"] > 0


def test_relays_and_sparse_convs_give_the_same_bits(graphs, count_frames) -> None:
    """Delayed paths from neuron layers through an identity DelaySparse and a relay LIF (delays 1 and > 1,
    Dense and Sparse after it), with both reset schedules."""
    net = parse(graphs.neuron_delay(1))
    x = np.random.default_rng(1).random((5, 3, 6))
    lava = _assert_bit_exact(quantize(net, x), x, samples=3, relay="always")
    assert lava.info["realisations"]["a2->n2"] == "relay" and lava.info["reset"] == "interval"
    lava = _assert_bit_exact(quantize(net, x), x, samples=3, reset="fresh", relay="always")
    net, x = parse(graphs.rich(2)), count_frames(4, 2, 2)
    lava = _assert_bit_exact(quantize(net, x), x, samples=2, relay="always", conv="always")
    assert lava.info["realisations"]["lin->n4"] == "relay" and lava.info["realisations"]["c3->n3"] == "matrix"  # input: no relay
    assert lava.info["realisations"]["c1->n1"] == "sparse" and lava.info["reset"] == "interval"  # counts < 4: wrap-free


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_or_interrupted_run_leaves_no_process(graphs, monkeypatch, error) -> None:
    net = parse(graphs.chain())
    x = np.random.default_rng(0).random((3, 2, 4))
    q = quantize(net, x)
    before = {c.pid for c in mp.active_children()}
    started = []

    def fail(*args):
        started.extend(lava_children(before))
        raise error("stop here")

    monkeypatch.setattr(lava_net, "_read", fail)
    with pytest.raises(error):
        run_lava(q, x, samples=2, reset="fresh")
    assert started  # Lava's OS processes were running when the run failed ...
    assert not lava_children(before)  # ... and none is left


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
    assert _assert_bit_exact(q, x, samples=2).info["realisations"]["c->n1"] == "conv"  # may wrap: Lava's Conv stays
    # Dense sums beyond int32 (16-bit graded input): the int32 channel wraps
    chain = parse(graphs.chain())
    q = IntNet(chain, {"a0->n1": IntSynapse(np.full((3, 4), 255), 7, "matrix"),
                       "a1->n2": IntSynapse(np.array([[254, -256, 2], [-2, 100, 254]]), 0, "matrix")},
               {"n1": IntNeuron(4095, 0, 131_071, np.zeros(3, dtype=int), np.zeros(3, dtype=int)),
                "n2": IntNeuron(4095, 1024, 200, np.zeros(2, dtype=int), np.zeros(2, dtype=int))}, input_bits=16)
    x = rng.integers(0, 65_536, (6, 2, 4)).astype(float)
    assert simulate_int(q, x).counts["n1"]["synapse_wraps"] > 0
    _assert_bit_exact(q, x, samples=2)


def test_recording_a_subset_of_layers(graphs) -> None:
    net = parse(graphs.rich(0))
    x = np.random.default_rng(0).poisson(0.8, (4, 2, 2, 6, 6)).astype(float)
    q = quantize(net, x)
    fast = simulate_int(q, x)
    lava = run_lava(q, x, samples=2, layers=["n2"])
    assert set(lava.spikes) == {"n2", "n4"}  # the hash layer always
    assert bit_exactness(fast, lava) == {"n2": 0, "n4": 0, "v_hash": 0, "codes": 0, "states": 0}
    with pytest.raises(ConfigError, match="not neuron layers"):
        run_lava(q, x, samples=1, layers=["c1"])
