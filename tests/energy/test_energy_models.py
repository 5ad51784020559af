"""Every energy model, ANN counterpart and energy.json's views on a 2-layer NIR graph, each figure recomputed
BY HAND here.

Graph: input [1, 3, 3] -> Conv2d(1->1, 2x2, no padding) -> LIF [1, 2, 2] -> Flatten -> Affine(4->2, one
zero weight) -> LIF [2]. Spike counts are written by hand (no simulator), T = 3 steps, 2 samples.
The hand figures below use only the per-op table (Horowitz 2014, Davies 2018, lava-dl's Loihi 2
profile) and events counted on paper from the graph and counts:

- conv: FLOPs/step = 4 outputs × 4 taps = 16, weights 4 bytes; input pixel fan-out: corners 1,
  edges 2, centre 4. Affine: FLOPs/step = 8, weights 8 bytes, fan-out of lif1's neurons [2, 2, 2, 1].
- frames (event frames): sample 0 has pixel (0,0) = 1 at steps 0 and 1 and the centre = 2 at step 2;
  sample 1 has pixel (2,2) = 1 at step 0. Per sample: 2 input events, reaching 1·1 + 0.5·4 + 0.5·1 = 3.5
  synapses.
- lif1 spikes over both samples [2, 0, 1, 3] -> per sample 3, rate 3 / (3·4) = 0.25; Affine events per
  sample (1·2 + 0 + 0.5·2 + 1.5·1) = 4.5. lif2 spikes [1, 0] -> 0.5 per sample. Updates per sample:
  lif1 3·4 = 12, lif2 3·2 = 6; mean rate 3.5 / 18.
"""

from __future__ import annotations

import dataclasses
import math
import types

import nir
import numpy as np
import pytest

from spikinghash.energy.activity import count_activity
from spikinghash.energy.break_even import affine, break_even, price_all, price_graph
from spikinghash.energy.counterparts import COUNTERPARTS, lowbit_width
from spikinghash.energy.counterparts import fp32_pass
from spikinghash.energy.input_profile import measure_input
from spikinghash.energy.layer_cost import totals
from spikinghash.energy.models import MODELS, eq26_layers, loihi
from spikinghash.energy.summary import headline, nir_views
from spikinghash.energy.verdict import energy_markdown
from spikinghash.hw_sim.frontend.read import load

T, B, DT = 3, 2, 1e-3
MEAN_RATE = 3.5 / 18


def graph() -> nir.NIRGraph:
    lif = lambda n: nir.LIF(tau=np.full(n, 2 * DT), r=np.ones(n), v_leak=np.zeros(n),  # noqa: E731
                            v_threshold=np.full(n, 0.5), v_reset=np.zeros(n))
    fc = np.array([[0.5, -0.2, 0.3, 0.4], [0.1, 0.2, -0.3, 0.0]])  # one zero weight: lif1[3] reaches 1 target
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 3, 3])}),
             "conv": nir.Conv2d(input_shape=(3, 3), weight=np.array([[[[0.5, 0.3], [0.2, 0.1]]]]), stride=1,
                                padding=0, dilation=1, groups=1, bias=np.zeros(1)),
             "lif1": lif((1, 2, 2)),
             "flat": nir.Flatten(input_type={"input": np.array([1, 2, 2])}, start_dim=0, end_dim=-1),
             "fc": nir.Affine(weight=fc, bias=np.zeros(2)), "lif2": lif((2,)),
             "output": nir.Output(output_type={"output": np.array([2])})}
    edges = [("input", "conv"), ("conv", "lif1"), ("lif1", "flat"), ("flat", "fc"), ("fc", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT, "T": T}, type_check=False)


def frames(kind: str) -> np.ndarray:
    x = np.zeros((T, B, 1, 3, 3))
    if kind == "static":  # the same image at every step: pixel (0,0) = 1 in sample 0, (2,2) = 1 in sample 1
        x[:, 0, 0, 0, 0] = 1
        x[:, 1, 0, 2, 2] = 1
        return x
    x[0, 0, 0, 0, 0] = x[1, 0, 0, 0, 0] = 1
    x[2, 0, 0, 1, 1] = 1 if kind == "binary" else 2
    x[0, 1, 0, 2, 2] = 1
    return x


COUNTS = {"float/lif1": np.array([[[2, 0], [1, 3]]]), "float/lif2": np.array([1, 0]),
          "samples": np.array(B), "T": np.array(T)}


@pytest.fixture(scope="module")
def net():
    return load(graph())


def activity(net, kind: str = "events"):
    return count_activity(net, COUNTS, "float", measure_input([frames(kind)]))


