"""Every SNN model against every ANN counterpart: the band, and the break-even firing rate of each pair.

Each SNN model is affine in the spikes: with every neuron's spike count scaled by k (the input
kept), synaptic events, active updates, SOPs and messages scale by k, and everything else (first
layer, inactive-update base, state traffic, static power) does not. So ``E(r) = a + b·r`` in the
mean firing rate r exactly, with ``a = E(k = 0)`` and ``b = (E(measured) − a) / r_measured``
(:func:`affine`). The break-even rate against a counterpart of energy ``E_ann`` (independent of
the SNN's rate) is ``r* = (E_ann − a) / b``: below it the SNN costs less (:func:`break_even`).
"""

from __future__ import annotations

from typing import Any, Callable

from spikinghash.energy.activity import Activity
from spikinghash.energy.costs import ModelCost
from spikinghash.energy.counterparts import COUNTERPARTS
from spikinghash.energy.models import MODELS

#: Counterparts priced under the same technology assumptions as each SNN model (the fair comparison).
LIKE_FOR_LIKE = {"eq26": ("ann_fp32",), "mem45": ("ann_int8", "ann_lowbit"), "loihi": ("ann_int8", "ann_lowbit")}


def affine(model: Callable[[Activity], ModelCost], act: Activity) -> tuple[float, float]:
    """``(a, b)`` with ``model(act at mean rate r).total == a + b·r`` (pJ, pJ per unit rate)."""
    a = model(act.scaled(0.0)).total
    r = act.mean_rate
    if r == 0:
        return a, float("nan")
    return a, (model(act).total - a) / r


def break_even(a: float, b: float, e_ann: float) -> dict[str, Any]:
    """The mean firing rate where ``a + b·r = e_ann``, and how to read it."""
    if not b > 0:  # nan (nothing fired) or an energy that does not grow with spikes
        beats = a < e_ann
        return {"rate": None, "status": "beats at every rate" if beats else "never beats"}
    r = (e_ann - a) / b
    if r <= 0:
        return {"rate": 0.0, "status": "never beats (costs more even with no spikes)"}
    if r >= 1:
        return {"rate": r, "status": "beats at every feasible rate (break-even above 1 spike per neuron per step)"}
    return {"rate": r, "status": "beats below this rate"}


def counted(act: Activity) -> dict[str, float]:
    """What every model prices, per sample: synaptic events (input events' included), input events, neuron
    updates and spikes."""
    return {"synaptic_events_per_sample": sum(p.events for p in act.paths),
            "input_events_per_sample": float(act.input.events_per_sample.sum()),
            "neuron_updates_per_sample": sum(n.updates for n in act.neurons),
            "spikes_per_sample": sum(n.spikes for n in act.neurons)}


def price_all(act: Activity, step_s: float | None = None) -> dict[str, Any]:
    """All models and counterparts of ``act`` (pJ per sample), the band, break-even rates and the rate lines."""
    models: dict[str, Callable[[Activity], ModelCost]] = dict(MODELS)
    if step_s is not None:
        models["loihi"] = lambda a: MODELS["loihi"](a, step_s)  # type: ignore[call-arg]
    snn = {name: fn(act) for name, fn in models.items()}
    ann = {name: fn(act) for name, fn in COUNTERPARTS.items()}
    lines = {name: affine(fn, act) for name, fn in models.items()}
    rate = act.mean_rate
    breaks: dict[str, dict[str, Any]] = {}
    for m, (a, b) in lines.items():
        breaks[m] = {}
        for c, cost in ann.items():
            entry = break_even(a, b, cost.total)
            entry["beats_at_measured_rate"] = snn[m].total < cost.total
            entry["like_for_like"] = c in LIKE_FOR_LIKE[m]
            breaks[m][c] = entry
    low = min(snn, key=lambda m: snn[m].total)
    high = max(snn, key=lambda m: snn[m].total)
    band = {"low": snn[low].total, "low_model": low, "low_driver": snn[low].driver(),
            "high": snn[high].total, "high_model": high, "high_driver": snn[high].driver()}
    return {"spike_counts": act.spike_counts, "input_kind": act.input.kind, "T": act.steps,
            "mean_firing_rate": rate, "counted": counted(act),
            "models": {m: c.as_dict() for m, c in snn.items()},
            "counterparts": {c: cost.as_dict() for c, cost in ann.items()}, "band": band,
            "break_even": breaks, "rate_lines": {m: {"a_pj": a, "b_pj_per_rate": b if b == b else None}  # None: nothing fired
                           for m, (a, b) in lines.items()}}


def price_graph(net: Any, counts: Any, frames: Any, view: str = "integer", step_s: float | None = None) -> dict[str, Any]:
    """:func:`price_all` of any canonical NIR graph ``net`` (``hw_sim.frontend.graph.CanonicalNet``) from its spike
    ``counts`` (``nir_count.spike_counts`` / ``hw_sim_counts.npz``) and the frames it read, given as
    batches ``[T, B, *input_shape]`` (an iterable of arrays)."""
    from spikinghash.energy.activity import count_activity
    from spikinghash.energy.input_profile import measure_input

    return price_all(count_activity(net, counts, view, measure_input(frames)), step_s)
