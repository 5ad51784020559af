"""``energy.json``'s views from one counted graph: per-layer costs (Eqs. 25-26), the ANN counterpart, the
chip's view and the energy models, from a canonical NIR graph, its input frames and spike counts.

Float spike counts come from ``hw_sim.float_sim`` on the frames given; integer counts, when the caller
has them (``hw_sim_counts.npz`` of an integer run), price the hardware view and the energy models;
without them the float counts do, and the view says so.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from spikinghash.energy.activity import count_activity
from spikinghash.energy.compare import price_all
from spikinghash.energy.inputs import InputMeter
from spikinghash.energy.layers import LayerCost, totals
from spikinghash.energy.nir_count import (hardware_view, has_view, mean_firing_rate, neuron_table, nir_layers,
                                          spike_counts)
from spikinghash.energy.targets import DEFAULT_TARGET
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import CanonicalNet

NO_MODELS_ONNX = "the energy models price a NIR graph (exact synapses, neuron states); this run is counted on ONNX"


def view_summary(layers: Sequence[LayerCost], neurons: list[dict[str, Any]], mean_rate: float,
                 source: str) -> dict[str, Any]:
    """One model view (float or integer): per-layer costs, totals per sample, neuron updates."""
    return {"rates_from": source, "layers": [l.as_dict() for l in layers], "totals_per_sample": totals(layers),
            "neurons": neurons, "neuron_updates_per_sample": sum(n["updates_per_sample"] for n in neurons),
            "mean_firing_rate": mean_rate}


def ann_summary(layers: Sequence[LayerCost]) -> dict[str, Any]:
    """The ANN counterpart: same layers, one pass, every operation a MAC."""
    return {"layers": [{"name": l.name, "type": l.type, "flops": l.flops, "mac_count": l.flops,
                        "energy_pj": l.ann_energy_pj} for l in layers],
            "energy_pj_per_sample": sum(l.ann_energy_pj for l in layers)}


def nir_views(net: CanonicalNet, batches: Iterable[np.ndarray], T: int, stored: Mapping[str, np.ndarray] | None,
              stored_source: str, bar: Callable[[int], None] = lambda n: None) -> dict[str, Any]:
    """Float view from ``batches`` of frames ``[T, B, *input_shape]``, integer view from ``stored`` counts
    (``hw_sim_counts.npz``'s arrays, if they fit ``net``), the hardware view and the energy models."""
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
    out: dict[str, Any] = {"graph": "nir", "uncounted_ops": {}}
    out["float"] = view_summary(nir_layers(net, counts, "float"), neuron_table(net, counts, "float"),
                                mean_firing_rate(net, counts, "float"), f"float simulation of {n} query samples")
    out["integer"], hw_counts, hw_view = None, counts, "float"
    if stored is not None and has_view(stored, net, "integer"):
        out["integer"] = view_summary(nir_layers(net, stored, "integer"), neuron_table(net, stored, "integer"),
                                      mean_firing_rate(net, stored, "integer"),
                                      f"{stored_source}: integer simulation of {int(stored['samples'])} samples")
        hw_counts, hw_view = stored, "integer"
    out["hardware"] = hardware_view(net, hw_counts, hw_view, DEFAULT_TARGET, input_events=profile.events_per_sample)
    out["energy_models"] = price_all(count_activity(net, hw_counts, hw_view, profile))
    return out


def model_keys(section: dict[str, Any] | None) -> dict[str, Any]:
    """The top-level ``energy.json`` keys of the energy models (None each without a section)."""
    if section is None:
        return {"energy_pj_per_sample_band": None, "energy_pj_per_sample_ann_int8": None,
                "energy_pj_per_sample_ann_lowbit": None, "energy_pj_per_sample_by_model": None,
                "break_even_rate": None, "energy_models_unavailable": NO_MODELS_ONNX}
    ann = section["counterparts"]
    return {"energy_pj_per_sample_band": section["band"],
            "energy_pj_per_sample_ann_int8": ann["ann_int8"]["energy_pj_per_sample"],
            "energy_pj_per_sample_ann_lowbit": ann["ann_lowbit"]["energy_pj_per_sample"],
            "energy_pj_per_sample_by_model": {m: c["energy_pj_per_sample"] for m, c in section["models"].items()},
            "break_even_rate": {m: {c: e["rate"] for c, e in pairs.items()}
                                for m, pairs in section["break_even"].items()}}


def headline(views: dict[str, Any]) -> dict[str, Any]:
    """``energy.json``'s top-level numbers from the views (float, integer, ANN, hardware, models)."""
    fl, it = views["float"], views["integer"]
    e_float = fl["totals_per_sample"]["energy_pj"]
    e_ann = fl["totals_per_sample"]["ann_energy_pj"]
    return {"energy_pj_per_sample_float": e_float,
            "energy_pj_per_sample_integer": it["totals_per_sample"]["energy_pj"] if it else None,
            "energy_pj_per_sample_ann": e_ann, "ann_over_snn_float": e_ann / e_float if e_float else None,
            "mean_firing_rate_float": fl["mean_firing_rate"],
            "mean_firing_rate_integer": it["mean_firing_rate"] if it else None,
            "energy_pj_per_sample_hardware": views["hardware"]["energy_pj_per_sample"] if views["hardware"] else None,
            **model_keys(views["energy_models"]), **views,
            "ann": ann_summary([LayerCost(**l) for l in fl["layers"]])}
