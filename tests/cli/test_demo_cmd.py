"""`spikinghash demo` as a user runs it: exit codes, the failing stage's message, the final line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikinghash.cli.main import main
from spikinghash.data.registry import list_datasets
from spikinghash.pipeline import demo, report
from spikinghash.pipeline.evaluate import evaluate_run


def test_the_demo_runs_its_stages_and_prints_where_the_report_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    out, seen = tmp_path / "d", []
    stages = [demo.Stage("data", "data list", lambda o: seen.append([d.name for d in list_datasets()]))]
    monkeypatch.setattr(demo, "demo_stages", lambda *a, **k: stages)
    monkeypatch.setattr(report, "build_report", lambda o, wall_seconds: (o / "report.json").write_text("{}"))
    assert main(["demo", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[1/2] data            spikinghash data list")
    assert "dvs-digits" in seen[0]  # the real function ran
    assert lines[-1].endswith(f"report: {out / 'report.md'}")
    assert json.loads((out / "report.json").read_text())["wall_seconds"] >= 0


def test_a_failing_stage_exits_2_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    stages = [demo.Stage("eval", "eval {out}", evaluate_run, ("eval.json",))]  # no run folder there: eval fails
    monkeypatch.setattr(demo, "demo_stages", lambda *a, **k: stages)
    assert main(["demo", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: demo stage 1/2 (eval) failed: ")
    assert "config.yaml" in err[0] and err[0].endswith("run the demo again: finished stages are kept")


def test_bad_lava_sample_count_is_a_user_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--lava-samples", "0"]) == 2
    assert "--lava-samples 0 must be at least 1" in capsys.readouterr().err
