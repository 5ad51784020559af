"""PNG plots of retrieval quality: precision–recall over Hamming radius, and P@k."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from spikinghash.plotting import pyplot, save_png


def plot_pr_curve(precision: Sequence[float], recall: Sequence[float], path: Path, title: str) -> Path:
    """Precision against recall, one point per Hamming radius r = 0..L (labelled every few r)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    ax.plot(recall, precision, marker="o", markersize=3)
    step = max(1, len(precision) // 8)
    for r in range(0, len(precision), step):
        ax.annotate(f"r={r}", (recall[r], precision[r]), fontsize=7, textcoords="offset points", xytext=(3, 3))
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_png(fig, path)


def plot_precision_curve(ks: Sequence[int], precision: np.ndarray, path: Path, title: str) -> Path:
    """Mean P@k against k (log axis)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    ax.plot(ks, precision, marker="o", markersize=3)
    ax.set(xscale="log", xlabel="k (retrieved items)", ylabel="mean precision@k", ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_png(fig, path)


def plot_training_curves(metrics_jsonl: Path, path: Path, title: str) -> Path:
    """Loss (left axis) and query/database mAP (right axis) over epochs, from ``metrics.jsonl``."""
    import json

    rows = [json.loads(line) for line in Path(metrics_jsonl).read_text().splitlines() if line.strip()]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    epochs = [r["epoch"] for r in rows]
    ax.plot(epochs, [r["loss"] for r in rows], color="tab:blue", marker="o", markersize=3, label="loss")
    ax.set(xlabel="epoch", ylabel="training loss", title=title)
    ax.grid(alpha=0.3)
    evaluated = [(r["epoch"], r["map"]) for r in rows if r.get("map") is not None]
    if evaluated:
        ax2 = ax.twinx()
        ax2.plot(*zip(*evaluated), color="tab:red", marker="s", markersize=4, label="mAP")
        ax2.set(ylabel=f"mAP@{rows[-1].get('map_k', 'all')}", ylim=(0, 1.02))
    fig.tight_layout()
    return save_png(fig, path)
