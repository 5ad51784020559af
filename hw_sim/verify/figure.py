"""``hw_sim.png``: firing rate per layer (float vs integer) and float/integer spike agreement per layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spikinghash.plotting import pyplot, save_png


def plot_layers(layers: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Two panels over the neuron layers in graph order: rates (spikes per neuron per step) of the float
    and the integer run, and their spike agreement; ``layers`` are ``hw_sim.json``'s rows."""
    plt = pyplot()
    x = np.arange(len(layers))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6.0, 0.28 * len(layers) + 2), 6.0), sharex=True)
    top.bar(x - 0.2, [r["rate_float"] for r in layers], width=0.4, label="float")
    top.bar(x + 0.2, [r["rate_integer"] for r in layers], width=0.4, label="integer")
    top.set(ylabel="firing rate (spikes/neuron/step)", title=title)
    top.legend(fontsize=8)
    top.grid(alpha=0.3, axis="y")
    agreement = np.array([r["spike_agreement"] for r in layers])
    bottom.plot(x, 100.0 * agreement, marker="o", markersize=3)
    low = float(100.0 * agreement.min()) if len(agreement) else 99.0
    bottom.set(ylabel="spike agreement (%)", ylim=(min(low - 0.5, 99.0), 100.2))
    bottom.grid(alpha=0.3)
    bottom.set_xticks(x, [_short(r["name"]) for r in layers], rotation=90, fontsize=6)
    fig.tight_layout()
    return save_png(fig, path)


def _short(name: str) -> str:
    """``backbone.stages.1.blocks.0.swm.levels.0.t_sn`` -> ``s1.b0.swm.l0.t_sn``."""
    return (name.removeprefix("backbone.").replace("stages.", "s").replace("blocks.", "b")
            .replace("levels.", "l"))
