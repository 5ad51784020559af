"""An snnTorch user's path, as they would run it: `export nir --snntorch` on a module file of theirs, then
`simulate` on the fast simulator and Lava (bit-exact with each other), for the issue's two real snnTorch
networks; the recurrent one (no dataset has [16] frames) through hw_sim's functions directly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.cli.main import main
from spikinghash.export.snntorch_nir import snntorch_to_nir
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.backends.lava.run import run_lava
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.target.quantize import quantize

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from export.snntorch_nets import conv_net, recurrent_net  # noqa: E402  (the real snnTorch networks)
from pipeline.test_simulate_graph import write_nmnist  # noqa: E402  (N-MNIST's on-disk format)

USER_MODULE = '''
import sys
sys.path.insert(0, {tests!r})
from export.snntorch_nets import conv_net

def build():
    return conv_net(seed=3, per_channel=False)
'''


@pytest.mark.slow
def test_export_then_simulate_fast_and_lava(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "mynets.py").write_text(USER_MODULE.format(tests=str(Path(__file__).resolve().parents[1])))
    torch.save(conv_net(seed=3, per_channel=False).state_dict(), tmp_path / "sd.pt")
    monkeypatch.chdir(tmp_path)
    root = write_nmnist(tmp_path / "data", per_digit=1)
    assert main(["export", "nir", "--snntorch", "mynets:build", "--weights", "sd.pt", "--input-shape", "2,34,34",
                 "-o", "model.nir"]) == 0
    printed = capsys.readouterr().out
    assert "spikinghash.hw_sim: yes" in printed and "nirtorch:" in printed and "snntorch.import_nir:" in printed
    common = ["--data", "nmnist", "--root", str(root), "--out", "out", "--T", "6", "--calib", "8", "--quiet"]
    assert main(["simulate", "model.nir", *common]) == 0
    report = json.loads((tmp_path / "out" / "hw_sim.json").read_text())
    assert report["readout"] == "classify" and report["samples"]["query"] == 10  # 10 outputs = 10 digits
    assert main(["simulate", "model.nir", *common, "--backend", "lava", "--samples", "2"]) == 0
    lava = json.loads((tmp_path / "out" / "hw_sim.json").read_text())["lava"]
    assert lava["bit_exact"] is True and lava["mismatched_spikes"] == 0 and lava["samples"] == 2


@pytest.mark.slow
def test_recurrent_snntorch_net_is_bit_exact_on_lava_and_fast() -> None:
    net = recurrent_net(seed=1, synaptic_bias=False)  # hw_sim refuses a bias into CubaLIF (Loihi adds it to v)
    graph = snntorch_to_nir(net, torch.zeros(1, 16))
    canonical = load(graph)
    rng = np.random.default_rng(0)
    frames = (rng.random((12, 3, 16)) < 0.3).astype(np.float64)  # [T, B, 16] binary events
    int_net = quantize(canonical, frames)
    fast = simulate_int(int_net, frames)
    lava = run_lava(int_net, frames)
    assert set(fast.spikes) == set(lava.spikes) and len(fast.spikes) == 2
    for name, spikes in lava.spikes.items():
        assert spikes.sum() > 0, name  # a comparison of silent layers would prove nothing
        np.testing.assert_array_equal(fast.spikes[name], spikes)
    np.testing.assert_array_equal(fast.v_hash, lava.v_hash)
