"""Float Delays see zeros before step 0 (NIR) on the integer network too: a source layer that fires on its bias
alone before its window on Lava (its "pre-roll") must not reach a delayed path's target. With weights, biases
and thresholds exactly on the integer grid (power-of-two scales, weights in eighths) the integer network equals
the float reference spike for spike in every layer, and Lava equals the fast simulator in both schedules and
both realisations of a delayed path (DelaySparse/DelayDense and relay)."""

from __future__ import annotations

import nir
import numpy as np
import pytest

from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.backends.lava import build as lava_build
from spikinghash.hw_sim.backends.lava.run import run_lava
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.target.quantize import quant_summary, quantize
from spikinghash.hw_sim.verify.compare import bit_exactness

SCALE = float(1 << 14)  # S·gain/64 = 2**7: a weight of m/8 is the mantissa 16·m, a bias of m/8 is 2**10·m


def _snap(graph: nir.NIRGraph):
    """Every Affine's weights and biases snapped to eighths (exact on the grid of ``SCALE``); the net."""
    for node in graph.nodes.values():
        if isinstance(node, nir.Affine):
            node.weight = np.clip(np.round(node.weight * 8), -15, 15) / 8
            node.bias = np.clip(np.round(node.bias * 8), -15, 15) / 8
    graph.nodes["a1"].bias[:2] = 3.0  # gain 1/2: 1.5 > v_th per step, n1 fires on its bias alone
    return parse(graph)


def _exact_net(graphs, seed: int):
    """The neuron-delay graph (n1 -d1 delay 2, a2-> n2 and n1 -a3-> n2), snapped."""
    return _snap(graphs.neuron_delay(seed))


def _deep_net(graphs):
    """in -a0-> n0 -a1-> n1 -a2-> nm -a6-> nm2 -a3-> n2 (lags 1 to 5); n1 -d1 delay 1, a4-> nm2 (Lava delay 2 >
    its float Delay: back to back, the previous window's last spikes are still in its buffer when it is
    zeroed unless the gap is lag[nm2] - lag[n1] = 2 steps); n0 -a5-> n2 (no float Delay, Lava delay 3: its
    buffer, or its relay's, must never be zeroed). Snapped."""
    rng = np.random.default_rng(5)
    g = graphs
    nodes = {"in": nir.Input(input_type={"input": np.array([6])}),
             "a0": g.affine(rng, 6, 5, std=1.2, bias=1.6), "n0": g.lif((5,)), "a1": g.affine(rng, 5, 5),
             "n1": g.lif((5,)), "a2": g.affine(rng, 5, 5, std=1.2, bias=1.6), "nm": g.lif((5,)),
             "a6": g.affine(rng, 5, 5, std=1.2, bias=1.6), "nm2": g.lif((5,)), "a3": g.affine(rng, 5, 4, std=1.0),
             "d1": g.delay((5,), 1), "a4": g.affine(rng, 5, 5, std=1.0), "a5": g.affine(rng, 5, 4, std=1.0),
             "n2": g.lif((4,)), "out": nir.Output(output_type={"output": np.array([4])})}
    edges = [("in", "a0"), ("a0", "n0"), ("n0", "a1"), ("a1", "n1"), ("n1", "a2"), ("a2", "nm"), ("nm", "a6"),
             ("a6", "nm2"), ("nm2", "a3"), ("a3", "n2"), ("n1", "d1"), ("d1", "a4"), ("a4", "nm2"), ("n0", "a5"),
             ("a5", "n2"), ("n2", "out")]
    return _snap(nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": g.dt}, type_check=False))


@pytest.mark.parametrize("seed", [0, 1, "deep"])
def test_integer_network_equals_the_float_model_through_a_delay(graphs, seed) -> None:
    net = _deep_net(graphs) if seed == "deep" else _exact_net(graphs, seed)
    seed = 2 if seed == "deep" else seed
    x = np.random.default_rng(seed).integers(0, 3, (5, 16, 6)).astype(float)  # event counts: input quantum 1
    q = quantize(net, x, scales={name: SCALE for name in net.neurons})
    summary = quant_summary(q)
    assert all(p["max_rel_weight_error"] == 0.0 for p in summary["paths"].values()), summary["paths"]
    assert all(n["max_bias_error"] == 0.0 for n in summary["layers"].values()), summary["layers"]
    assert "n1" in net.delayed_sources() and net.lags["n1"] > 0  # n1 would run before its window on Lava
    flt, fast = simulate_float(net, x), simulate_int(q, x)
    # n1's bias alone crosses its threshold (vth << 6) every step: it fires before its window on Lava
    assert (q.neurons["n1"].bias()[:2] > q.neurons["n1"].vth << 6).all()
    for name in net.neurons:
        np.testing.assert_array_equal(fast.spikes[name], flt.spikes[name], err_msg=name)
        assert 0 < flt.spikes[name].mean() < 1, name
    np.testing.assert_array_equal(fast.codes, flt.codes)


@pytest.mark.slow
@pytest.mark.parametrize("relay", ["never", "always"])
@pytest.mark.parametrize("deep", [False, True])
def test_lava_discards_the_pre_window_spikes_of_a_delayed_source(graphs, monkeypatch, relay: str,
                                                                 deep: bool) -> None:
    """Bit-exact with the fast simulator (and so with the float model) in both schedules; without the ``Reset``
    of the delayed buffer, n1's pre-window spikes reach n2's first window steps."""
    net = _deep_net(graphs) if deep else _exact_net(graphs, 0)
    x = np.random.default_rng(0).integers(0, 3, (5, 3, 6)).astype(float)
    q = quantize(net, x, scales={name: SCALE for name in net.neurons})
    fast, flt = simulate_int(q, x), simulate_float(net, x)
    for reset in ("interval", "fresh"):
        lava = run_lava(q, x, reset=reset, relay=relay)
        diff = bit_exactness(fast, lava)
        assert all(v == 0 for v in diff.values()), (reset, diff)
        assert lava.info["realisations"]["a4->nm2" if deep else "a2->n2"] == ("relay" if relay == "always" else "matrix")
        for name in net.neurons:
            np.testing.assert_array_equal(lava.spikes[name], flt.spikes[name], err_msg=name)
    monkeypatch.setattr(lava_build, "_zero_at", lambda *args: None)
    broken = run_lava(q, x, reset="fresh", relay=relay)
    assert bit_exactness(fast, broken)["nm2" if deep else "n2"] > 0  # the delayed path's target