def test_counted_activity(net) -> None:
    act = activity(net)
    assert act.input.kind == "event_frames" and act.mean_rate == pytest.approx(MEAN_RATE)
    conv, fc = act.paths
    assert (conv.flops, conv.weight_bytes, conv.events, conv.source_rate) == (16, 4, 3.5, None)
    assert (fc.flops, fc.weight_bytes, fc.synapses, fc.source_rate) == (8, 8, 7, 0.25)
    assert fc.events == pytest.approx(4.5)
    assert [(n.neurons, n.updates, n.spikes) for n in act.neurons] == [(4, 12, 3.0), (2, 6, 0.5)]
    assert measure_input([frames("static")]).kind == "static"
    assert measure_input([frames("binary")]).kind == "binary_events"


@pytest.mark.parametrize("kind, conv, hand", [
    # event frames: the conv's 16 MACs at each of T = 3 steps = 48 MACs, 4.6 × 48 = 220.8 pJ
    ("events", {"input_rate": None, "mac_count": 48, "ac_count": 0, "energy_pj": 220.8}, 226.2),
    # a static image: the conv's 16 MACs once, 73.6 pJ (the paper's CIFAR convention)
    ("static", {"input_rate": None, "mac_count": 16, "ac_count": 0, "energy_pj": 73.6}, 79.0),
    # binary events are spikes: R_in = 4 events / (2 samples × 3 steps × 9 pixels) = 2/27, SOP = 2/27 × 3 × 16
    # = 32/9, 0.9 × 32/9 = 3.2 pJ
    ("binary", {"input_rate": 2 / 27, "mac_count": 0, "ac_count": 32 / 9, "energy_pj": 3.2}, 8.6),
])
def test_eq26_first_layer_by_input_kind(net, kind: str, conv: dict, hand: float) -> None:
    """Eq. 26 = E_MAC × first-layer MACs + E_AC × Σ SOP; the Affine: SOP = 0.25 × 3 × 8 = 6, 0.9 × 6 = 5.4 pJ."""
    act = activity(net, kind)
    first, fc = eq26_layers(act)
    assert (first.input_rate is None) if conv["input_rate"] is None else first.input_rate == pytest.approx(
        conv["input_rate"])
    assert (first.mac_count, first.ac_count, first.energy_pj) == pytest.approx(
        (conv["mac_count"], conv["ac_count"], conv["energy_pj"]))
    assert (fc.input_rate, fc.sops, fc.mac_count, fc.energy_pj) == pytest.approx((0.25, 6.0, 0.0, 5.4))
    assert totals([first, fc])["energy_pj"] == pytest.approx(hand)  # the per-layer views' total
    assert MODELS["eq26"](act).total == pytest.approx(hand)  # the energy-model table's eq26


def test_mem45_by_hand(net) -> None:
    weight_read = 10 * 8 / 64  # an 8-bit read from an SRAM of <= 8 KB (10 pJ per 64 bits)
    state = 10 * 48 / 64  # u and v, 2 × 24 bit, layers of 24 and 12 bytes
    route = 10.0  # one 64-bit routing-table read per spike or input event
    update = 2 * (0.2 * 12 * 24 / 64) + 4 * 0.1  # 2 multiplies 12×24 bit + 4 adds of 32 bit = 2.2 pJ
    conv = 3.5 * (0.1 + 0.2 + weight_read)  # graded input: add + 8-bit multiply + weight read
    fc = 4.5 * (0.1 + weight_read)
    hand = conv + fc + 2 * route + 18 * update + 18 * 2 * state + 3.5 * route
    cost = MODELS["mem45"](activity(net))
    assert cost.total == pytest.approx(hand) == pytest.approx(376.1)
    assert cost.by_cause()["neuron"] == pytest.approx(18 * 2.2)
    assert cost.driver() == "memory"


def test_loihi_by_hand(net) -> None:
    dynamic = 23.6 * (3.5 + 4.5) + 81 * 3.5 + 52 * (18 - 3.5)
    act = activity(net)
    cost = MODELS["loihi"](act)
    assert cost.total == pytest.approx(dynamic + 0.232 * T * DT * 1e12)  # static: 0.232 W over T steps of dt
    assert cost.driver() == "static"
    assert loihi(act, step_s=1e-6).by_cause()["static"] == pytest.approx(0.232 * T * 1e-6 * 1e12)
    assert cost.by_cause()["synaptic"] + cost.by_cause()["neuron"] == pytest.approx(dynamic)  # 1,113.2 pJ
    assert cost.assumptions["static_equals_dynamic_at_step_s"] == pytest.approx(dynamic / (0.232 * T * 1e12))


