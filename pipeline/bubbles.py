"""Runs side by side: the points of the accuracy–energy–parameters bubble chart (paper Fig. 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.errors import DataError, UserError
from spikinghash.pipeline.run_dir import ENERGY_JSON, EVAL, REPORT_JSON, load_run
from spikinghash.report.sources import read_json


def count_parameters(run_dir: Path) -> int | None:
    """Trainable parameters of a run's model (rebuilt from config.yaml + checkpoint.pt); None if unbuildable."""
    try:
        model = load_run(run_dir).model
    except UserError:
        return None
    return int(sum(p.numel() for p in model.parameters()))


def _read(path: Path) -> dict[str, Any] | None:
    """Another run's JSON file, or None if it is missing or unreadable (that run is then left out)."""
    try:
        return read_json(path)
    except DataError:
        return None


def _params(run_dir: Path) -> int | None:
    """The run's parameter count: its report.json's when there is one, else counted."""
    known = (_read(run_dir / REPORT_JSON) or {}).get("params")
    return int(known) if isinstance(known, int) else count_parameters(run_dir)


def bubble_points(folder: Path, run_dir: Path, run_params: int | None) -> tuple[list[dict[str, Any]], list[str]]:
    """One SNN point and one ANN-counterpart point for every run with eval.json and energy.json.

    Runs are ``run_dir`` and the sub-folders of ``folder`` holding an ``eval.json``.

    Returns:
        ``(points, skipped)``: points ``{run, kind, energy_pj, map, params}`` (energy in pJ per
        sample; the ANN point carries its SNN's mAP, being the same architecture), and the names
        of runs left out for want of energy.json.
    """
    run_dir = run_dir.resolve()
    dirs = sorted(d.resolve() for d in folder.iterdir() if (d / EVAL).is_file()) if folder.is_dir() else []
    if run_dir not in dirs:
        dirs.insert(0, run_dir)
    points, skipped = [], []
    for d in dirs:
        ev, en = _read(d / EVAL), _read(d / ENERGY_JSON)
        if ev is None or ev.get("map") is None:
            continue
        if en is None or en.get("energy_pj_per_sample_float") is None:
            skipped.append(d.name)
            continue
        params = run_params if d == run_dir else _params(d)
        points.append({"run": d.name, "kind": "snn", "energy_pj": en["energy_pj_per_sample_float"],
                       "map": ev["map"], "params": params})
        if en.get("energy_pj_per_sample_ann_fp32") is not None:
            points.append({"run": d.name, "kind": "ann", "energy_pj": en["energy_pj_per_sample_ann_fp32"],
                           "map": ev["map"], "params": params})
    return points, skipped
