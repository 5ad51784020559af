"""report.md: report.json's numbers as a page a person reads, with the figures inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.energy.verdict import energy_markdown

# Headline key -> (meaning, source file) for the table and the README.
MEANINGS: dict[str, tuple[str, str]] = {
    "map_float": ("mAP@all of the float (torch) model, query vs database split", "eval.json"),
    "map_integer": ("mAP@all of the integer (Loihi-like) model's codes", "hw_sim.json"),
    "hash_bit_agreement": ("fraction of code bits equal between float and integer model", "hw_sim.json"),
    "map_integer_ptq": ("integer mAP after post-training quantization (a QAT run: of its source)", "hw_sim.json"),
    "hash_bit_agreement_ptq": ("hash-bit agreement after post-training quantization", "hw_sim.json"),
    "energy_pj_per_sample_band": ("energy per sample, lowest to highest of the energy models (pJ)", "energy.json"),
    "energy_pj_per_sample_ann_int8": ("energy per sample of the same architecture as an int8 ANN, with memory",
                                      "energy.json"),
    "lava_samples": ("samples run through real Lava (fixed_pt)", "hw_sim.json"),
    "lava_fast_bit_exact": ("every spike of those samples equal in Lava and the fast simulator", "hw_sim.json"),
    "energy_pj_per_sample_float": ("energy per sample, Eq. 26 (45 nm fp32) at the float model's spike rates",
                                   "energy.json"),
    "energy_pj_per_sample_integer": ("energy per sample, Eq. 26 at the integer model's spike counts", "energy.json"),
    "energy_pj_per_sample_ann_fp32": ("energy per sample of the same architecture as an fp32 ANN (all MACs, Eq. 26's "
                                      "E_MAC)", "energy.json"),
    "mean_firing_rate_float": ("spikes per neuron per time step, float model", "hw_sim.json"),
    "mean_firing_rate_integer": ("spikes per neuron per time step, integer model", "hw_sim.json"),
    "wall_seconds": ("wall time of the whole pipeline (`spikinghash demo`)", "demo"),
}

FIGURE_TITLES = {
    "pr_curve": "Precision–recall over Hamming radius",
    "firing_rates": "Firing rate per layer, float vs integer",
    "energy_layers": "Energy per layer, MAC and AC parts",
    "bubbles": "Accuracy, energy and parameters of the runs in the folder (Fig. 4 style)",
    "similarity": "Learned S_soft beside the codes' Hamming class similarity (Fig. 5 style)",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and {"low", "high"} <= set(value):  # the energy band
        return f"{_fmt(value['low'])} ({value.get('low_model')}) – {_fmt(value['high'])} ({value.get('high_model')})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def render_markdown(report: dict[str, Any], run_dir: Path) -> str:
    """The page for ``report`` (report.json's content) of ``run_dir``."""
    r = report
    lines = [f"# Report: {r.get('model') or '?'} on {r.get('data') or '?'}, {r.get('bits') or '?'} bits",
             "", f"Run folder `{run_dir}`; parameters {_fmt(r.get('params'))}; T = {_fmt(r.get('T'))}.", ""]
    if r.get("missing"):
        lines += ["**Missing inputs** (their numbers are null below):", ""]
        lines += [f"- `{m['file']}`: run `{m['command']}`" for m in r["missing"]]
        lines.append("")
    lines += ["| number | value | meaning | from |", "|---|---:|---|---|"]
    lines += [f"| `{k}` | {_fmt(r.get(k))} | {meaning} | {src} |" for k, (meaning, src) in MEANINGS.items()]
    lines += ["", "## Retrieval (float model)", ""]
    if r.get("map") is not None:
        lines.append(f"mAP@{r['map_k']} {_fmt(r['map'])}, P@{r['precision_k']} {_fmt(r['precision'])}, "
                     f"ACG@{r['ndcg_n']} {_fmt(r['acg'])}, NDCG@{r['ndcg_n']} {_fmt(r['ndcg'])} "
                     f"over {r['queries']} queries (epoch {r['epoch']}).")
    else:
        lines.append("No eval.json.")
    lines += ["", "## Hardware simulation", ""]
    sim = r.get("hw_sim_samples")
    if isinstance(sim, dict):
        lines.append(f"Fast simulator on {sim.get('query')} query and {sim.get('db')} database samples; "
                     f"NIR float reference mAP "
                     f"{_fmt(r.get('hw_sim_map_float'))}. Lava: {_fmt(r.get('lava_samples'))} samples, "
                     f"{_fmt(r.get('lava_mismatched_spikes'))} mismatched spikes, "
                     f"{_fmt(r.get('lava_seconds_per_sample'))} s per sample with its start-up, "
                     f"{_fmt(r.get('lava_seconds_per_sample_after_startup'))} s after it; fast simulator "
                     f"{_fmt(r.get('fast_samples_per_s'))} samples/s "
                     f"({_fmt(r.get('fast_over_lava'))}× Lava after start-up).")
        if r.get("queries") is not None and sim.get("query") != r["queries"]:
            lines += ["", f"**Note:** `map_integer` comes from {sim.get('query')} of the {r['queries']} queries "
                      "(`simulate --limit`); compare it with `hw_sim_map_float`, not with `map_float`."]
        if r.get("readout") == "classify":
            lines += ["", f"Classification by the output layer: accuracy float {_fmt(r.get('accuracy_float'))}, "
                      f"integer {_fmt(r.get('accuracy_integer'))}, Lava {_fmt(r.get('accuracy_lava'))} "
                      "(query split; Lava on its samples only)."]
    else:
        lines.append("No hw_sim.json.")
    if r.get("deployed") == "qat":
        lines += ["", f"**Deployed model: quantization-aware fine-tuned** from `{r.get('qat_source')}`. Post-training "
                  f"quantization of that source gave integer mAP {_fmt(r.get('map_integer_ptq'))} (float "
                  f"{_fmt(r.get('map_float_ptq_source'))}) and hash-bit agreement "
                  f"{_fmt(r.get('hash_bit_agreement_ptq'))}; the deployed model: {_fmt(r.get('map_integer'))} and "
                  f"{_fmt(r.get('hash_bit_agreement'))}."]
    if r.get("energy_models"):
        lines += ["", "## Energy models", "", energy_markdown({"energy_models": r["energy_models"]}).rstrip()]
    if r.get("energy_ratio_ann_over_float") is not None:
        lines += ["", f"Under Eq. 26 the fp32 ANN counterpart needs {r['energy_ratio_ann_over_float']:.1f}× the float "
                  "SNN's energy."]
    if r.get("runs_without_energy"):
        lines += ["", "Runs left out of the bubble chart (no energy.json): "
                  + ", ".join(r["runs_without_energy"]) + "."]
    for key, name in (r.get("figures") or {}).items():
        lines += ["", f"## {FIGURE_TITLES.get(key, key)}", "", f"![{key}]({name})"]
    return "\n".join(lines) + "\n"
