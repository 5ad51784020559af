"""The demo's orchestration with stand-in stage functions: order, skip-when-current, resume, failure, timing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from spikinghash.errors import ConfigError, DataError, UserError
from spikinghash.pipeline import demo as D
from spikinghash.train.config import resolve_config, write_config

ORDER = ["data", "train", "eval source", "simulate source", "qat", "eval", "export nir", "export onnx",
         "simulate fast", "simulate lava", "energy"]


def fake_actions(calls: list[str], *, epochs_done: int | None = None, qat_done: int | None = None,
                 fail: str | None = None, lava_samples: int = 4) -> dict[str, Callable[[Path], Any]]:
    """Stage functions that write each stage's files the way the real one would (contents faked)."""
    cfg = resolve_config(D.DEMO_CONFIG, {}, [])
    src = D.SOURCE

    def lines(n: int) -> str:
        return "".join(json.dumps({"epoch": e}) + "\n" for e in range(1, n + 1))

    files: dict[str, dict[str, str]] = {
        "eval source": {f"{src}/eval.json": "{}", f"{src}/codes.npz": ""},
        "simulate source": {f"{src}/hw_sim.json": "{}", f"{src}/hw_sim_codes.npz": ""},
        "qat": {"qat.json": "{}", "checkpoint.pt": "", "metrics.jsonl": lines(D.QAT_EPOCHS if qat_done is None
                                                                              else qat_done)},
        "eval": {"eval.json": "{}", "codes.npz": ""},
        "export nir": {"model.nir": ""}, "export onnx": {"model.onnx": ""},
        "simulate fast": {"hw_sim.json": json.dumps({"lava": None}), "hw_sim_codes.npz": ""},
        "simulate lava": {"hw_sim.json": json.dumps({"lava": {"samples": lava_samples}})},
        "energy": {"energy.json": "{}"},
    }

    def action(name: str) -> Callable[[Path], None]:
        def run(out: Path) -> None:
            calls.append(name)
            if name == fail:
                raise DataError("the stand-in stage failed")
            written = dict(files.get(name, {}))
            if name == "train":
                (out / src).mkdir(parents=True, exist_ok=True)
                write_config(cfg, out / src / "config.yaml")
                written = {f"{src}/checkpoint.pt": "",
                           f"{src}/metrics.jsonl": lines(cfg.epochs if epochs_done is None else epochs_done)}
            for rel, text in written.items():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_text(text)
        return run

    return {name: action(name) for name in ORDER}


def fake_report(out: Path, wall: float) -> None:
    (out / "report.json").write_text(json.dumps({"wall_seconds": wall}))


def test_stages_run_in_order_then_a_rerun_skips_all_but_data(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out, calls = tmp_path / "demo", []
    result = D.run_demo(out, lava_samples=2, actions=fake_actions(calls, lava_samples=2), report=fake_report)
    assert calls == ORDER
    text = capsys.readouterr().out
    assert "[1/12] data" in text and "[12/12] report" in text
    assert f"spikinghash simulate {out} --backend lava --samples 2" in text
    assert f"spikinghash qat {out}/source --out {out} --epochs {D.QAT_EPOCHS}" in text
    assert text.strip().splitlines()[-1].endswith(f"report: {out / 'report.md'}")
    record = json.loads((out / "demo.json").read_text())
    assert list(record["stages"]) == ORDER + ["report"]
    assert result["wall_seconds"] == record["wall_seconds"] == json.loads((out / "report.json").read_text())["wall_seconds"]

    calls.clear()
    D.run_demo(out, lava_samples=2, actions=fake_actions(calls, lava_samples=2), report=fake_report)
    assert calls == ["data"]  # generating a cached dataset is a no-op, so it always runs
    assert capsys.readouterr().out.count("skipped") == 10
    # asking for more Lava samples than were run makes that stage (and only it and energy, its reader) current no more
    calls.clear()
    D.run_demo(out, lava_samples=5, actions=fake_actions(calls, lava_samples=5), report=fake_report)
    assert calls == ["data", "simulate lava", "energy"]


def test_a_newer_checkpoint_reruns_everything_downstream(tmp_path: Path) -> None:
    out, calls = tmp_path / "demo", []
    D.run_demo(out, actions=fake_actions(calls), report=fake_report)
    later = (out / "energy.json").stat().st_mtime + 10
    os.utime(out / "checkpoint.pt", (later, later))  # the deployed (QAT) model changed
    calls.clear()
    D.run_demo(out, actions=fake_actions(calls), report=fake_report)
    assert calls == ["data", "eval", "export nir", "export onnx", "simulate fast", "simulate lava", "energy"]


def test_a_failed_stage_stops_with_its_name_and_a_rerun_resumes(tmp_path: Path) -> None:
    out, calls = tmp_path / "demo", []
    with pytest.raises(UserError, match=r"demo stage 3/12 \(eval source\) failed: the stand-in stage failed; "
                                        r"fix it and run the demo again"):
        D.run_demo(out, actions=fake_actions(calls, epochs_done=3, fail="eval source"), report=fake_report)
    assert calls == ["data", "train", "eval source"]
    assert not (out / "report.json").exists()
    calls.clear()  # training stopped after 3 of 8 epochs: the rerun trains again (the real stage resumes)
    D.run_demo(out, actions=fake_actions(calls), report=fake_report)
    assert calls == ORDER


def test_an_unfinished_fine_tuning_is_run_again(tmp_path: Path) -> None:
    out, calls = tmp_path / "demo", []
    D.run_demo(out, actions=fake_actions(calls, qat_done=1), report=fake_report)
    calls.clear()
    D.run_demo(out, actions=fake_actions(calls), report=fake_report)
    assert calls[:2] == ["data", "qat"]


def test_a_folder_trained_with_other_settings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / D.SOURCE).mkdir(parents=True)
    write_config(resolve_config(D.DEMO_CONFIG, {}, ["epochs=3"]), out / D.SOURCE / "config.yaml")
    with pytest.raises(ConfigError, match=r"trained with other settings \(epochs differ.*delete"):
        D.run_demo(out, actions=fake_actions([]), report=fake_report)
