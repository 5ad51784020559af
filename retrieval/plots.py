"""PNG plots of retrieval quality: precision–recall over Hamming radius, and P@k."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from spikinghash.atomic_io import atomic_path


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:  # type: ignore[no-untyped-def]
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    _pyplot().close(fig)
    return Path(path)


def plot_pr_curve(precision: Sequence[float], recall: Sequence[float], path: Path, title: str) -> Path:
    """Precision against recall, one point per Hamming radius r = 0..L (labelled every few r)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    ax.plot(recall, precision, marker="o", markersize=3)
    step = max(1, len(precision) // 8)
    for r in range(0, len(precision), step):
        ax.annotate(f"r={r}", (recall[r], precision[r]), fontsize=7, textcoords="offset points", xytext=(3, 3))
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.02), ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def plot_precision_curve(ks: Sequence[int], precision: np.ndarray, path: Path, title: str) -> Path:
    """Mean P@k against k (log axis)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    ax.plot(ks, precision, marker="o", markersize=3)
    ax.set(xscale="log", xlabel="k (retrieved items)", ylabel="mean precision@k", ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _save(fig, path)


def plot_training_curves(metrics_jsonl: Path, path: Path, title: str) -> Path:
    """Loss (left axis) and query/database mAP (right axis) over epochs, from ``metrics.jsonl``."""
    import json

    rows = [json.loads(line) for line in Path(metrics_jsonl).read_text().splitlines() if line.strip()]
    plt = _pyplot()
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
    return _save(fig, path)
