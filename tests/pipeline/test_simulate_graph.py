"""`spikinghash simulate GRAPH.nir --data nmnist --root DIR --out DIR` end to end, on files written in
N-MNIST's on-disk format and a graph of the NIR paper's Sinabs CNN layout built with nir's constructors;
and the refusals, each one `error:` line with exit 2 before any simulation."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest

from spikinghash.cli.main import main

# N-MNIST's 40-bit records: x, y, polarity bit + 23-bit timestamp (µs), big-endian.
SENSOR = 34


def encode(events: np.ndarray) -> bytes:
    out = bytearray()
    for x, y, t, p in events:
        out += bytes([int(x), int(y), (int(p) << 7) | (int(t) >> 16), (int(t) >> 8) & 0xFF, int(t) & 0xFF])
    return bytes(out)


def write_nmnist(top: Path, per_digit: int = 2, seed: int = 0) -> Path:
    """``top/NMNIST/{Train,Test}/<digit>/<id>.bin``: each digit's events cluster in its own patch of the sensor."""
    rng = np.random.default_rng(seed)
    for folder in ("Train", "Test"):
        for digit in range(10):
            for i in range(per_digit):
                n = 300
                x = rng.integers(3 * digit % 30, 3 * digit % 30 + 4, n)
                y = rng.integers(0, SENSOR, n)
                events = np.stack([x, y, np.sort(rng.integers(0, 300_000, n)), rng.integers(0, 2, n)], axis=1)
                f = top / "NMNIST" / folder / str(digit) / f"{i:05d}.bin"
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(encode(events))
    return top


