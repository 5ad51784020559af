"""Figures of the energy models (PNG, written atomically), from ``energy.json``'s ``energy_models`` section.

- :func:`plot_causes`: one panel per SNN model and ANN counterpart, energy per layer (nJ per
  sample) stacked by cause (synaptic, neuron, memory, static);
- :func:`plot_break_even`: one panel per SNN model, its energy against the mean firing rate (the
  exact line ``a + b·r``), the ANN counterparts as horizontal lines, the measured rate marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.atomic_io import atomic_path
from spikinghash.energy.costs import CAUSES

COLORS = {"synaptic": "C0", "neuron": "C1", "memory": "C2", "static": "C7"}
ANN_STYLE = {"ann_fp32": ("C3", "-"), "ann_int8": ("C4", "--"), "ann_lowbit": ("C5", ":")}


def _save(fig: Any, path: str | Path) -> None:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_causes(section: dict[str, Any], path: str | Path) -> None:
    """Stacked bars per layer and cause, one panel per model (SNN models first, then the counterparts)."""
    plt = _pyplot()
    panels = list(section["models"].items()) + list(section["counterparts"].items())
    cols = 4
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, cost) in zip(axes.ravel(), panels):
        layers = cost["layers"]
        xs = range(len(layers))
        bottom = [0.0] * len(layers)
        for cause in CAUSES:
            vals = [row[cause] / 1e3 for row in layers]
            if any(vals):
                ax.bar(xs, vals, 0.8, bottom=bottom, color=COLORS[cause], label=cause)
                bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(list(xs))
        ax.set_xticklabels([row["name"][-18:] for row in layers], rotation=70, ha="right", fontsize=6)
        ax.set_title(f"{cost['label']}\n{cost['energy_pj_per_sample'] / 1e3:.4g} nJ/sample", fontsize=8)
        ax.set_ylabel("nJ per sample", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    _save(fig, path)


def plot_break_even(section: dict[str, Any], path: str | Path) -> None:
    """Energy vs mean firing rate per SNN model, counterparts as horizontal lines, measured rate marked."""
    plt = _pyplot()
    rate = section["mean_firing_rate"]
    models = section["models"]
    fig, axes = plt.subplots(1, len(models), figsize=(4.0 * len(models), 3.6), squeeze=False)
    for ax, (name, cost) in zip(axes[0], models.items()):
        line = section["rate_lines"][name]
        a, b = line["a_pj"], line["b_pj_per_rate"]
        marks = [e["rate"] for e in section["break_even"][name].values() if e["rate"] and 0 < e["rate"] < 1]
        top = min(1.0, max([2.5 * rate, 0.05] + [1.3 * r for r in marks]))
        rs = [top * i / 100 for i in range(101)]
        b = b or 0.0  # None when nothing fired: a flat line
        ax.plot(rs, [(a + b * r) / 1e6 for r in rs], color="k", label="SNN")
        for c, ann in section["counterparts"].items():
            color, style = ANN_STYLE.get(c, ("C9", "-."))
            ax.axhline(ann["energy_pj_per_sample"] / 1e6, color=color, linestyle=style, label=ann["label"])
        ax.plot([rate], [cost["energy_pj_per_sample"] / 1e6], "o", color="k")
        ax.axvline(rate, color="grey", linewidth=0.8)
        ax.annotate(f"measured {rate:.3f}", (rate, cost["energy_pj_per_sample"] / 1e6), fontsize=6,
                    xytext=(4, 6), textcoords="offset points")
        values = [(a + b * top) / 1e6, a / 1e6] + [c["energy_pj_per_sample"] / 1e6 for c in section["counterparts"].values()]
        if max(values) > 20 * max(min(values), 1e-12):
            ax.set_yscale("log")  # e.g. static power far above the ANN lines: a linear axis would flatten them
        ax.set_xlabel("mean firing rate (spikes / neuron / step)", fontsize=7)
        ax.set_ylabel("µJ per sample", fontsize=7)
        ax.set_title(cost["label"], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=5)
    _save(fig, path)
