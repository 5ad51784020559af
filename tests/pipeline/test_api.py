"""``spikinghash.deploy`` on the user's own arrays: a NIR graph built with nir's constructors against an independent
computation of its equations, Lava bit-exact, the command line with ``--inputs`` giving the same numbers, and an
snnTorch module against snnTorch's own forward; the README's first Python example runs as written."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nir
import numpy as np
import pytest
import torch

import spikinghash as sh
from spikinghash.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from export.snntorch_nets import conv_net, event_frames, snntorch_spikes  # noqa: E402

DT, TAU, T, N = 1e-3, 2e-3, 6, 12


def small_graph(seed: int = 0) -> nir.NIRGraph:
    """Conv2d → IF → SumPool2d → Flatten → Affine → LIF on [2, 10, 10], random weights, 5 outputs."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 10, 10])}),
        "conv": nir.Conv2d(input_shape=(10, 10), weight=rng.normal(0.0, 0.45, (4, 2, 3, 3)), stride=1, padding=1,
                           dilation=1, groups=1, bias=rng.normal(0.05, 0.05, 4)),
        "if": nir.IF(r=np.ones((4, 10, 10)), v_threshold=np.ones((4, 10, 10))),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([4, 5, 5])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=rng.normal(0.0, 0.5, (5, 100)), bias=rng.normal(0.1, 0.1, 5)),
        "lif": nir.LIF(tau=np.full(5, TAU), r=np.ones(5), v_leak=np.zeros(5), v_threshold=np.full(5, 0.8),
                       v_reset=np.zeros(5)),
        "output": nir.Output(output_type={"output": np.array([5])}),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), metadata={"dt": DT})


def by_hand(graph: nir.NIRGraph, frames: np.ndarray) -> np.ndarray:
    """The graph's equations (NIR's docstrings), written out in numpy: per sample, spikes of the output layer
    summed over the T steps, ``[N, 5]``. Independent of spikinghash: nothing of it is imported."""
    n = graph.nodes
    w, b = n["conv"].weight, n["conv"].bias
    counts = np.zeros((frames.shape[0], 5))
    for k, sample in enumerate(frames):
        v_if, v_lif = np.zeros((4, 10, 10)), np.zeros(5)
        for x in sample:  # [2, 10, 10] one step
            xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
            current = np.einsum("ocij,cyxij->oyx", w,
                                np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))) + b[:, None, None]
            v_if = v_if + 1.0 * current  # IF: v ← v + r·I
            s_if = v_if > 1.0
            v_if[s_if] = 0.0
            pooled = s_if.reshape(4, 5, 2, 5, 2).sum(axis=(2, 4))  # SumPool2d 2x2, stride 2
            drive = n["fc"].weight @ pooled.reshape(-1) + n["fc"].bias  # Flatten (C-order), Affine
            v_lif = v_lif + DT / TAU * (0.0 - v_lif + 1.0 * drive)  # LIF: v ← v + dt/τ·(v_leak − v + r·I)
            s_lif = v_lif > 0.8
            v_lif[s_lif] = 0.0
            counts[k] += s_lif
    return counts


@pytest.fixture(scope="module")
def case() -> tuple[nir.NIRGraph, np.ndarray, np.ndarray]:
    frames = np.random.default_rng(1).poisson(0.6, (N, T, 2, 10, 10)).astype(np.float64)  # [N, T, C, H, W]
    labels = np.random.default_rng(2).integers(0, 5, N)
    return small_graph(), frames, labels


@pytest.fixture(scope="module")
def deployed(case):
    graph, frames, labels = case
    return sh.deploy(graph, frames, labels)


def test_accuracy_float_equals_the_equations_by_hand(case, deployed) -> None:
    graph, frames, labels = case
    predicted = by_hand(graph, frames).argmax(axis=1)  # the most spikes, the lowest index on ties
    summary = deployed.summary()
    assert summary["readout"] == "classify" and summary["samples"] == {"query": N, "db": 0} and summary["T"] == T
    assert summary["accuracy_float"] == pytest.approx(float(np.mean(predicted == labels)), abs=0)
    assert 0 < by_hand(graph, frames).sum()  # the output layer fires: the comparison can fail
    exact = sh.deploy(graph, frames, predicted).summary()  # labels = the equations' own predictions
    assert exact["accuracy_float"] == 1.0
    rows = deployed.layers
    assert [r["name"] for r in rows] == ["if", "lif"] and all(0 <= r["spike_agreement"] <= 1 for r in rows)
    assert rows[-1]["rate_float"] == pytest.approx(by_hand(graph, frames).sum() / (N * T * 5))


@pytest.mark.slow
def test_lava_is_bit_exact_with_the_fast_simulator(deployed) -> None:
    lava = deployed.lava(samples=2)
    assert lava["samples"] == 2 and lava["bit_exact"] is True and lava["mismatched_spikes"] == 0
    assert lava["mismatched_states"] == 0 and deployed.summary()["lava_bit_exact"] is True