def test_counterparts_by_hand(net) -> None:
    act = activity(net)
    r8 = 10 * 8 / 64  # every memory here is <= 8 KB
    assert COUNTERPARTS["ann_fp32"](act).total == pytest.approx(4.6 * (16 + 8)) == pytest.approx(110.4)
    assert fp32_pass([("a", 16.0), ("b", 8.0)]).total == pytest.approx(110.4)  # the same from (layer, FLOPs) pairs
    int8 = (16 * (0.2 + 0.1) + 16 * r8 + 9 * r8  # conv: MACs, weight reads, 9 input pixels read once
            + 8 * (0.2 + 0.1) + 8 * r8 + 4 * r8  # affine: MACs, weight reads, 4 activations read once
            + 6 * 2 * 0.1 + 6 * r8)  # 6 outputs: bias + activation adds, one write each
    assert COUNTERPARTS["ann_int8"](act).total == pytest.approx(int8) == pytest.approx(62.15)
    assert lowbit_width(3) == 2 and lowbit_width(4) == 3 and lowbit_width(1) == 1
    r2 = 10 * 2 / 64
    low = (16 * 0.3 + 16 * r8 + 9 * r8  # the input path stays 8 bit
           + 8 * (0.2 * 2 * 8 / 64 + 0.1) + 8 * r8 + 4 * r2 + 6 * 2 * 0.1 + 6 * r2)
    assert COUNTERPARTS["ann_lowbit"](act).total == pytest.approx(low) == pytest.approx(51.575)


def test_band_is_the_lowest_and_highest_model(net) -> None:
    res = price_all(activity(net))
    totals_ = {m: c["energy_pj_per_sample"] for m, c in res["models"].items()}
    band = res["band"]
    assert band["low"] == min(totals_.values()) and band["high"] == max(totals_.values())
    assert all(band["low"] <= e <= band["high"] for e in totals_.values())
    assert (band["low_model"], band["low_driver"]) == ("eq26", "synaptic")  # 226.2 pJ, first layer MACs
    assert (band["high_model"], band["high_driver"]) == ("loihi", "static")
    assert band["low"] == pytest.approx(4.6 * T * 16 + 0.9 * 0.25 * T * 8)


@pytest.mark.parametrize("model", list(MODELS))
def test_energy_is_affine_in_the_rate(net, model: str) -> None:
    act = activity(net)
    a, b = affine(MODELS[model], act)
    for rate in (0.0, 0.1, 0.7):
        assert MODELS[model](act.at_rate(rate)).total == pytest.approx(a + b * rate)


@pytest.mark.parametrize("model", list(MODELS))
def test_break_even_rate_plugged_back(net, model: str) -> None:
    act = activity(net)
    a, b = affine(MODELS[model], act)
    target = a + 0.3 * b  # a counterpart that the SNN matches at rate 0.3
    entry = break_even(a, b, target)
    assert entry["status"] == "beats below this rate"
    assert MODELS[model](act.at_rate(entry["rate"])).total == pytest.approx(target)


def test_break_even_against_the_fp32_ann_by_hand(net) -> None:
    res = price_all(activity(net, "static"))
    # a = 73.6 pJ (first layer once), b·r_measured = 5.4 pJ: r* = (110.4 - 73.6) / (5.4 / r_measured)
    entry = res["break_even"]["eq26"]["ann_fp32"]
    assert entry["rate"] == pytest.approx((4.6 * 24 - 4.6 * 16) * MEAN_RATE / (0.9 * 0.25 * T * 8))
    assert entry["beats_at_measured_rate"] and entry["like_for_like"]
    assert "every feasible rate" in entry["status"]  # 1.325 > 1
    never = res["break_even"]["mem45"]["ann_int8"]  # state traffic alone exceeds the int8 ANN
    assert never["rate"] == 0.0 and never["status"].startswith("never") and not never["beats_at_measured_rate"]


def test_markdown_states_where_the_snn_saves(net) -> None:
    md = energy_markdown({"energy_models": price_all(activity(net, "static"))})
    assert "| SNN model |" in md and "**Band:**" in md
    assert "**This SNN saves energy** under *Eq. 26 (45 nm fp32" in md  # 79.0 pJ < 110.4 pJ
    verdict_no = md.split("**It does not** under ")[1]
    assert "Eq. 26" not in verdict_no
    assert "*45 nm integer with memory" in verdict_no and "*Loihi-class" in verdict_no
    assert "not available (why)" in energy_markdown({"energy_models": None, "energy_models_unavailable": "why"})


def test_readout_layers_and_new_neuron_kinds(net) -> None:
    """A layer that never fires (``spiking = False``, e.g. an LI readout) needs no counts; its kind is kept."""
    readout = types.SimpleNamespace(shape=(2,), kind="LI", spiking=False)
    lowered = dataclasses.replace(net, neurons={**net.neurons, "lif2": readout})
    counts = {k: v for k, v in COUNTS.items() if k != "float/lif2"}
    act = count_activity(lowered, counts, "float", measure_input([frames("events")]))
    assert [(n.kind, n.spikes) for n in act.neurons][1] == ("LI", 0.0)
    assert math.isfinite(MODELS["mem45"](act).total)


