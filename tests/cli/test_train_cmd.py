"""`spikinghash train ...` as a user runs it: files written, resume from the run folder, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from spikinghash.cli.main import main

TINY = ["T=4", "batch_size=8", "eval_every=1", "device=cpu", "data_options.digits_per_class=3",
        "data_options.temporal_per_class=3", "model_options.dim=16", "model_options.depth=1",
        "model_options.heads=2", "model_options.patch_size=8"]


def test_train_writes_the_run_folder_and_resumes_from_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    args = ["train", "--model", "transhash", "--data", "dvs-digits", "--bits", "8", "--out", str(run), "--quiet"]
    assert main([*args, "epochs=1", *TINY]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"epoch 1/1 trained; wrote {run / 'checkpoint.pt'}, {run / 'metrics.jsonl'}, {run / 'config.yaml'}"]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert (saved["model"], saved["bits"], saved["epochs"], saved["model_options"]["dim"]) == ("transhash", 8, 1, 16)
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1]
    # --resume alone reads the run's own config.yaml; the finished run has nothing left to do.
    assert main(["train", "--out", str(run), "--resume", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("nothing left to train; wrote")


GOOD = {"--model": "transhash", "--data": "dvs-digits", "--bits": "8"}


@pytest.mark.parametrize("changes, extra, message", [
    ({"--model": "spikinghash_tii"}, [], "unknown model 'spikinghash_tii'; did you mean spikinghash_ti"),
    ({"--data": "dvs-digitz"}, [], "unknown dataset 'dvs-digitz'"),
    ({"--bits": "0"}, [], "bits=0 is impossible"),
    ({}, ["T=0"], "T=0 time steps is impossible"),
    ({}, ["--config", "missing.yaml"], "config file missing.yaml does not exist"),
    ({}, ["epochs"], "override 'epochs' is not KEY=VALUE"),
    ({}, ["epochs=many"], "setting epochs='many' is not int"),
    ({}, ["learning_rate=0.1"], "unknown setting 'learning_rate'"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture, changes: dict,
                                               extra: list[str], message: str) -> None:
    flags = [x for kv in {**GOOD, **changes}.items() for x in kv]
    assert main(["train", *flags, "--out", str(tmp_path / "run"), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists()