def test_the_command_line_with_inputs_gives_the_same_numbers(case, deployed, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    graph, frames, labels = case
    nir.write(tmp_path / "g.nir", graph)
    np.savez(tmp_path / "x.npz", frames=frames, labels=labels)
    assert main(["simulate", str(tmp_path / "g.nir"), "--inputs", str(tmp_path / "x.npz"), "--out",
                 str(tmp_path / "d"), "--quiet"]) == 0
    report = json.loads((tmp_path / "d" / "hw_sim.json").read_text())
    summary = deployed.summary()
    for key in ("accuracy_float", "accuracy_integer", "prediction_agreement", "mean_firing_rate_float",
                "mean_firing_rate_integer", "samples", "T", "readout"):
        assert report[key] == summary[key], key
    assert report["layers"] == deployed.layers
    recorded = json.loads((tmp_path / "d" / "graph.json").read_text())
    assert recorded["data"] == "arrays" and recorded["inputs"]["path"].endswith("x.npz")
    assert main(["simulate", str(tmp_path / "d"), "--quiet"]) == 0  # reopened from graph.json, same numbers
    assert json.loads((tmp_path / "d" / "hw_sim.json").read_text())["layers"] == deployed.layers
    assert main(["energy", str(tmp_path / "d"), "--samples", "4", "--quiet"]) == 0
    assert main(["report", str(tmp_path / "d")]) == 0
    assert (tmp_path / "d" / "report.md").is_file()


def test_report_writes_the_files_the_command_line_writes(deployed, tmp_path: Path) -> None:
    report = deployed.report(tmp_path / "api")
    for name in ("hw_sim.json", "hw_sim_counts.npz", "hw_sim.png", "graph.json", "energy.json", "report.md",
                 "report.json", "model.nir"):
        assert (tmp_path / "api" / name).is_file(), name
    assert report["accuracy_integer"] == deployed.summary()["accuracy_integer"]
    assert deployed.energy()["energy_models"]["spike_counts"] == "integer"


def test_an_snntorch_module_equals_snntorch_s_own_forward() -> None:
    net = conv_net(seed=3, per_channel=False)
    x = event_frames(6, 10, (2, 34, 34), seed=4)  # [T, B, 2, 34, 34]
    spikes = snntorch_spikes(net, x)
    predicted = spikes["7"].sum(axis=0).argmax(axis=1)  # snnTorch's own class per sample
    d = sh.deploy(net, x.permute(1, 0, 2, 3, 4).numpy(), predicted, input_shape=(2, 34, 34))
    assert d.summary()["accuracy_float"] == 1.0
    for row in d.layers:  # every layer's firing rate is snnTorch's, to the last spike
        assert row["rate_float"] == pytest.approx(float(np.mean(spikes[row["name"]], dtype=np.float64)), abs=0), row["name"]
    assert spikes["7"].sum() > 0


def test_the_readme_s_first_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S)
    assert block is not None, "the README has a Python example"
    code = block.group(1)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})  # noqa: S102  (our own README)
    assert (tmp_path / "out" / "report.md").is_file()


def test_bad_inputs_are_refused_with_the_layout(case) -> None:
    from spikinghash.errors import UserError

    graph, frames, labels = case
    with pytest.raises(UserError, match=r"\[N, T, C, H, W\] or \[N, T, F\]"):
        sh.deploy(graph, frames[0], labels)
    with pytest.raises(UserError, match=r"takes input of shape \[2, 10, 10\] per step"):
        sh.deploy(graph, frames[:, :, :, :8], labels)
    with pytest.raises(UserError, match="input_shape"):
        sh.deploy(torch.nn.Sequential(torch.nn.Linear(2, 2)), frames, labels)


def test_a_tonic_style_dataset_is_binned_as_training_bins(case) -> None:
    """A dataset yielding (events, label) with a sensor_size, as tonic's do: binned into T frames by
    ``data.frames.events_to_frames`` (tonic's ToFrame), then deployed like arrays of those frames."""
    from spikinghash.data.events import make_events
    from spikinghash.data.frames import events_to_frames

    graph, _, _ = case
    rng = np.random.default_rng(5)

    class Events:  # the interface of a tonic dataset
        sensor_size = (10, 10, 2)

        def __init__(self) -> None:
            self.items = [(make_events(rng.integers(0, 10, 400), rng.integers(0, 10, 400),
                                       np.sort(rng.integers(0, 50_000, 400)), rng.integers(0, 2, 400)), k % 5)
                          for k in range(6)]

        def __len__(self) -> int:
            return len(self.items)

        def __getitem__(self, i: int):
            return self.items[i]

    dataset = Events()
    from_events = sh.deploy(graph, dataset, T=T).summary()
    frames = np.stack([events_to_frames(ev, Events.sensor_size, T) for ev, _ in dataset.items]).astype(np.float64)
    from_frames = sh.deploy(graph, frames, np.array([label for _, label in dataset.items])).summary()
    for key in ("accuracy_float", "accuracy_integer", "mean_firing_rate_float", "mean_firing_rate_integer"):
        assert from_events[key] == from_frames[key], key
    assert from_events["data"] == "tonic" and from_events["samples"] == {"query": 6, "db": 0}
