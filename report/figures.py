"""The report's PNGs: firing rates, energy per layer, the accuracy–energy–parameters bubble chart
(paper Fig. 4), PR curves, and S_soft beside the codes' class similarity (paper Fig. 5).

Every function draws from plain numbers (rows or matrices), writes one PNG atomically and
returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spikinghash.plotting import pyplot, save_png


def short_name(name: str) -> str:
    """A layer name compact enough for an axis label (``backbone.stages.1.blocks.0.mlp`` -> ``s1.b0.mlp``)."""
    for long, short in (("backbone.", ""), ("stages.", "s"), ("blocks.", "b"), ("levels.", "l"), ("->", " → ")):
        name = name.replace(long, short)
    return name


def _finish_layer_bars(fig, ax, names: Sequence[str], xlabel: str, title: str, path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Label a horizontal bar chart with one row per layer (first layer on top) and save it."""
    ax.set(yticks=np.arange(len(names)), xlabel=xlabel, title=title)
    ax.set_yticklabels([short_name(n) for n in names], fontsize=6)
    ax.invert_yaxis()
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return save_png(fig, path)


def plot_firing_rates(rows: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Spikes per neuron per time step of every neuron layer, float model beside integer model."""
    plt = pyplot()
    names = [r["name"] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.4, 1.6 + 0.22 * len(rows)))
    for shift, key, label in ((-0.2, "rate_float", "float"), (0.2, "rate_integer", "integer")):
        ax.barh(y + shift, [r.get(key) or 0.0 for r in rows], height=0.4, label=label)
    return _finish_layer_bars(fig, ax, names, "firing rate (spikes / neuron / step)", title, path)


def plot_energy_layers(rows: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Eq. 26's energy per layer and sample (nJ), MAC part stacked under AC part, float and integer model side by
    side."""
    plt = pyplot()
    names = list(dict.fromkeys(r["name"] for r in rows))
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8.0, 1.6 + 0.22 * len(names)))
    for shift, model, hatch in ((-0.2, "float", None), (0.2, "integer", "//")):
        by_name = {r["name"]: r for r in rows if r["model"] == model}
        if not by_name:
            continue
        mac = np.array([by_name.get(n, {}).get("mac_pj") or 0.0 for n in names]) / 1e3  # nJ
        ac = np.array([by_name.get(n, {}).get("ac_pj") or 0.0 for n in names]) / 1e3
        ax.barh(y + shift, mac, height=0.4, color="tab:orange", hatch=hatch, label=f"MAC ({model})")
        ax.barh(y + shift, ac, height=0.4, left=mac, color="tab:blue", hatch=hatch, label=f"AC ({model})")
    return _finish_layer_bars(fig, ax, names, "energy per sample (nJ, Eq. 26, 45 nm)", title, path)


def bubble_area(params: int | None, largest: int) -> float:
    """Marker area (points²) proportional to the parameter count; a fixed small size when unknown."""
    return 40.0 if not params or not largest else 40.0 + 1200.0 * params / largest


def plot_bubbles(points: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """mAP against energy per sample (µJ, log axis), bubble area ∝ parameters (paper Fig. 4).

    ``points``: ``{run, kind ("snn" or "ann"), energy_pj, map, params}`` (the SNN's Eq. 26 and its fp32 ANN
    counterpart, ``energy_pj_per_sample_float`` / ``_ann_fp32``); the ANN is drawn hollow at its SNN's mAP,
    with a dotted line to it.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    largest = max((p["params"] or 0 for p in points), default=0)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    runs = list(dict.fromkeys(p["run"] for p in points))
    for i, run in enumerate(runs):
        c = colors[i % len(colors)]
        mine = {p["kind"]: p for p in points if p["run"] == run}
        for kind, p in mine.items():
            ax.scatter(p["energy_pj"] / 1e6, p["map"], s=bubble_area(p["params"], largest), alpha=0.6,
                       facecolors=c if kind == "snn" else "none", edgecolors=c, linewidths=1.5,
                       label=f"{run}" if kind == "snn" else None)
            ax.annotate(run if kind == "snn" else f"{run} (fp32 ANN)", (p["energy_pj"] / 1e6, p["map"]),
                        fontsize=7, textcoords="offset points", xytext=(5, 5))
        if len(mine) == 2:
            ax.plot([mine["snn"]["energy_pj"] / 1e6, mine["ann"]["energy_pj"] / 1e6],
                    [mine["snn"]["map"], mine["ann"]["map"]], ls=":", color=c, lw=1)
    ax.set(xscale="log", xlabel="energy per sample (µJ, 45 nm)", ylabel="mAP@all",
           title=title + "\nfilled: SNN, hollow: fp32 ANN counterpart; area ∝ parameters")
    ax.xaxis.set_minor_formatter(plt.NullFormatter())  # minor labels collide over a narrow range
    ax.margins(x=0.15, y=0.15)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_png(fig, path)


def plot_pr_curves(curves: dict[str, tuple[Sequence[float], Sequence[float]]], path: Path, title: str) -> Path:
    """Precision against recall over Hamming radius r = 0..L, one line per code source (label -> (P, R))."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    for (label, (precision, recall)), marker in zip(curves.items(), "os^v"):
        ax.plot(recall, precision, marker=marker, markersize=3, label=label)
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path)


def plot_similarity_matrices(panels: Sequence[tuple[str, np.ndarray]], classes: Sequence[str],
                             path: Path, title: str) -> Path:
    """Class-by-class matrices ``[C, C]`` on one colour scale 0..1, side by side (paper Fig. 5)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels) + 0.8, 4.1), squeeze=False,
                             layout="constrained")
    image = None
    for ax, (name, matrix) in zip(axes[0], panels):
        image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_title(name, fontsize=8)
        ticks = np.arange(matrix.shape[0])
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xticklabels(classes[: len(ticks)], fontsize=5, rotation=90)
        ax.set_yticklabels(classes[: len(ticks)], fontsize=5)
    fig.suptitle(title, fontsize=9)
    if image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    return save_png(fig, path)
