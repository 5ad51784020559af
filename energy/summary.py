"""``energy.json``'s views of one counted graph, and its top-level numbers (:func:`headline`).

A NIR graph (:func:`nir_views`): its activity is counted once per spike-count view (``float``: the
float simulation of the frames given; ``integer``: ``hw_sim_counts.npz`` of an integer run, when the
caller has it) and priced by Eq. 26 per layer (``models.eq26_layers``) for each view, and by every
energy model and ANN counterpart (``compare.price_all``) from the integer view (the float one,
labelled, without it). An ONNX graph (:func:`onnx_views`): Eq. 26 per counted node from the ONNX
counter, no energy models (they need the NIR graph's exact synapses and neuron states).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from spikinghash.energy.activity import Activity, count_activity
from spikinghash.energy.break_even import price_all
from spikinghash.energy.counterparts import COUNTERPARTS, fp32_pass
from spikinghash.energy.input_profile import InputMeter
from spikinghash.energy.layer_cost import LayerCost, totals
from spikinghash.energy.models import eq26_layers
from spikinghash.energy.nir_count import has_view, spike_counts
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import CanonicalNet

if TYPE_CHECKING:
    from spikinghash.energy.onnx_count import OnnxCounter

NO_MODELS_ONNX = "the energy models price a NIR graph (exact synapses, neuron states); this run is counted on ONNX"


def view_summary(layers: Sequence[LayerCost], neurons: list[dict[str, Any]], mean_rate: float,
                 source: str, input_kind: str | None = None) -> dict[str, Any]:
    """One spike-count view (float or integer): Eq. 26 per layer, its totals per sample (pJ), neuron updates."""
    return {"rates_from": source, "input_kind": input_kind, "layers": [l.as_dict() for l in layers],
            "totals_per_sample": totals(layers), "neurons": neurons,
            "neuron_updates_per_sample": sum(n["updates_per_sample"] for n in neurons), "mean_firing_rate": mean_rate}


def activity_view(act: Activity, source: str) -> dict[str, Any]:
    """:func:`view_summary` of a NIR graph's counted activity (Eq. 26 by ``models.eq26_layers``)."""
    neurons = [{"name": n.name, "kind": n.kind, "neurons": n.neurons, "updates_per_sample": n.updates,
                "spikes_per_sample": n.spikes, "firing_rate": n.spikes / n.updates if n.updates else 0.0}
               for n in act.neurons]
    return view_summary(eq26_layers(act), neurons, act.mean_rate, source, act.input.kind)


def nir_views(net: CanonicalNet, batches: Iterable[np.ndarray], T: int, stored: Mapping[str, np.ndarray] | None,
              stored_source: str, bar: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Float view from ``batches`` of frames ``[T, B, *input_shape]``, integer view from ``stored`` counts
    (``hw_sim_counts.npz``'s arrays, if they fit ``net``), and the energy models of the integer view (the
    float one without it)."""
    counts: dict[str, Any] = {}
    meter = InputMeter()
    n = 0
    for x in batches:
        for key, value in spike_counts({"float": simulate_float(net, x).spikes}, T).items():
            counts[key] = counts.get(key, 0) + value if key.startswith("float/") else value
        meter.add(x)
        n += x.shape[1]
        bar(x.shape[1])
    profile = meter.profile()
    counts["samples"] = np.array(n)
    priced = count_activity(net, counts, "float", profile)
    out: dict[str, Any] = {"graph": "nir", "uncounted_ops": {},
                           "float": activity_view(priced, f"float simulation of {n} query samples"), "integer": None}
    if stored is not None and has_view(stored, net, "integer"):
        priced = count_activity(net, stored, "integer", profile)
        out["integer"] = activity_view(priced, f"{stored_source}: integer simulation of {int(stored['samples'])} "
                                               "samples")
    out["energy_models"] = price_all(priced)
    return out


def onnx_views(counter: "OnnxCounter", n: int) -> dict[str, Any]:
    """The views of an ONNX-counted graph (``counter`` filled with ``n`` query samples): Eq. 26 per counted
    node in the ``float`` view; no integer view and no energy models."""
    return {"graph": "onnx", "uncounted_ops": counter.plan.skipped,
            "float": view_summary(counter.layers(), counter.neuron_table(), counter.mean_firing_rate(),
                                  f"onnxruntime on {n} query samples", counter.input_profile().kind),
            "integer": None, "energy_models": None}


def model_keys(section: dict[str, Any] | None, float_view: dict[str, Any]) -> dict[str, Any]:
    """The top-level ``energy.json`` keys of the energy models and ANN counterparts (pJ per sample).

    Without a section (an ONNX-counted graph) only the fp32 counterpart is computable: :func:`fp32_pass` of
    the float view's layers; the rest is None and ``energy_models_unavailable`` says why."""
    if section is None:
        fp32 = fp32_pass((l["name"], l["flops"]) for l in float_view["layers"]).total
        return {"energy_pj_per_sample_ann_fp32": fp32, "energy_pj_per_sample_ann_int8": None,
                "energy_pj_per_sample_ann_lowbit": None, "energy_pj_per_sample_band": None,
                "energy_pj_per_sample_by_model": None, "break_even_rate": None,
                "energy_models_unavailable": NO_MODELS_ONNX}
    return {**{f"energy_pj_per_sample_{c}": section["counterparts"][c]["energy_pj_per_sample"] for c in COUNTERPARTS},
            "energy_pj_per_sample_band": section["band"],
            "energy_pj_per_sample_by_model": {m: c["energy_pj_per_sample"] for m, c in section["models"].items()},
            "break_even_rate": {m: {c: e["rate"] for c, e in pairs.items()}
                                for m, pairs in section["break_even"].items()}}


def headline(views: dict[str, Any]) -> dict[str, Any]:
    """``energy.json``'s top-level numbers (pJ per sample, firing rates), then the views themselves."""
    fl, it = views["float"], views["integer"]
    return {"energy_pj_per_sample_float": fl["totals_per_sample"]["energy_pj"],
            "energy_pj_per_sample_integer": it["totals_per_sample"]["energy_pj"] if it else None,
            "mean_firing_rate_float": fl["mean_firing_rate"],
            "mean_firing_rate_integer": it["mean_firing_rate"] if it else None,
            **model_keys(views["energy_models"], fl), **views}
