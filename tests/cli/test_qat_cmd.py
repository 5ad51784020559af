"""`spikinghash qat` on a tiny run folder, then `simulate` and `export onnx` on the result: the integer weights
land exactly on the trained grid, the ONNX graph gives the QAT model's codes; resume and refusals as a user
meets them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from spikinghash.cli.main import main
from spikinghash.export.onnx_export import run_onnx
from spikinghash.pipeline.run_dir import load_run
from spikinghash.retrieval.codes import load_codes, unpack_codes
from spikinghash.train.config import config_from_dict, read_config_file, write_config

from .test_simulate_cmd import TINY_NIR, _tiny_profile, make_run  # noqa: F401  (autouse fixture: the tiny model)


def small_batches(run: Path) -> Path:
    """The run's config with batches of 8 (the tiny split holds fewer than 32 training samples)."""
    cfg = config_from_dict(read_config_file(run / "config.yaml"))
    write_config(dataclasses.replace(cfg, batch_size=8), run / "config.yaml")
    return run


@pytest.mark.slow
def test_qat_then_simulate_lands_on_the_grid(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src, out = small_batches(make_run(tmp_path / "src", TINY_NIR)), tmp_path / "qat"
    argv = ["qat", str(src), "--out", str(out), "--epochs", "1", "--calib", "16", "--quiet"]
    assert main(argv) == 0
    assert "epoch 1/1 fine-tuned" in capsys.readouterr().out
    grid = json.loads((out / "qat.json").read_text())
    assert grid["info"]["source"] == str(src) and grid["info"]["calib_samples"] == 16
    cfg = read_config_file(out / "config.yaml")
    assert cfg["epochs"] == 1 and cfg["lr"] == 1e-3 and cfg["model"] == TINY_NIR
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1

    assert main(["simulate", str(out), "--calib", "16", "--quiet"]) == 0
    report = json.loads((out / "hw_sim.json").read_text())
    quant = report["quantization"]
    assert quant["scales"].startswith("fixed")
    for name, layer in quant["layers"].items():
        assert layer["scale"] == grid["scales"][name] and layer["limited_by"].startswith("fixed")
        assert layer["max_bias_error"] == 0.0
    assert all(p["max_rel_weight_error"] == 0.0 for p in quant["paths"].values())

    # ONNX carries the fake-quantized weights: onnxruntime's codes are the QAT model's own (eval's codes.npz)
    assert main(["eval", str(out)]) == 0 and main(["export", "onnx", str(out)]) == 0
    run = load_run(out)
    frames = np.stack([run.data.query.frames(i) for i in range(len(run.data.query))], axis=1)
    codes = load_codes(out / "codes.npz")
    assert np.array_equal(run_onnx(out / "model.onnx", frames.astype(np.float32)).code,
                          unpack_codes(codes.query_codes, codes.bits))

    assert main(argv[:-1] + ["--resume", "--quiet"]) == 0  # nothing left: the checkpoint holds epoch 1
    assert "nothing left to train" in capsys.readouterr().out
    assert main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_paper_faithful_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    paper = make_run(tmp_path / "paper", "spikinghash_ti", bits=8, T=4)
    assert main(["qat", str(paper), "--out", str(tmp_path / "qat"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: model 'spikinghash_ti' is a paper-faithful profile") and err.count("\n") == 1
    assert not (tmp_path / "qat").exists()
