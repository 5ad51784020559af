"""A 2-process DDP run (torchrun, Gloo on CPU) against a single-process run on the same global batch.

Both runs execute the same worker script: it registers a BatchNorm-free model of the
spiking-hash family (so the Spikinghash objective, Eq. 24, with the dynamic soft
similarity applies) and trains in float64. Why these two choices:

* BatchNorm normalises with each process's own half batch unless it is synchronised,
  and torch's SyncBatchNorm runs on GPUs only, so a BN model cannot match on CPU.
* In float32, Adam turns the round-off noise of gradients that are zero in exact
  arithmetic (attention key biases, weights of silent pixels) into full +-lr steps
  whose sign differs between reduction orders; in float64 that noise is far below
  Adam's eps and the two runs agree to round-off.

The soft similarity counts only correctly classified samples; the worker feeds it
perfect logits so that its rounds are not empty (identically in both runs), which
makes the test fail if a process observed only its own half of the batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = r'''
import sys
import torch
import torch.nn.functional as F
from torch import nn

from spikinghash.models.hash_heads import SignHashHead
from spikinghash.models.hash_net import SpikingHashNet
from spikinghash.models.outputs import HashOutput
from spikinghash.models.factory import register_model
from spikinghash.train import soft_similarity
from spikinghash.train.config import LossConfig, TrainConfig
from spikinghash.train.trainer import train


class FlatHashNet(SpikingHashNet):
    """Frames -> linear features -> sgn hash head -> classifier; no BatchNorm anywhere."""

    def __init__(self, *, in_channels, img_size, T, bits, num_classes):
        nn.Module.__init__(self)
        self.features = nn.Linear(in_channels * img_size * img_size, 32)
        self.hash_head = SignHashHead(32, bits)
        self.classifier = nn.Linear(bits, num_classes)

    def forward(self, x):
        code, mem = self.hash_head(torch.tanh(self.features(x.flatten(2) / 4.0)))
        return HashOutput(code, mem, self.classifier(code))


@register_model
def flat_hash_net(**kwargs):
    return FlatHashNet(**kwargs)


observe = soft_similarity.DynamicSoftSimilarity.observe
soft_similarity.DynamicSoftSimilarity.observe = (
    lambda self, mem, labels, logits: observe(self, mem, labels, F.one_hot(labels, self.num_classes).to(mem)))

torch.set_default_dtype(torch.float64)
cfg = TrainConfig(model="flat_hash_net", data="dvs-digits", bits=8, T=4, epochs=3, batch_size=8, eval_every=3,
                  device="cpu", data_options={"digits_per_class": 3, "temporal_per_class": 3},
                  loss=LossConfig(soft_similarity=True))
train(cfg, sys.argv[1], progress=False)
'''


def run_worker(script: Path, out: Path, processes: int) -> None:
    """Run the worker as one plain process, or as ``processes`` processes under torchrun."""
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([*launcher, str(script), str(out)], capture_output=True, text=True, env=env, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_on_the_same_global_batch(tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    run_worker(script, tmp_path / "single", 1)
    run_worker(script, tmp_path / "ddp", 2)

    single = torch.load(tmp_path / "single" / "checkpoint.pt", weights_only=True)
    ddp = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=True)
    assert single["epoch"] == ddp["epoch"] == 3 and single["step"] == ddp["step"] == 3 * 32 // 8
    for name, p in single["model"].items():
        torch.testing.assert_close(ddp["model"][name], p, rtol=0, atol=1e-9, msg=name)
    # Both processes observed the whole global batch: identical soft-similarity sums and counts.
    s_single, s_ddp = single["soft_similarity"], ddp["soft_similarity"]
    assert int(s_single["counts"].sum()) > 0
    assert torch.equal(s_single["counts"], s_ddp["counts"])
    torch.testing.assert_close(s_ddp["soft"], s_single["soft"], rtol=0, atol=1e-9)
    assert not torch.equal(s_single["soft"], torch.eye(16, dtype=torch.float64))

    lines = {name: [json.loads(x) for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
             for name in ("single", "ddp")}
    assert len(lines["ddp"]) == 3  # written once, by rank 0 only
    for a, b in zip(lines["single"], lines["ddp"]):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-9)
        assert b["train_accuracy"] == a["train_accuracy"]
    assert lines["ddp"][-1]["map"] == pytest.approx(lines["single"][-1]["map"], abs=1e-12)
    leftovers = [p.name for p in (tmp_path / "ddp").iterdir() if p.name.startswith(".")]
    assert leftovers == []
