"""``spikinghash report RUN_DIR``: gather a run's results into report.json, report.md and PNGs.

Written into ``RUN_DIR`` (each file atomically; a figure whose data is missing is skipped):

- ``report.json``: the headline numbers (:data:`~spikinghash.report.sources.HEADLINE`, null
  where the source file is missing), retrieval details, parameters, per-layer tables, the
  Fig. 5 matrices, the Fig. 4 points, and ``missing``: each absent file with its command;
- ``report.md``: the same for people;
- ``report_firing_rates.png``, ``report_energy_layers.png``, ``report_bubbles.png``,
  ``report_pr_curve.png``, ``report_similarity.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.atomic_io import atomic_open, write_json
from spikinghash.report import figures as F
from spikinghash.report.layers import energy_rows, firing_rate_rows
from spikinghash.report.markdown import render_markdown
from spikinghash.report.runs import bubble_points, count_parameters
from spikinghash.report.similarity import hamming_class_similarity, load_soft_similarity
from spikinghash.report.sources import RunSources, details, headline, read_json, read_sources
from spikinghash.retrieval.codes import CodeSet, load_codes
from spikinghash.retrieval.evaluate import evaluate

REPORT_JSON, REPORT_MD = "report.json", "report.md"
INTEGER_CODES = "hw_sim_codes.npz"


def _codes(path: Path) -> CodeSet | None:
    return load_codes(path) if path.is_file() else None


def _class_names(data: str | None, num: int) -> list[str]:
    from spikinghash.data.registry import dataset_info
    from spikinghash.errors import UserError

    try:
        names = list(dataset_info(str(data)).classes) if data else []
    except UserError:
        names = []
    return names if len(names) >= num else [str(i) for i in range(num)]


def _pr_curves(src: RunSources, integer: CodeSet | None) -> dict[str, tuple[list[float], list[float]]]:
    curves = {}
    pr = src.get("eval", "pr_curve")
    if isinstance(pr, dict):
        curves["float (eval.json)"] = (pr["precision"], pr["recall"])
    if integer is not None:
        m = evaluate(integer, map_k="all")
        curves["integer (hw_sim_codes.npz)"] = (m.pr_precision.tolist(), m.pr_recall.tolist())
    return curves


def _similarity_panels(run_dir: Path, codes: dict[str, CodeSet | None]) -> list[tuple[str, np.ndarray]]:
    """Fig. 5: S_soft from the checkpoint, then each code set's Hamming class similarity (database codes)."""
    panels = []
    if (run_dir / "checkpoint.pt").is_file():
        soft = load_soft_similarity(run_dir / "checkpoint.pt")
        if soft is not None:
            panels.append(("learned S_soft (Eq. 20)", soft))
    num = max((int(c.db_labels.max()) + 1 for c in codes.values() if c is not None), default=0)
    num = max([num] + [len(m) for _, m in panels])
    for name, c in codes.items():
        if c is not None:
            panels.append((f"{name} codes: mean 1 - d/L", hamming_class_similarity(c.db_codes, c.db_labels,
                                                                                   c.bits, num)))
    return panels


def _map_all(src: RunSources, float_codes: CodeSet | None) -> float | None:
    """The float model's mAP@all: eval.json's when computed at k = all, else from codes.npz."""
    ev = src.files.get("eval") or {}
    n_db = len(float_codes.db_codes) if float_codes is not None else None
    if ev.get("map") is not None and (ev.get("map_k") == "all" or (n_db is not None and ev.get("map_k") == n_db)):
        return float(ev["map"])
    return evaluate(float_codes, map_k="all").map if float_codes is not None else None


def build_report(run_dir: str | Path, runs_folder: str | Path | None = None,
                 wall_seconds: float | None = None) -> dict[str, Any]:
    """Write report.json, report.md and the PNGs for ``run_dir``; returns report.json's content.

    ``runs_folder``: the folder whose runs share the bubble chart (default: ``run_dir``'s parent).
    ``wall_seconds``: the whole pipeline's time (``spikinghash demo`` passes it); without it the
    value of a previous report is kept, else null.
    """
    run_dir = Path(run_dir)
    src = read_sources(run_dir)
    float_codes, integer_codes = _codes(run_dir / "codes.npz"), _codes(run_dir / INTEGER_CODES)
    params = count_parameters(run_dir) if (run_dir / "checkpoint.pt").is_file() else None
    report: dict[str, Any] = {**headline(src, _map_all(src, float_codes)), **details(src), "params": params}
    if wall_seconds is None and (run_dir / REPORT_JSON).is_file():
        wall_seconds = read_json(run_dir / REPORT_JSON).get("wall_seconds")
    report["wall_seconds"] = wall_seconds
    report["missing"] = src.missing
    title = f"{report.get('model') or run_dir.name}, {report.get('bits') or '?'} bits"
    figures: dict[str, str] = {}

    rates = firing_rate_rows(src.files.get("hw_sim"))
    report["layers"] = rates
    if rates:
        figures["firing_rates"] = F.plot_firing_rates(rates, run_dir / "report_firing_rates.png", title).name
    energy = energy_rows(src.files.get("energy"))
    report["energy_layers"] = energy
    if any(r["mac_pj"] is not None or r["ac_pj"] is not None for r in energy):
        figures["energy_layers"] = F.plot_energy_layers(energy, run_dir / "report_energy_layers.png", title).name

    folder = Path(runs_folder) if runs_folder is not None else run_dir.resolve().parent
    points, skipped = bubble_points(folder, run_dir, params)
    report["runs_compared"], report["runs_without_energy"] = points, skipped
    if points:
        figures["bubbles"] = F.plot_bubbles(points, run_dir / "report_bubbles.png", f"runs in {folder}").name

    curves = _pr_curves(src, integer_codes)
    if curves:
        figures["pr_curve"] = F.plot_pr_curves(curves, run_dir / "report_pr_curve.png", title).name

    panels = _similarity_panels(run_dir, {"float": float_codes, "integer": integer_codes})
    report["class_similarity"] = {name: np.round(m, 6).tolist() for name, m in panels}
    if panels:
        classes = _class_names(report.get("data"), max(len(m) for _, m in panels))
        figures["similarity"] = F.plot_similarity_matrices(panels, classes, run_dir / "report_similarity.png",
                                                           title).name
    report["figures"] = figures
    report = _json_safe(report)
    write_report_files(run_dir, report)
    return report


def write_report_files(run_dir: Path, report: dict[str, Any]) -> None:
    """Write report.json and report.md atomically (``report`` already JSON-safe: no NaN)."""
    write_json(run_dir / REPORT_JSON, report)
    with atomic_open(run_dir / REPORT_MD) as fh:
        fh.write(render_markdown(report, run_dir))


def set_wall_seconds(run_dir: str | Path, seconds: float) -> dict[str, Any]:
    """Replace ``wall_seconds`` in an existing report (report.json and report.md)."""
    run_dir = Path(run_dir)
    report = read_json(run_dir / REPORT_JSON)
    report["wall_seconds"] = round(float(seconds), 1)
    write_report_files(run_dir, report)
    return report


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
