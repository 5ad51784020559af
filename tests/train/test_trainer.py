"""Tests for train/trainer.py: resume identity, metrics, retrieval mAP, NaN handling, run-folder rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikinghash.data.frames import FrameDataset
from spikinghash.data.registry import load_split
from spikinghash.errors import ConfigError, DataError, UserError
from spikinghash.models import create_model
from spikinghash.train import objective as objective_module
from spikinghash.train import checkpoint as checkpoint_module
from spikinghash.train import soft_similarity
from spikinghash.train import trainer as trainer_module
from spikinghash.train.config import TrainConfig, config_from_dict
from spikinghash.train.trainer import NonFiniteLossError, train

TIMING = ("samples_per_s", "wall_s", "eval_s")


def metrics(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def checkpoint(run: Path) -> dict[str, Any]:
    return torch.load(run / "checkpoint.pt", weights_only=True)


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """Bit-for-bit equality of nested checkpoint contents."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def interrupt_after(monkeypatch: pytest.MonkeyPatch, saves: int) -> None:
    """Make the trainer stop (like Ctrl-C) right after its ``saves``-th checkpoint."""
    real, count = trainer_module.save_checkpoint, [0]

    def save_then_stop(*args: Any, **kwargs: Any) -> Path:
        path = real(*args, **kwargs)
        count[0] += 1
        if count[0] == saves:
            raise KeyboardInterrupt
        return path

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_then_stop)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, make_config: Callable[..., TrainConfig]) -> Path:
    """A tiny 2-epoch TransHash run with retrieval evaluation after every epoch."""
    run = tmp_path_factory.mktemp("runs") / "straight"
    train(make_config(eval_every=1), run, progress=False)
    return run


def test_resume_after_interruption_repeats_the_uninterrupted_run_bit_for_bit(make_config: Callable[..., TrainConfig], 
        finished_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "resumed"
    interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train(make_config(eval_every=1), run, progress=False)
    assert checkpoint(run)["epoch"] == 1
    monkeypatch.undo()
    train(make_config(eval_every=1), run, resume=True, progress=False)

    straight, resumed = checkpoint(finished_run), checkpoint(run)
    for part in ("epoch", "step", "config", "model", "optimizer", "scheduler", "soft_similarity", "rng"):
        assert_same(straight[part], resumed[part], part)
    a, b = metrics(finished_run), metrics(run)
    assert [r["epoch"] for r in b] == [1, 2]
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in TIMING} == {k: v for k, v in rb.items() if k not in TIMING}


