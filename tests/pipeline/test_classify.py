"""``task=classify`` end to end on tiny dvs-digits, and the accuracy that ``eval`` reports for every run.

The accuracies in ``eval.json`` are checked against an independent computation on the stored
``logits.npz``: the argmax written as a loop over classes, top-5 by sorting each row in Python.
The logits themselves are checked against the classification head applied by hand to the
pooled features (``task=classify``) or to the code (``task=hash``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.cli.main import main
from spikinghash.data.frames import FrameDataset
from spikinghash.data.registry import load_split
from spikinghash.errors import ConfigError
from spikinghash.models import create_model
from spikinghash.pipeline.evaluate import evaluate_run, top_k_accuracy
from spikinghash.pipeline.run_dir import load_run
from spikinghash.train.checkpoint import seed_everything
from spikinghash.train.config import LossConfig, TrainConfig
from spikinghash.train.trainer import train

TINY_DATA = {"digits_per_class": 3, "temporal_per_class": 3}  # 16 classes: 32 train, 16 query samples
TINY_TI = {"stem_dim": 8, "mlp_ratio": 1.0, "dwt_levels": 1, "mixer_groups": 4}


def tiny(task: str) -> TrainConfig:
    return TrainConfig(model="spikinghash_ti", data="dvs-digits", bits=8, T=4, epochs=2, batch_size=8, eval_every=0,
                       device="cpu", task=task, data_options=dict(TINY_DATA), model_options=dict(TINY_TI),
                       loss=LossConfig())


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("classify")
    train(tiny("classify"), out, progress=False)
    evaluate_run(out, precision_k=5, ndcg_n=5)
    return out


def hand_top_k(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Top-k accuracy by sorting each row's (logit, class) pairs; ties go to the lower class."""
    hits = 0
    for row, label in zip(logits.tolist(), labels.tolist()):
        ranked = sorted(range(len(row)), key=lambda c: (-row[c], c))
        hits += label in ranked[:k]
    return hits / len(labels)


def hand_argmax(row: list[float]) -> int:
    best = 0
    for c, value in enumerate(row):
        if value > row[best]:
            best = c
    return best


def query_frames(T: int = 4) -> tuple[torch.Tensor, np.ndarray]:
    split = load_split("dvs-digits", "query", **TINY_DATA)
    frames = FrameDataset(split, T)
    return torch.stack([frames[i][0] for i in range(len(split))], dim=1), split.labels


@pytest.mark.slow  # shares the ~15 s training of classify_run
def test_eval_json_accuracy_is_that_of_the_stored_logits(classify_run: Path) -> None:
    ev = json.loads((classify_run / "eval.json").read_text())
    stored = np.load(classify_run / "logits.npz", allow_pickle=False)
    logits, labels = stored["query_logits"], stored["query_labels"]
    assert logits.shape == (16, 16) and labels.tolist() == query_frames()[1].tolist()
    top1 = float(np.mean([hand_argmax(row) == y for row, y in zip(logits.tolist(), labels.tolist())]))
    assert ev["accuracy_top1"] == pytest.approx(top1, abs=1e-12)
    assert ev["accuracy_top1"] == pytest.approx(hand_top_k(logits, labels, 1), abs=1e-12)
    assert ev["accuracy_top5"] == pytest.approx(hand_top_k(logits, labels, 5), abs=1e-12)
    assert ev["accuracy_top5"] >= ev["accuracy_top1"]
    assert (ev["task"], ev["classifier_input"], ev["classifier_trained"]) == ("classify", "features", True)


