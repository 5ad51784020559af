"""``energy.png``: Eq. 26's energy per layer and sample, stacked MAC (E_MAC) and AC (E_AC) parts, float vs integer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.atomic_io import atomic_path
from spikinghash.energy.targets import E_AC_PJ, E_MAC_PJ


def plot_energy(summary: dict[str, Any], path: str | Path, max_layers: int = 40) -> None:
    """Bars per layer (the ``max_layers`` costliest of the float model), MAC part below AC part, in nJ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    views = [(k, summary[k]) for k in ("float", "integer") if summary.get(k)]
    layers = summary["float"]["layers"]
    keep = sorted(range(len(layers)), key=lambda i: -layers[i]["energy_pj"])[:max_layers]
    keep.sort()
    width = 0.8 / len(views)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(keep) + 2), 4.5))
    for v, (name, view) in enumerate(views):
        rows = [view["layers"][i] for i in keep]
        xs = [i + v * width for i in range(len(rows))]
        mac = [E_MAC_PJ * r["mac_count"] / 1e3 for r in rows]
        ac = [E_AC_PJ * r["ac_count"] / 1e3 for r in rows]
        ax.bar(xs, mac, width, label=f"{name}: MAC", color=f"C{2 * v}")
        ax.bar(xs, ac, width, bottom=mac, label=f"{name}: AC", color=f"C{2 * v + 1}")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(keep))])
    ax.set_xticklabels([layers[i]["name"][-28:] for i in keep], rotation=75, ha="right", fontsize=6)
    ax.set_ylabel("energy per sample (nJ)")
    ann = summary.get("energy_pj_per_sample_ann_fp32")
    ax.set_title(f"{summary.get('model', '')}: Eq. 26 {summary['energy_pj_per_sample_float'] / 1e3:.1f} nJ/sample "
                 "(float)" + (f", fp32 ANN {ann / 1e3:.1f} nJ" if ann else ""), fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
