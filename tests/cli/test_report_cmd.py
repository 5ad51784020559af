"""`spikinghash report RUN_DIR`: printed lines, missing-file hints and exit codes."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from spikinghash.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report.conftest import make_run  # noqa: E402  (the hand-made run folder of tests/report)


def test_report_prints_missing_files_and_where_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = make_run(tmp_path / "runs" / "a", energy=None)
    assert main(["report", str(run), "--runs", str(tmp_path / "runs")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"missing energy.json: run `spikinghash energy {run}` (its numbers are null in the report)"
    assert lines[1] == "map_float 0.8  map_integer 0.79  hash_bit_agreement 0.9375"
    assert lines[2] == (f"wrote {run / 'report.md'}, {run / 'report.json'} and 3 figures "
                        "(report_firing_rates.png, report_pr_curve.png, report_similarity.png)")
    assert json.loads((run / "report.json").read_text())["energy_pj_per_sample_float"] is None


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "holds none of eval.json, hw_sim.json, energy.json"),
    (lambda p: (p.mkdir(), (p / "eval.json").write_text("[1, 2")), "eval.json is unreadable"),
])
def test_report_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, setup, message: str) -> None:
    setup(tmp_path / "r")
    assert main(["report", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