def sinabs_cnn(seed: int = 0, T: int | None = None, input_shape: tuple[int, ...] = (2, SENSOR, SENSOR)) -> nir.NIRGraph:
    """Conv2d → IF → Conv2d → IF → SumPool2d → Conv2d → IF → SumPool2d → Flatten → Affine → IF → Affine → IF,
    no biases, r = 1, no dt: the NIR paper's N-MNIST network (narrowed), as Sinabs exports it."""
    rng = np.random.default_rng(seed)

    def conv(c_out: int, c_in: int, hw: int, stride: int = 1) -> nir.Conv2d:
        w = rng.normal(0.0, 1.2 / np.sqrt(c_in * 9), (c_out, c_in, 3, 3))
        return nir.Conv2d(input_shape=(hw, hw), weight=w, stride=stride, padding=1, dilation=1, groups=1,
                          bias=np.zeros(c_out))

    def if_(shape: tuple[int, ...]) -> nir.IF:
        return nir.IF(r=np.ones(shape), v_threshold=np.ones(shape))

    s, h = input_shape[1], input_shape[1] // 2
    nodes = {
        "input": nir.Input(input_type={"input": np.array(input_shape)}),
        "0": conv(4, 2, s), "1": if_((4, s, s)),
        "2": conv(4, 4, s), "3": if_((4, s, s)),
        "4": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "5": conv(8, 4, h), "6": if_((8, h, h)),
        "7": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "8": nir.Flatten(input_type={"input": np.array([8, h // 2, h // 2])}, start_dim=0),
        "9": nir.Affine(weight=rng.normal(0.0, 0.15, (16, 512)), bias=np.zeros(16)), "10": if_((16,)),
        "11": nir.Affine(weight=rng.normal(0.0, 0.6, (10, 16)), bias=np.zeros(10)), "12": if_((10,)),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }
    order = ["input", *map(str, range(13)), "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), metadata={} if T is None else {"T": T})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    top = tmp_path_factory.mktemp("nmnist")
    write_nmnist(top)
    nir.write(top / "cnn.nir", sinabs_cnn())
    return top, top / "cnn.nir"


def test_simulate_a_sinabs_graph_on_nmnist_files_reports_accuracy(files: tuple[Path, Path], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    root, graph = files
    out = tmp_path / "out"
    argv = ["simulate", str(graph), "--data", "nmnist", "--root", str(root), "--out", str(out), "--T", "6",
            "--calib", "8", "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "accuracy float" in text and "the default: the graph states none" in text
    report = json.loads((out / "hw_sim.json").read_text())
    assert report["readout"] == "classify" and report["T"] == 6 and report["dt_default"] is True
    assert report["samples"] == {"query": 20, "db": 0}
    for key in ("accuracy_float", "accuracy_integer"):
        assert 0.0 <= report[key] <= 1.0
    assert [r["kind"] for r in report["layers"]] == ["IF"] * 5
    assert all(0.0 <= r["spike_agreement"] <= 1.0 for r in report["layers"])
    assert (out / "hw_sim_counts.npz").is_file() and (out / "hw_sim.png").is_file()
    recorded = json.loads((out / "graph.json").read_text())
    assert recorded["data"] == "nmnist" and recorded["T"] == 6 and recorded["input_shape"] == [2, 34, 34]


@pytest.mark.slow
def test_lava_runs_the_foreign_graph_bit_exact_with_the_fast_simulator(files: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    root, graph = files
    out = tmp_path / "out"
    assert main(["simulate", str(graph), "--data", "nmnist", "--root", str(root), "--out", str(out), "--T", "4",
                 "--calib", "8", "--backend", "lava", "--samples", "1", "--quiet"]) == 0
    lava = json.loads((out / "hw_sim.json").read_text())["lava"]
    assert lava["bit_exact"] is True and lava["mismatched_spikes"] == 0 and lava["samples"] == 1
    assert 0.0 <= lava["accuracy_lava"] <= 1.0 and lava["accuracy_lava"] == lava["accuracy_fast"]


@pytest.mark.parametrize("case, message", [
    ("no T", "does not state T (time steps per sample) in its metadata; give it with --T N"),
    ("T disagrees", "says T=5 in its metadata but --T 6 was given"),
    ("no data", "name the dataset whose frames feed it with --data NAME"),
    ("no out", "give --out DIR"),
    ("shape", "takes input of shape [2, 32, 32] per step, but nmnist's frames are [2, 34, 34]"),
    ("run-folder flags", "--data belong(s) to a NIR file"),
])
def test_refusals_are_one_line_exit_2_before_any_simulation(case: str, message: str, files: tuple[Path, Path],
                                                            tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root, graph = files
    out = tmp_path / "out"
    base = ["--root", str(root), "--out", str(out)]
    if case == "T disagrees":
        nir.write(tmp_path / "g.nir", sinabs_cnn(T=5))
        argv = ["simulate", str(tmp_path / "g.nir"), "--data", "nmnist", *base, "--T", "6"]
    elif case == "shape":
        nir.write(tmp_path / "g.nir", sinabs_cnn(input_shape=(2, 32, 32)))
        argv = ["simulate", str(tmp_path / "g.nir"), "--data", "nmnist", *base, "--T", "4"]
    elif case == "no data":
        argv = ["simulate", str(graph), *base, "--T", "4"]
    elif case == "no out":
        argv = ["simulate", str(graph), "--data", "nmnist", "--root", str(root), "--T", "4"]
    elif case == "run-folder flags":
        argv = ["simulate", str(tmp_path), "--data", "nmnist"]
    else:
        argv = ["simulate", str(graph), "--data", "nmnist", *base]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert not (out / "hw_sim.json").exists()


def test_energy_and_report_of_a_foreign_graph(files: tuple[Path, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    root, graph = files
    out = tmp_path / "out"
    common = ["--data", "nmnist", "--root", str(root), "--out", str(out), "--T", "4"]
    assert main(["simulate", str(graph), *common, "--calib", "8", "--quiet"]) == 0
    assert main(["energy", str(graph), *common, "--samples", "8", "--quiet"]) == 0
    energy = json.loads((out / "energy.json").read_text())
    assert energy["energy_models"]["spike_counts"] == "integer"  # the integer run's counts priced the models
    band = energy["energy_pj_per_sample_band"]
    assert band["low"] <= band["high"] and band["low_model"] != band["high_model"]
    assert energy["energy_models"]["input_kind"] in ("event_frames", "binary_events")  # N-MNIST: events, not static
    assert main(["report", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["readout"] == "classify" and report["accuracy_integer"] is not None
    assert report["energy_pj_per_sample_integer"] == energy["energy_pj_per_sample_integer"]
    assert "Classification by the output layer" in (out / "report.md").read_text()


@pytest.mark.slow
def test_netx_backend_and_export_on_the_sinabs_graph(files: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    root, graph = files
    out = tmp_path / "out"
    common = ["--data", "nmnist", "--root", str(root), "--T", "4", "--calib", "8"]
    assert main(["export", "netx", str(graph), *common, "-o", str(tmp_path / "cnn.net")]) == 0
    assert "for lava-dl netx" in capsys.readouterr().out and (tmp_path / "cnn.net").is_file()
    assert main(["simulate", str(graph), *common, "--out", str(out), "--backend", "netx", "--samples", "1"]) == 0
    netx = json.loads((out / "hw_sim.json").read_text())["netx"]
    assert netx["bit_exact"] is True and netx["samples"] == 1
    assert [layer["offset_steps"] for layer in netx["layers"].values()] == [1, 2, 3, 4, 5]  # one step per synapse
    assert all(layer["bit_exact_fast"] and layer["bit_exact_lava"] for layer in netx["layers"].values())