def test_sram_table() -> None:
    from spikinghash.energy.targets import sram_read_pj, sram_word_pj

    kb = 1024
    assert [sram_word_pj(s) for s in (1, 8 * kb, 32 * kb, 1024 * kb)] == pytest.approx([10, 10, 20, 100])  # Horowitz
    assert sram_word_pj(16 * kb) == pytest.approx(10 * 2 ** 0.5)  # 4x the size -> 2x the energy: square-root law
    assert sram_word_pj(64 * kb) == pytest.approx(20 * 2 ** (math.log(5) / math.log(32)))
    assert sram_word_pj(2048 * kb) == 1300.0  # beyond 1 MB: DRAM, 1.3 nJ per 64 bits
    assert sram_read_pj(8 * kb, 8) == pytest.approx(10 / 8)  # one 8-bit weight: an eighth of a 64-bit read


def test_price_graph_is_the_one_call_for_any_graph(net) -> None:
    res = price_all(activity(net))
    batches = [frames("events")[:, :1], frames("events")[:, 1:]]  # the two samples in two batches
    one = price_graph(net, COUNTS, batches, view="float")
    assert one["band"] == res["band"] and one["break_even"] == res["break_even"]


def test_no_spikes_at_all(net, tmp_path) -> None:
    """Nothing fired: no slope to solve with; the figures stay finite and the charts are still drawn."""
    from spikinghash.energy.plot_models import plot_break_even, plot_causes

    silent = {**COUNTS, "float/lif1": np.zeros((1, 2, 2)), "float/lif2": np.zeros(2)}
    res = price_all(count_activity(net, silent, "float", measure_input([frames("events")])))
    assert res["mean_firing_rate"] == 0 and res["rate_lines"]["mem45"]["b_pj_per_rate"] is None
    assert res["break_even"]["mem45"]["ann_int8"]["rate"] is None
    plot_causes(res, tmp_path / "c.png")
    plot_break_even(res, tmp_path / "b.png")
    assert (tmp_path / "c.png").stat().st_size > 0 and (tmp_path / "b.png").stat().st_size > 0


GONE = {"hardware", "ann", "eq26_ours", "eq26_paper", "energy_pj_per_sample_ann", "energy_pj_per_sample_hardware",
        "ann_over_snn_float", "ann_energy_pj"}


def keys_anywhere(node: object) -> set[str]:
    """Every dict key in a JSON-like tree, at any depth."""
    if isinstance(node, dict):
        return set(node).union(*(keys_anywhere(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(keys_anywhere(v) for v in node))
    return set()


def test_energy_json_is_one_generation(net) -> None:
    """energy.json (``headline(nir_views(...))``) holds one Eq. 26, one Loihi view and one ANN family, and the
    Eq. 26 numbers of the views, the top level and the model table are one and the same."""
    stored = {"integer/lif1": COUNTS["float/lif1"], "integer/lif2": COUNTS["float/lif2"],
              "samples": np.array(B), "T": np.array(T)}
    x = frames("events")
    s = headline(nir_views(net, [x[:, :1], x[:, 1:]], T, stored, "by hand"))
    assert not keys_anywhere(s) & GONE
    sec = s["energy_models"]
    assert set(sec["models"]) == set(s["energy_pj_per_sample_by_model"]) == {"eq26", "mem45", "loihi"}
    assert set(sec["counterparts"]) == {"ann_fp32", "ann_int8", "ann_lowbit"}
    assert sec["spike_counts"] == "integer"
    # integer counts as written above, event frames: 4.6 × 48 + 0.9 × 6 (see test_eq26_first_layer_by_input_kind)
    assert s["energy_pj_per_sample_integer"] == pytest.approx(226.2)
    assert s["integer"]["totals_per_sample"]["energy_pj"] == pytest.approx(226.2)
    assert sec["models"]["eq26"]["energy_pj_per_sample"] == pytest.approx(226.2)
    assert s["float"]["layers"][0]["mac_count"] == 48 and s["float"]["input_kind"] == "event_frames"
    assert (s["energy_pj_per_sample_ann_fp32"], s["energy_pj_per_sample_ann_int8"],
            s["energy_pj_per_sample_ann_lowbit"]) == pytest.approx((110.4, 62.15, 51.575))
    assert sec["counted"] == pytest.approx({"synaptic_events_per_sample": 8.0, "input_events_per_sample": 2.0,
                                            "neuron_updates_per_sample": 18.0, "spikes_per_sample": 3.5})
    assert set(s["integer"]["layers"][0]) == {"name", "type", "flops", "input_rate", "sops", "mac_count",
                                              "ac_count", "energy_pj"}
