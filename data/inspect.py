"""Dataset statistics and a picture of samples as frame strips (``spikinghash data inspect``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.atomic_io import atomic_path
from spikinghash.data.frames import FrameDataset
from spikinghash.data.registry import SPLITS, Split, load_split


def split_stats(split: Split) -> dict[str, Any]:
    """Counts and event statistics of one split.

    Returns:
        ``samples``, ``per_class`` (class name → count), and for event data
        ``events_per_sample`` (mean/median/min/max), ``duration_ms`` (mean, first to last
        event), ``event_rate_hz`` (mean events per second per sample) and
        ``on_fraction`` (share of ON events).
    """
    info = split.info
    counts = np.bincount(split.labels, minlength=len(info.classes))
    out: dict[str, Any] = {"samples": len(split),
                           "per_class": {name: int(c) for name, c in zip(info.classes, counts)}}
    if info.kind != "events" or len(split) == 0:
        return out
    n_events, durations, on = [], [], 0
    for i in range(len(split)):
        ev, _ = split[i]
        n_events.append(len(ev))
        durations.append(float(ev["t"][-1] - ev["t"][0]) if len(ev) > 1 else 0.0)
        on += int(ev["p"].sum())
    n, d = np.array(n_events, dtype=np.float64), np.array(durations)
    rate = np.divide(n, d * 1e-6, out=np.zeros_like(n), where=d > 0)
    out.update({
        "events_per_sample": {"mean": round(float(n.mean()), 1), "median": float(np.median(n)),
                              "min": int(n.min()), "max": int(n.max())},
        "duration_ms": round(float(d.mean()) / 1000, 1),
        "event_rate_hz": round(float(rate.mean()), 1),
        "on_fraction": round(on / max(1, int(n.sum())), 4),
    })
    return out


def dataset_stats(name: str, root: Path | None = None, **options: Any) -> dict[str, Any]:
    """:func:`split_stats` for every split of dataset ``name``."""
    return {s: split_stats(load_split(name, s, root=root, **options)) for s in SPLITS}


def _rgb(frame: np.ndarray) -> np.ndarray:
    """``[P, H, W]`` counts to an ``[H, W, 3]`` picture: ON red, OFF blue (1 polarity: grey)."""
    scale = max(1.0, float(np.percentile(frame[frame > 0], 99)) if np.any(frame > 0) else 1.0)
    f = np.clip(frame.astype(np.float32) / scale, 0, 1)
    if f.shape[0] == 2:
        return np.stack([f[1], np.zeros_like(f[0]), f[0]], axis=-1)
    g = f.mean(axis=0)
    return np.stack([g, g, g], axis=-1)


def plot_samples(split: Split, T: int, out_png: Path, per_class: int = 1, max_classes: int = 16) -> Path:
    """Write a PNG: one row per sample (``per_class`` samples of the first ``max_classes``
    classes), one column per time step. Returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    info = split.info
    rows = [int(i) for c in range(min(len(info.classes), max_classes))
            for i in np.flatnonzero(split.labels == c)[:per_class]]
    ds = FrameDataset(split, T)
    fig, axes = plt.subplots(len(rows), T, figsize=(1.1 * T + 1.6, 1.1 * len(rows) + 0.6), squeeze=False)
    for r, idx in enumerate(rows):
        frames = ds.frames(idx)
        for t in range(T):
            ax = axes[r, t]
            ax.imshow(_rgb(frames[t]), interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={t}", fontsize=8)
        axes[r, 0].set_ylabel(info.classes[int(split.labels[idx])], rotation=0, ha="right", va="center", fontsize=8)
    kind = "ON red, OFF blue" if info.kind == "events" else "image"
    fig.suptitle(f"{info.name} / {split.split}: {T} frames per sample ({kind})", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return Path(out_png)
