"""One deployment type on the command line: dataset options reach the input-shape check, an output folder is
reopened from its graph.json with the same settings, and the user's own files are refused with the layout."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest

from spikinghash.cli.main import main

DIGITS = ["-o", "digits_per_class=2", "-o", "temporal_per_class=2"]


def dense_graph(side: int, classes: int = 16) -> nir.NIRGraph:
    """Flatten → Affine → IF on a [2, side, side] input (no T: the command gives it)."""
    rng = np.random.default_rng(0)
    n = 2 * side * side
    nodes = {"input": nir.Input(input_type={"input": np.array([2, side, side])}),
             "flat": nir.Flatten(input_type={"input": np.array([2, side, side])}, start_dim=0, end_dim=-1),
             "fc": nir.Affine(weight=rng.normal(0.0, 0.2, (classes, n)), bias=np.zeros(classes)),
             "if": nir.IF(r=np.ones(classes), v_threshold=np.ones(classes)),
             "output": nir.Output(output_type={"output": np.array([classes])})}
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), metadata={"dt": 1e-3})


def test_dataset_options_reach_the_input_shape_check(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    nir.write(tmp_path / "g34.nir", dense_graph(34))
    common = ["simulate", str(tmp_path / "g34.nir"), "--data", "dvs-digits", *DIGITS, "--T", "2", "--calib", "4",
              "--limit", "6", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 2  # the registered sensor is 32×32
    err = capsys.readouterr().err
    assert "takes input of shape [2, 34, 34] per step, but dvs-digits's frames are [2, 32, 32]" in err
    assert not (tmp_path / "plain").exists()  # refused before anything is written
    out = tmp_path / "d34"
    assert main([*common, "-o", "sensor_px=34", "--out", str(out)]) == 0
    first = json.loads((out / "hw_sim.json").read_text())
    recorded = json.loads((out / "graph.json").read_text())
    assert recorded["options"] == {"digits_per_class": 2, "temporal_per_class": 2, "sensor_px": 34}
    assert recorded["input_shape"] == [2, 34, 34] and recorded["data"] == "dvs-digits" and recorded["T"] == 2
    assert first["readout"] == "classify" and first["samples"]["query"] == 6
    # reopened from graph.json: the same deployment (fingerprint), the same numbers
    assert main(["simulate", str(out), "--calib", "4", "--limit", "6", "--quiet"]) == 0
    again = json.loads((out / "hw_sim.json").read_text())
    assert again["fingerprint"] == first["fingerprint"] and again["layers"] == first["layers"]
    assert main(["simulate", str(out), "--data", "dvs-digits", "--quiet"]) == 2
    assert "is an output folder whose graph.json names its source and data" in capsys.readouterr().err


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.zeros((2, 2, 34, 34))}, "holds keys ['images']; expected 'frames' [N, T, C, H, W]"),
    ({"frames": np.zeros((2, 3, 2, 34, 34)), "labels": np.zeros(5, np.int64)}, "labels must be [N] with N = 2"),
])
def test_a_wrong_inputs_file_is_one_error_line(arrays: dict, message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    nir.write(tmp_path / "g.nir", dense_graph(34))
    np.savez(tmp_path / "x.npz", **arrays)
    assert main(["simulate", str(tmp_path / "g.nir"), "--inputs", str(tmp_path / "x.npz"), "--out",
                 str(tmp_path / "d"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (tmp_path / "d").exists()


def test_data_and_inputs_together_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    nir.write(tmp_path / "g.nir", dense_graph(34))
    assert main(["simulate", str(tmp_path / "g.nir"), "--data", "dvs-digits", "--inputs", str(tmp_path / "x.npz"),
                 "--out", str(tmp_path / "d")]) == 2
    assert "give either --data NAME" in capsys.readouterr().err


def test_deploy_takes_a_registered_dataset_with_its_options(tmp_path: Path) -> None:
    import spikinghash as sh

    options = {"digits_per_class": 2, "temporal_per_class": 2, "sensor_px": 34}
    d = sh.deploy(dense_graph(34), "dvs-digits", T=2, options=options, calib=4, limit=6)
    summary = d.summary()
    assert summary["data"] == "dvs-digits" and summary["readout"] == "classify" and summary["T"] == 2
    assert summary["samples"] == {"query": 6, "db": 0} and 0.0 <= summary["accuracy_integer"] <= 1.0
    d.report(tmp_path / "out")
    recorded = json.loads((tmp_path / "out" / "graph.json").read_text())
    assert recorded["options"] == options and recorded["source"]["kind"] == "graph"
    assert recorded["graph"] == str((tmp_path / "out" / "model.nir").resolve())  # written: OUT can be reopened