@pytest.mark.slow
def test_resume_of_a_spiking_model_restores_the_soft_similarity(make_config: Callable[..., TrainConfig], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # A random classifier is almost never right on 16 classes, and Eq. 19 counts only right
    # samples: feed the soft similarity perfect logits so that its rounds are not empty.
    observe = soft_similarity.DynamicSoftSimilarity.observe
    monkeypatch.setattr(soft_similarity.DynamicSoftSimilarity, "observe",
                        lambda self, mem, y, logits: observe(self, mem, y, 10.0 * F.one_hot(y, self.num_classes)))
    cfg = dict(model="spikingformer", model_options={"embed_dim": 16, "depth": 1}, epochs=3,
               data_options={"digits_per_class": 2, "temporal_per_class": 2})
    train(make_config(**cfg), tmp_path / "straight", progress=False)
    interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train(make_config(**cfg), tmp_path / "resumed", progress=False)
    monkeypatch.setattr(trainer_module, "save_checkpoint", checkpoint_module.save_checkpoint)
    train(make_config(**cfg), tmp_path / "resumed", resume=True, progress=False)

    straight, resumed = checkpoint(tmp_path / "straight"), checkpoint(tmp_path / "resumed")
    soft = straight["soft_similarity"]
    # Rounds close at epochs 1 and 2 of 3: S_soft moved away from the identity it starts from.
    assert int(soft["counts"].sum()) > 0 and not torch.equal(soft["soft"], torch.eye(16, dtype=torch.float64))
    assert_same(soft, resumed["soft_similarity"], "soft_similarity")
    assert_same(straight["model"], resumed["model"], "model")
    assert [r["soft_lambda"] for r in metrics(tmp_path / "resumed")] == [1.0, 0.5, 0.0]


def brute_force_map(q_codes: np.ndarray, q_labels: np.ndarray, db_codes: np.ndarray, db_labels: np.ndarray) -> float:
    """mAP over the whole database; ties keep database order. Plain loops."""
    aps = []
    for code, label in zip(q_codes, q_labels):
        dist = [int((code != d).sum()) for d in db_codes]
        order = sorted(range(len(db_codes)), key=lambda j: (dist[j], j))
        hits, precisions = 0, []
        for rank, j in enumerate(order, start=1):
            if db_labels[j] == label:
                hits += 1
                precisions.append(hits / rank)
        aps.append(sum(precisions) / len(precisions))
    return sum(aps) / len(aps)


def test_metrics_lines_hold_schedule_losses_and_retrieval_map(make_config: Callable[..., TrainConfig], tmp_path: Path) -> None:
    cfg = make_config(epochs=3, eval_every=2, warmup_steps=2, lr=0.004)
    last = train(cfg, tmp_path, progress=False)
    lines = metrics(tmp_path)
    assert last == lines[-1]
    assert [r["epoch"] for r in lines] == [1, 2, 3] and [r["step"] for r in lines] == [4, 8, 12]
    # lr of each epoch's last step (0-based steps 3, 7, 11): warm-up over steps 0-1, cosine over 2..11.
    expected = [0.004 * 0.5 * (1 + np.cos(np.pi * (s - 2) / 10)) for s in (3, 7, 11)]
    assert [r["lr"] for r in lines] == pytest.approx(expected, rel=1e-12)
    for r in lines:
        assert set(r["loss_terms"]) == {"cauchy"} and r["loss"] == r["loss_terms"]["cauchy"]
        assert r["train_accuracy"] is None and r["samples_per_s"] > 0 and r["wall_s"] > 0
        assert r["map_k"] == "all"
    assert lines[0]["map"] is None and lines[0]["eval_s"] is None
    assert 0 < lines[1]["map"] <= 1 and 0 < lines[2]["map"] <= 1

    # The last mAP, recomputed from the checkpointed weights with a brute-force ranking.
    model = create_model("transhash", in_channels=2, img_size=32, T=4, bits=8, num_classes=16, **cfg.model_options)
    model.load_state_dict(checkpoint(tmp_path)["model"])
    model.eval()
    codes = {}
    for split in ("query", "database"):
        data = FrameDataset(load_split("dvs-digits", split, **cfg.data_options), 4)
        x = torch.stack([data[i][0] for i in range(len(data))], dim=1)
        with torch.no_grad():
            codes[split] = ((model(x).code > 0.5).numpy(), np.array([data[i][1] for i in range(len(data))]))
    assert lines[2]["map"] == pytest.approx(brute_force_map(*codes["query"], *codes["database"]), abs=1e-12)


def nan_on_call(real: Callable[..., torch.Tensor], call: int) -> Callable[..., torch.Tensor]:
    """``real`` whose ``call``-th result (1-based) is NaN, still attached to the graph."""
    count = [0]

    def wrapped(*args: Any, **kwargs: Any) -> torch.Tensor:
        count[0] += 1
        loss = real(*args, **kwargs)
        return loss * float("nan") if count[0] == call else loss

    return wrapped


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(make_config: Callable[..., TrainConfig], tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[bytes] = []
    real_save = trainer_module.save_checkpoint

    def save_and_remember(*args: Any, **kwargs: Any) -> Path:
        path = real_save(*args, **kwargs)
        saved.append(path.read_bytes())
        return path

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_and_remember)
    # 4 steps per epoch: the 6th loss is epoch 2, step 2.
    monkeypatch.setattr(objective_module, "transhash_loss", nan_on_call(objective_module.transhash_loss, 6))
    with pytest.raises(NonFiniteLossError) as err:
        train(make_config(), tmp_path, progress=False)
    message = str(err.value)
    assert isinstance(err.value, UserError) and "\n" not in message
    for part in ("epoch 2, step 2/4", "TransHash Cauchy loss", "is nan", "keeps epoch 1", "lower the learning rate"):
        assert part.lower() in message.lower(), part
    assert len(saved) == 1 and (tmp_path / "checkpoint.pt").read_bytes() == saved[0]
    assert [r["epoch"] for r in metrics(tmp_path)] == [1]


def test_nan_in_the_first_step_names_the_term_and_says_nothing_was_saved(make_config: Callable[..., TrainConfig], tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objective_module, "classification_loss",
                        nan_on_call(objective_module.classification_loss, 1))
    cfg = make_config(model="spikingformer", model_options={"embed_dim": 16, "depth": 1}, epochs=1)
    with pytest.raises(NonFiniteLossError, match=r"epoch 1, step 1/4: the classification loss L_cls \(Eq. 23\) "
                                                 r"is nan .*No epoch completed, so there is no checkpoint"):
        train(cfg, tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_checkpoint_holds_plain_data_only(make_config: Callable[..., TrainConfig], finished_run: Path) -> None:
    ckpt = torch.load(finished_run / "checkpoint.pt", weights_only=True)
    assert set(ckpt) == {"format", "epoch", "step", "config", "model", "optimizer", "scheduler",
                         "soft_similarity", "rng"}
    assert ckpt["epoch"] == 2 and ckpt["step"] == 8 and ckpt["soft_similarity"] is None  # TransHash: no S_soft
    assert config_from_dict(ckpt["config"]) == make_config(eval_every=1)
    assert ckpt["rng"]["numpy"]["keys"].shape == (624,) and ckpt["rng"]["python"]["state"].shape == (625,)
    assert (finished_run / "checkpoint.prev.pt").exists()
    assert torch.load(finished_run / "checkpoint.prev.pt", weights_only=True)["epoch"] == 1


def test_run_folder_rules(make_config: Callable[..., TrainConfig], finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(finished_run, run)
    with pytest.raises(ConfigError, match="already holds a run.*--resume"):
        train(make_config(eval_every=1), run, progress=False)
    with pytest.raises(ConfigError, match=r"other settings: lr=0\.001 \(checkpoint: 0\.005\)"):
        train(make_config(eval_every=1, lr=0.001), run, resume=True, progress=False)
    with pytest.raises(DataError, match="no checkpoint"):
        train(make_config(), tmp_path / "empty", resume=True, progress=False)
    # Another device is allowed; a finished run has nothing left to train and stays as it was.
    before = (run / "metrics.jsonl").read_text()
    assert train(make_config(eval_every=1, device="auto"), run, resume=True, progress=False) is None
    assert (run / "metrics.jsonl").read_text() == before


def test_a_batch_larger_than_the_train_split_is_refused(make_config: Callable[..., TrainConfig], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train split has 32 samples, fewer than one batch of 64"):
        train(make_config(batch_size=64), tmp_path, progress=False)
