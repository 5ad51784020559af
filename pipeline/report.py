"""The report stage: gather a run's results into report.json, report.md and PNGs (``spikinghash report``).

Written into ``RUN_DIR`` (each file atomically; a figure whose data is missing is skipped):

- ``report.json``: the headline numbers (:data:`~spikinghash.report.sources.HEADLINE`, null
  where the source file is missing), retrieval details, parameters, per-layer tables, the
  Fig. 5 matrices, the Fig. 4 points, and ``missing``: each absent file with its command;
- ``report.md``: the same for people (``report.markdown``);
- ``report_firing_rates.png``, ``report_energy_layers.png``, ``report_bubbles.png``,
  ``report_pr_curve.png``, ``report_similarity.png`` (``report.figures``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.atomic_io import atomic_open, check_output_dir, write_json
from spikinghash.data.registry import dataset_info
from spikinghash.errors import DataError, UserError
from spikinghash.pipeline.bubbles import bubble_points, count_parameters
from spikinghash.pipeline.run_dir import (CHECKPOINT, CODES, ENERGY_JSON, EVAL, GRAPH_JSON, HW_SIM_CODES, HW_SIM_JSON,
                                          QAT_FILE, REPORT_FIGURES, REPORT_JSON, REPORT_MD)
from spikinghash.report import figures as F
from spikinghash.report.layers import energy_rows, firing_rate_rows
from spikinghash.report.markdown import render_markdown
from spikinghash.report.similarity import hamming_class_similarity
from spikinghash.report.sources import RunSources, details, headline, read_json
from spikinghash.retrieval.codes import CodeSet, load_codes
from spikinghash.retrieval.scoring import evaluate
from spikinghash.train.checkpoint import load_checkpoint

# Each source: file name and the command that writes it ({run} is the run folder).
SOURCES: dict[str, tuple[str, str]] = {
    "eval": (EVAL, "spikinghash eval {run}"),
    "hw_sim": (HW_SIM_JSON, "spikinghash simulate {run} --backend fast"),
    "energy": (ENERGY_JSON, "spikinghash energy {run}"),
}


def read_sources(run_dir: str | Path) -> RunSources:
    """Read every source file of ``run_dir`` that exists; note each missing one with its command."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist; train one with `spikinghash train ... --out {run_dir}`")
    files: dict[str, dict[str, Any] | None] = {}
    missing = []
    for name, (filename, command) in SOURCES.items():
        path = run_dir / filename
        files[name] = read_json(path) if path.is_file() else None
        if files[name] is None:
            missing.append({"file": filename, "command": command.format(run=run_dir)})
    if all(v is None for v in files.values()):
        raise DataError(f"{run_dir} holds none of {', '.join(f for f, _ in SOURCES.values())}; "
                        f"run `spikinghash eval {run_dir}` first")
    return RunSources(run_dir, files, missing)


def load_soft_similarity(checkpoint: str | Path) -> np.ndarray | None:
    """The learned S_soft ``[C, C]`` (after Eq. 20's filter) stored in a run's checkpoint.

    None when the run trained without the soft similarity (``loss.soft_similarity: false``).
    """
    state = load_checkpoint(checkpoint)
    soft = state.get("soft_similarity")
    if soft is None:
        return None
    if "soft" not in soft:
        raise DataError(f"{checkpoint} holds a soft-similarity state without 'soft'; it was written by "
                        "another version of spikinghash, train the run again")
    return soft["soft"].double().numpy()


def quantization_views(run_dir: Path) -> dict[str, Any]:
    """Post-training quantization beside the deployed model: a QAT run (``qat.json``) reads its source run's
    ``hw_sim.json`` (``*_ptq`` keys, null when the source has none); any other run *is* its PTQ."""
    grid = run_dir / QAT_FILE
    if not grid.is_file():
        hw = read_json(run_dir / HW_SIM_JSON) if (run_dir / HW_SIM_JSON).is_file() else {}
        return {"deployed": "ptq", "qat_source": None, "map_integer_ptq": hw.get("map_integer"),
                "hash_bit_agreement_ptq": hw.get("hash_bit_agreement"), "map_float_ptq_source": hw.get("map_float")}
    source = Path(str(read_json(grid).get("info", {}).get("source", "")))
    hw = read_json(source / HW_SIM_JSON) if source.name and (source / HW_SIM_JSON).is_file() else {}
    return {"deployed": "qat", "qat_source": str(source), "map_integer_ptq": hw.get("map_integer"),
            "hash_bit_agreement_ptq": hw.get("hash_bit_agreement"), "map_float_ptq_source": hw.get("map_float")}


