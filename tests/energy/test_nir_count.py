"""Energy on a hand-built NIR graph (Conv2d -> LIF -> Affine -> LIF) from simulated spike counts: the
spike-count dict, fan-out, Eq. 26's per-layer view and the Loihi model's events, every figure computed by
hand from the rasters."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from spikinghash.energy.activity import count_activity, fan_out
from spikinghash.energy.input_profile import measure_input
from spikinghash.energy.models import loihi
from spikinghash.energy.nir_count import has_view, spike_counts
from spikinghash.energy.summary import activity_view
from spikinghash.energy.targets import LOIHI_OPS
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.read import load

DT = 1e-3
T, B = 4, 3  # different on purpose: a count divided by T instead of B would show


def lif(shape: tuple[int, ...]) -> nir.LIF:
    return nir.LIF(tau=np.full(shape, 2 * DT), r=np.ones(shape), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, 0.5), v_reset=np.zeros(shape))


def tiny_graph() -> nir.NIRGraph:
    """input [1, 4, 4] -> Conv2d(1->2, 3x3, pad 1) -> LIF [2, 4, 4] -> Flatten -> Affine(32->3) -> LIF [3]."""
    rng = np.random.default_rng(0)
    w = rng.normal(0.0, 1.0, (2, 1, 3, 3))
    w[1, 0, 0, 0] = 0.0  # one zero weight: no synapse on hardware
    nodes = {
        "input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
        "conv": nir.Conv2d(input_shape=(4, 4), weight=w, stride=1, padding=1, dilation=1, groups=1,
                           bias=np.full(2, 0.3)),
        "lif1": lif((2, 4, 4)),
        "flat": nir.Flatten(input_type={"input": np.array([2, 4, 4])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=rng.normal(0.0, 0.5, (3, 32)), bias=np.full(3, 0.2)),
        "lif2": lif((3,)),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }
    edges = [("input", "conv"), ("conv", "lif1"), ("lif1", "flat"), ("flat", "fc"), ("fc", "lif2"),
             ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT, "T": T}, type_check=False)


@pytest.fixture(scope="module")
def measured() -> tuple:
    torch.set_num_threads(1)
    net = load(tiny_graph())
    frames = np.random.default_rng(1).integers(0, 3, (T, B, 1, 4, 4)).astype(np.float64)
    run = simulate_float(net, frames)
    return net, frames, run, spike_counts({"float": run.spikes}, T)


def test_spike_count_dict_matches_the_rasters(measured: tuple) -> None:
    net, _, run, counts = measured
    assert int(counts["samples"]) == B and int(counts["T"]) == T
    assert counts["float/lif1"].shape == (2, 4, 4) and counts["float/lif2"].shape == (3,)
    assert counts["float/lif1"].sum() == run.spikes["lif1"].sum() > 0


def test_layers_by_hand(measured: tuple) -> None:
    net, frames, run, counts = measured
    rate1 = run.spikes["lif1"].sum() / (T * B * 32)  # per neuron per step, over the batch
    conv_flops, fc_flops = 2 * 4 * 4 * (1 * 3 * 3), 3 * 32
    view = activity_view(count_activity(net, counts, "float", measure_input([frames])), "hand")
    assert view["input_kind"] == "event_frames"  # counts 0..2 that change over time
    conv, fc = view["layers"]
    assert (conv["name"], conv["type"], conv["flops"], conv["input_rate"]) == ("conv->lif1", "Conv", conv_flops, None)
    assert conv["mac_count"] == T * conv_flops and conv["sops"] == 0 and conv["ac_count"] == 0
    assert conv["energy_pj"] == pytest.approx(4.6 * T * conv_flops)
    assert (fc["type"], fc["flops"]) == ("Affine", fc_flops)
    assert fc["input_rate"] == pytest.approx(rate1)
    assert fc["sops"] == pytest.approx(rate1 * T * fc_flops)  # Eq. 25
    assert fc["energy_pj"] == pytest.approx(0.9 * rate1 * T * fc_flops)
    tot = view["totals_per_sample"]  # Eq. 26
    assert tot["energy_pj"] == pytest.approx(4.6 * T * conv_flops + 0.9 * rate1 * T * fc_flops)
    rates = {n["name"]: n["firing_rate"] for n in view["neurons"]}
    assert rates["lif2"] == pytest.approx(run.spikes["lif2"].sum() / (T * B * 3))
    assert view["neuron_updates_per_sample"] == T * 35
    assert view["mean_firing_rate"] == pytest.approx(
        (run.spikes["lif1"].sum() + run.spikes["lif2"].sum()) / (T * B * 35))


def test_fan_out_counts_the_synapses_of_each_input(measured: tuple) -> None:
    net = measured[0]
    conv = net.synapses["conv->lif1"]
    brute = np.zeros(16)
    for o in range(2):
        for i in range(4):
            for j in range(4):
                for a in range(3):
                    for b in range(3):
                        y, x = i + a - 1, j + b - 1
                        if 0 <= y < 4 and 0 <= x < 4 and conv.weight[o, 0, a, b] != 0:
                            brute[y * 4 + x] += 1
    assert np.array_equal(fan_out(conv), brute)
    assert fan_out(conv)[5] == 17  # an inner pixel: 2 channels x 9 taps, one weight zero
    assert np.array_equal(fan_out(net.synapses["fc->lif2"]), np.full(32, 3))


def test_loihi_events_by_hand(measured: tuple) -> None:
    net, frames, run, counts = measured
    s1, s2 = run.spikes["lif1"].sum(), run.spikes["lif2"].sum()
    events_fc = s1 * 3 / B  # every lif1 neuron reaches all 3 lif2 neurons
    nonzero = (frames != 0).sum(axis=(0, 1)) / B  # [1, 4, 4], input events per sample
    in_events = float(nonzero.ravel() @ fan_out(net.synapses["conv->lif1"]))
    cost = loihi(count_activity(net, counts, "float", measure_input([frames])))
    causes = cost.by_cause()
    assert causes["synaptic"] == pytest.approx(23.6 * (events_fc + in_events))
    active = (s1 + s2) / B
    assert causes["neuron"] == pytest.approx(81 * active + 52 * (T * 35 - active))


def test_loihi_figures() -> None:
    ops = LOIHI_OPS
    assert (ops.synaptic_op_pj, ops.neuron_active_pj, ops.neuron_inactive_pj) == (23.6, 81.0, 52.0)
    assert "pre-silicon" in ops.source and "Davies" in ops.source


def test_counts_from_another_graph_are_refused(measured: tuple) -> None:
    from spikinghash.errors import DataError
    net, frames, _, counts = measured
    profile = measure_input([frames])
    bad = dict(counts, **{"float/lif1": np.zeros((2, 2, 2))})
    with pytest.raises(DataError, match="another graph"):
        count_activity(net, bad, "float", profile)
    assert not has_view(counts, net, "integer")
    with pytest.raises(DataError, match="lack 'integer/lif1'"):
        count_activity(net, counts, "integer", profile)


def test_integer_counts_from_the_fast_simulator(measured: tuple) -> None:
    from spikinghash.hw_sim.backends.fast import simulate_int
    from spikinghash.hw_sim.target.quantize import quantize

    net, frames, _, _ = measured
    int_run = simulate_int(quantize(net, frames), frames)
    counts = spike_counts({"integer": int_run.spikes}, T)
    rate1 = int_run.spikes["lif1"].sum() / (T * B * 32)
    act = count_activity(net, counts, "integer", measure_input([frames]))
    fc = activity_view(act, "hand")["layers"][1]
    assert fc["input_rate"] == pytest.approx(rate1) and fc["sops"] == pytest.approx(rate1 * T * 96)
    assert act.spike_counts == "integer"
    assert act.paths[1].events == pytest.approx(int_run.spikes["lif1"].sum() * 3 / B)
