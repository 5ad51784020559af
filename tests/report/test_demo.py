"""The demo's orchestration with stand-in stages: order, skip-when-current, resume, failure, timing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pytest

from spikinghash.errors import ConfigError, UserError
from spikinghash.report import demo as D
from spikinghash.train.config import resolve_config, write_config

REAL_MISSING_COMMANDS = D.missing_commands
ORDER = ["data generate", "train --config", "eval", "export nir", "export onnx", "simulate fast",
         "simulate lava", "energy"]


def fake_pipeline(out: Path, calls: list[list[str]], *, epochs_done: int | None = None,
                  fail: str | None = None) -> Callable[[list[str]], int]:
    """A runner that writes each stage's files the way the real command would (contents faked)."""
    cfg = resolve_config(D.DEMO_CONFIG, {}, [])

    def run(argv: list[str]) -> int:
        calls.append(argv)
        key = " ".join(argv[:2]) if argv[0] in ("export", "data") else argv[0]
        if argv[0] == "simulate":
            key = f"simulate {argv[3]}"
        if key == fail:
            return 1
        lava_samples = int(argv[-1]) if key == "simulate lava" else 0
        files = {
            "eval": {"eval.json": "{}", "codes.npz": ""},
            "export nir": {"model.nir": ""}, "export onnx": {"model.onnx": ""},
            "simulate fast": {"hw_sim.json": json.dumps({"lava": None}), "hw_sim_codes.npz": ""},
            "simulate lava": {"hw_sim.json": json.dumps({"lava": {"samples": lava_samples}})},
            "energy": {"energy.json": "{}"},
        }.get(key, {})
        if argv[0] == "train":
            write_config(cfg, out / "config.yaml")
            last = cfg.epochs if epochs_done is None else epochs_done
            files = {"checkpoint.pt": "", "metrics.jsonl": "".join(
                json.dumps({"epoch": e}) + "\n" for e in range(1, last + 1))}
        for name, text in files.items():
            (out / name).write_text(text)
        return 0
    return run


def fake_report(out: Path, wall: float) -> None:
    (out / "report.json").write_text(json.dumps({"wall_seconds": wall}))


@pytest.fixture(autouse=True)
def _all_commands_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(D, "missing_commands", lambda stages: [])


def names(calls: list[list[str]]) -> list[str]:
    return [" ".join(c[:2]) if c[0] in ("export", "data", "train") else
            f"simulate {c[3]}" if c[0] == "simulate" else c[0] for c in calls]


def test_stages_run_in_order_then_a_rerun_skips_all_but_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out, calls = tmp_path / "demo", []
    result = D.run_demo(out, lava_samples=2, runner=fake_pipeline(out, calls), report=fake_report)
    assert names(calls) == ORDER
    assert calls[6] == ["simulate", str(out), "--backend", "lava", "--samples", "2"]
    text = capsys.readouterr().out
    assert "[1/9] data" in text and "[9/9] report" in text
    assert text.strip().splitlines()[-1].endswith(f"report: {out / 'report.md'}")
    record = json.loads((out / "demo.json").read_text())
    assert list(record["stages"]) == ["data", "train", "eval", "export nir", "export onnx", "simulate fast",
                                      "simulate lava", "energy", "report"]
    assert result["wall_seconds"] == record["wall_seconds"] == json.loads((out / "report.json").read_text())["wall_seconds"]

    calls.clear()
    D.run_demo(out, lava_samples=2, runner=fake_pipeline(out, calls), report=fake_report)
    assert names(calls) == ["data generate"]  # generating a cached dataset is a no-op, so it always runs
    assert capsys.readouterr().out.count("skipped") == 7
    # asking for more Lava samples than were run makes that stage (and only it and energy, its reader) current no more
    calls.clear()
    D.run_demo(out, lava_samples=5, runner=fake_pipeline(out, calls), report=fake_report)
    assert names(calls) == ["data generate", "simulate lava", "energy"]


def test_a_newer_checkpoint_reruns_everything_downstream(tmp_path: Path) -> None:
    out, calls = tmp_path / "demo", []
    D.run_demo(out, runner=fake_pipeline(out, calls), report=fake_report)
    later = (out / "energy.json").stat().st_mtime + 10
    os.utime(out / "checkpoint.pt", (later, later))
    calls.clear()
    D.run_demo(out, runner=fake_pipeline(out, calls), report=fake_report)
    assert names(calls) == ["data generate", "eval", "export nir", "export onnx", "simulate fast",
                            "simulate lava", "energy"]


def test_a_failed_stage_stops_with_its_name_and_a_rerun_resumes_training(tmp_path: Path) -> None:
    out, calls = tmp_path / "demo", []
    with pytest.raises(UserError, match=r"demo stage 3/9 \(eval\) failed with exit code 1.*run the demo again"):
        D.run_demo(out, runner=fake_pipeline(out, calls, epochs_done=3, fail="eval"), report=fake_report)
    assert names(calls) == ["data generate", "train --config", "eval"]
    assert not (out / "report.json").exists()
    calls.clear()  # training stopped after 3 of 8 epochs: the rerun resumes it
    D.run_demo(out, runner=fake_pipeline(out, calls), report=fake_report)
    assert calls[1][-1] == "--resume" and names(calls) == ORDER


def test_a_folder_trained_with_other_settings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    write_config(resolve_config(D.DEMO_CONFIG, {}, ["epochs=3"]), out / "config.yaml")
    with pytest.raises(ConfigError, match=r"trained with other settings \(epochs differ.*delete"):
        D.run_demo(out, runner=fake_pipeline(out, []), report=fake_report)


def test_missing_subcommands_are_found_in_the_real_parser() -> None:
    stages = [D.Stage("a", ("eval", "{out}")), D.Stage("b", ("export", "onnx", "{out}")),
              D.Stage("c", ("export", "frobnicate", "{out}")), D.Stage("d", ("levitate", "{out}"))]
    assert REAL_MISSING_COMMANDS(stages) == ["export frobnicate", "levitate"]
