"""``energy_markdown(energy_json)``: the energy table and the sentence a user needs, for ``report.md``.

Reads only ``energy.json``'s ``energy_models`` section (written by :func:`.break_even.price_all`
through the energy driver); for a graph without it (ONNX runs) it says why there is no table.
"""

from __future__ import annotations

from typing import Any

NAMES = {"ann_fp32": "fp32 ANN", "ann_int8": "int8 ANN", "ann_lowbit": "low-bit ANN"}


def _uj(pj: float) -> str:
    return f"{pj / 1e6:.3g}"


def _rate(entry: dict[str, Any]) -> str:
    r = entry["rate"]
    if r is None:
        return "none (energy does not grow with spikes)" if "every" in entry["status"] else "none"
    if r <= 0:
        return "never (loses at rate 0)"
    return f"{r:.3g}" + (" (> 1: every feasible rate)" if r >= 1 else "")


def _pairs(section: dict[str, Any], model: str) -> list[tuple[str, dict[str, Any]]]:
    return [(c, e) for c, e in section["break_even"][model].items() if e["like_for_like"]]


CAUSE_WORDS = {"synaptic": "synaptic operations", "neuron": "neuron updates", "memory": "memory traffic",
               "static": "static power"}


def _verdict(sec: dict[str, Any]) -> str:
    """One clause per SNN model: against which like-for-like counterparts it saves energy, and up to which rate."""
    models, ann = sec["models"], sec["counterparts"]
    saves, loses = [], []
    for m, cost in models.items():
        pairs = _pairs(sec, m)
        won = [(c, e) for c, e in pairs if e["beats_at_measured_rate"]]
        lost = [c for c, e in pairs if not e["beats_at_measured_rate"]]
        if won:
            saves.append(f"*{cost['label']}*: " + ", ".join(
                f"{ann[c]['energy_pj_per_sample'] / cost['energy_pj_per_sample']:.3g}× less than the {NAMES[c]} "
                f"(break-even mean firing rate {_rate(e)})" for c, e in won))
        if lost:
            loses.append(f"*{cost['label']}*: " + ", ".join(
                f"{cost['energy_pj_per_sample'] / ann[c]['energy_pj_per_sample']:.3g}× the {NAMES[c]}" for c in lost)
                + f", {100 * cost['share_by_cause'][cost['driver']]:.0f} % of it {CAUSE_WORDS[cost['driver']]}")
    parts = []
    if saves:
        parts.append("**This SNN saves energy** under " + "; ".join(saves) + ".")
    if loses:
        parts.append("**It does not** under " + "; ".join(loses) + ".")
    return " ".join(parts)


def energy_markdown(energy_json: dict[str, Any]) -> str:
    """Markdown: one row per SNN model and like-for-like counterpart, the band, and the verdict sentence."""
    sec = energy_json.get("energy_models")
    if not sec:
        why = energy_json.get("energy_models_unavailable", "energy.json has no energy_models section")
        return f"*Energy models: not available ({why}).*\n"
    models, ann = sec["models"], sec["counterparts"]
    lowbit = ann["ann_lowbit"]["assumptions"]["activation_bits"]
    head = (f"**Energy per sample**: T = {sec['T']}, {sec['spike_counts']} spike counts, mean firing rate "
            f"{sec['mean_firing_rate']:.4f} spikes per neuron per step, input: {sec['input_kind'].replace('_', ' ')}; "
            f"low-bit ANN = {lowbit}-bit activations (⌈log2(T+1)⌉). Conventions: `docs/energy.md`.\n")
    rows = ["| SNN model | SNN (µJ) | driven by | ANN counterpart (µJ) | SNN / ANN | SNN saves energy? | "
            "break-even mean firing rate |", "|---|---|---|---|---|---|---|"]
    for m, cost in models.items():
        for c, entry in _pairs(sec, m):
            e_ann = ann[c]["energy_pj_per_sample"]
            rows.append(f"| {cost['label']} | {_uj(cost['energy_pj_per_sample'])} | {cost['driver']} "
                        f"({100 * cost['share_by_cause'][cost['driver']]:.0f} %) | {NAMES[c]}: {_uj(e_ann)} | "
                        f"{cost['energy_pj_per_sample'] / e_ann:.3g} | "
                        f"{'**yes**' if entry['beats_at_measured_rate'] else 'no'} | {_rate(entry)} |")
    band = sec["band"]
    lines = [head, "\n".join(rows), "",
             f"**Band:** {_uj(band['low'])} µJ ({models[band['low_model']]['label']}; {band['low_driver']}) to "
             f"{_uj(band['high'])} µJ ({models[band['high_model']]['label']}; {band['high_driver']}).", ""]
    loihi = models.get("loihi")
    if loihi:
        a = loihi["assumptions"]
        lines += [f"Loihi-class static power: {a['static_w']} W × {sec['T']} steps × {a['step_s'] * 1e3:.3g} ms per "
                  f"step ({a['time_step']}); static power equals the per-op energy at a step of "
                  f"{a['static_equals_dynamic_at_step_s'] * 1e6:.3g} µs.", ""]
    lines.append(_verdict(sec))
    return "\n".join(lines).rstrip() + "\n"
