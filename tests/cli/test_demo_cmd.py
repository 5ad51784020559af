"""`spikinghash demo` as a user runs it: exit codes, the missing-command message, the final line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikinghash.cli.main import main
from spikinghash.report import build, demo


def test_a_missing_subcommand_stops_the_demo_before_any_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    stages = [demo.Stage("data", ("data", "list")), demo.Stage("simulate", ("levitate", "{out}"))]
    monkeypatch.setattr(demo, "demo_stages", lambda config, lava_samples: stages)
    assert main(["demo", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr()
    assert err.out == "" and not (tmp_path / "d").exists()
    assert err.err.strip() == ("error: the demo needs `spikinghash levitate`, which this installation does not "
                               "have yet; update spikinghash (see README, 'make demo')")


def test_the_demo_runs_real_cli_stages_and_prints_where_the_report_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "d"
    monkeypatch.setattr(demo, "demo_stages", lambda config, lava_samples: [demo.Stage("data", ("data", "list"))])
    monkeypatch.setattr(build, "build_report", lambda o, wall_seconds: (o / "report.json").write_text("{}"))
    assert main(["demo", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[1/2] data          spikinghash data list")
    assert "dvs-digits" in "\n".join(lines)  # the real `data list` ran
    assert lines[-1].endswith(f"report: {out / 'report.md'}")
    assert json.loads((out / "report.json").read_text())["wall_seconds"] >= 0


def test_a_failing_stage_exits_2_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    stages = [demo.Stage("eval", ("eval", "{out}"), ("eval.json",))]  # no run folder there: eval fails
    monkeypatch.setattr(demo, "demo_stages", lambda config, lava_samples: stages)
    assert main(["demo", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: ") and "config.yaml" in err[0]  # eval's own message first
    assert err[-1].startswith("error: demo stage 1/2 (eval) failed with exit code 2")


def test_bad_lava_sample_count_is_a_user_error(capsys: pytest.CaptureFixture) -> None:
    assert main(["demo", "--lava-samples", "0"]) == 2
    assert "--lava-samples 0 must be at least 1" in capsys.readouterr().err