def _codes(path: Path) -> CodeSet | None:
    return load_codes(path) if path.is_file() else None


def _class_names(data: str | None, num: int) -> list[str]:
    try:
        names = list(dataset_info(str(data)).classes) if data else []
    except UserError:
        names = []
    return names if len(names) >= num else [str(i) for i in range(num)]


def _pr_curves(src: RunSources, integer: CodeSet | None) -> dict[str, tuple[list[float], list[float]]]:
    curves = {}
    pr = src.get("eval", "pr_curve")
    if isinstance(pr, dict):
        curves[f"float ({EVAL})"] = (pr["precision"], pr["recall"])
    if integer is not None:
        m = evaluate(integer, map_k="all")
        curves[f"integer ({HW_SIM_CODES})"] = (m.pr_precision.tolist(), m.pr_recall.tolist())
    return curves


def _similarity_panels(run_dir: Path, codes: dict[str, CodeSet | None]) -> list[tuple[str, np.ndarray]]:
    """Fig. 5: S_soft from the checkpoint, then each code set's Hamming class similarity (database codes)."""
    panels = []
    if (run_dir / CHECKPOINT).is_file():
        soft = load_soft_similarity(run_dir / CHECKPOINT)
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
    if runs_folder is not None and not Path(runs_folder).is_dir():
        raise DataError(f"--runs {runs_folder} is not a folder; give the folder whose runs the bubble chart compares")
    src = read_sources(run_dir)
    float_codes, integer_codes = _codes(run_dir / CODES), _codes(run_dir / HW_SIM_CODES)
    if (run_dir / CHECKPOINT).is_file():  # read again for S_soft after the first figures: refused before them
        load_checkpoint(run_dir / CHECKPOINT)
    if (run_dir / REPORT_JSON).is_file():
        read_json(run_dir / REPORT_JSON)
    check_output_dir(run_dir, "run folder")
    params = count_parameters(run_dir) if (run_dir / CHECKPOINT).is_file() else None
    report: dict[str, Any] = {**headline(src, _map_all(src, float_codes)), **details(src), "params": params}
    if (run_dir / GRAPH_JSON).is_file():  # a deployment's own record: what ran on which data (any source)
        deployed = read_json(run_dir / GRAPH_JSON)
        for key in ("model", "data", "T"):
            report[key] = report.get(key) or deployed.get(key)
        report["source"] = (deployed.get("source") or {}).get("kind")
    if wall_seconds is None and (run_dir / REPORT_JSON).is_file():
        wall_seconds = read_json(run_dir / REPORT_JSON).get("wall_seconds")
    report["wall_seconds"] = wall_seconds
    report.update(quantization_views(run_dir))
    report["missing"] = src.missing
    title = f"{report.get('model') or run_dir.name}, {report.get('bits') or '?'} bits"
    figures: dict[str, str] = {}

    rates = firing_rate_rows(src.files.get("hw_sim"))
    report["layers"] = rates
    if rates:
        figures["firing_rates"] = F.plot_firing_rates(rates, run_dir / REPORT_FIGURES["firing_rates"], title).name
    energy = energy_rows(src.files.get("energy"))
    report["energy_layers"] = energy
    if any(r["mac_pj"] is not None or r["ac_pj"] is not None for r in energy):
        figures["energy_layers"] = F.plot_energy_layers(energy, run_dir / REPORT_FIGURES["energy_layers"], title).name

    folder = Path(runs_folder) if runs_folder is not None else run_dir.resolve().parent
    points, skipped = bubble_points(folder, run_dir, params)
    report["runs_compared"], report["runs_without_energy"] = points, skipped
    if points:
        figures["bubbles"] = F.plot_bubbles(points, run_dir / REPORT_FIGURES["bubbles"], f"runs in {folder}").name

    curves = _pr_curves(src, integer_codes)
    if curves:
        figures["pr_curve"] = F.plot_pr_curves(curves, run_dir / REPORT_FIGURES["pr_curve"], title).name

    panels = _similarity_panels(run_dir, {"float": float_codes, "integer": integer_codes})
    report["class_similarity"] = {name: np.round(m, 6).tolist() for name, m in panels}
    if panels:
        classes = _class_names(report.get("data"), max(len(m) for _, m in panels))
        figures["similarity"] = F.plot_similarity_matrices(panels, classes, run_dir / REPORT_FIGURES["similarity"],
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