@pytest.mark.slow  # shares the ~15 s training of classify_run
def test_classify_logits_come_from_the_pooled_features(classify_run: Path) -> None:
    run = load_run(classify_run)
    x, _ = query_frames()
    with torch.no_grad():
        pooled = run.model.backbone(x).mean(dim=(-2, -1)).mean(dim=0)  # [B, C]: space, then time
        weight, bias = run.model.classifier.weight, run.model.classifier.bias
        by_hand = torch.stack([(weight * row).sum(dim=1) + bias for row in pooled])
    assert weight.shape[1] == run.model.backbone.out_dim
    stored = np.load(classify_run / "logits.npz", allow_pickle=False)["query_logits"]
    np.testing.assert_allclose(stored, by_hand.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # shares the ~15 s training of classify_run
def test_classify_trains_the_backbone_and_leaves_the_hash_layer_as_initialised(classify_run: Path) -> None:
    """L_cls alone (Sec. IV-C): no gradient reaches the hash layer."""
    state = torch.load(classify_run / "checkpoint.pt", weights_only=True)["model"]
    seed_everything(0)  # the trainer seeds before it builds the model
    fresh = create_model("spikinghash_ti", in_channels=2, img_size=32, T=4, bits=8, num_classes=16,
                         classifier_input="features", **TINY_TI).state_dict()
    for name, value in state.items():
        if name.startswith("hash_head.") and "running" not in name and "num_batches" not in name:
            assert torch.equal(value, fresh[name]), name
    assert not torch.equal(state["classifier.weight"], fresh["classifier.weight"])
    assert any(not torch.equal(v, fresh[k]) for k, v in state.items() if k.startswith("backbone.") and "weight" in k)


@pytest.mark.slow  # shares the ~15 s training of classify_run
def test_eval_prints_accuracy(classify_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(classify_run), "--precision-k", "5", "--ndcg-n", "5"]) == 0
    ev = json.loads((classify_run / "eval.json").read_text())
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "accuracy" in ln)
    assert f"top-1 {ev['accuracy_top1']:.4f}" in line and f"top-5 {ev['accuracy_top5']:.4f}" in line
    assert "classifier on the features" in line


@pytest.mark.slow
def test_hash_run_reports_the_accuracy_of_its_classifier_on_the_code(tmp_path: Path) -> None:
    train(tiny("hash"), tmp_path, progress=False)
    ev = evaluate_run(tmp_path, precision_k=5, ndcg_n=5)
    assert (ev["task"], ev["classifier_input"], ev["classifier_trained"]) == ("hash", "code", True)
    run = load_run(tmp_path)
    x, labels = query_frames()
    with torch.no_grad():
        out = run.model(x)
        by_hand = out.code @ run.model.classifier.weight.T + run.model.classifier.bias
    stored = np.load(tmp_path / "logits.npz", allow_pickle=False)["query_logits"]
    np.testing.assert_allclose(stored, by_hand.numpy(), rtol=1e-5, atol=1e-6)
    assert ev["accuracy_top1"] == pytest.approx(hand_top_k(stored, labels, 1), abs=1e-12)
    assert ev["accuracy_top5"] == pytest.approx(hand_top_k(stored, labels, 5), abs=1e-12)


def test_top_k_accuracy_on_a_hand_example() -> None:
    logits = np.array([[0.1, 0.9, 0.0], [2.0, 2.0, 1.0], [0.0, 0.0, 0.0], [3.0, 1.0, 2.0]])
    labels = np.array([1, 1, 2, 2])
    # row 0: argmax 1 (hit); row 1: tie 0/1 goes to class 0 (miss); row 2: all tied -> 0 (miss); row 3: 0 (miss)
    assert top_k_accuracy(logits, labels, 1) == 0.25
    # top-2: row 0 {1, 0} hit; row 1 {0, 1} hit; row 2 {0, 1} miss; row 3 {0, 2} hit
    assert top_k_accuracy(logits, labels, 2) == 0.75
    assert top_k_accuracy(logits, labels, 5) == 1.0  # k above the class count: every row counts


def test_classify_is_refused_for_transhash() -> None:
    cfg = TrainConfig(model="transhash", data="dvs-digits", bits=8, T=4, epochs=1, task="classify",
                      data_options=dict(TINY_DATA))
    with pytest.raises(ConfigError, match="task=classify needs a spiking hashing network"):
        train(cfg, Path("/nonexistent/never-written"), progress=False)


def test_unknown_task_is_refused() -> None:
    cfg = TrainConfig(model="spikinghash_ti", data="dvs-digits", bits=8, task="regress")
    with pytest.raises(ConfigError, match="task='regress'"):
        train(cfg, Path("/nonexistent/never-written"), progress=False)
