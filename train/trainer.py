"""The training loop: ``train(cfg, run_dir)`` from a resolved config to checkpoints and metrics.

RUN_DIR layout (written by the main process only):

- ``config.yaml``: the resolved config (reloads with ``--config``)
- ``metrics.jsonl``: one JSON object per epoch: ``epoch`` (completed, from 1), ``step``,
  ``loss`` (weighted total, mean over the epoch's steps), ``loss_terms`` (unweighted
  means), ``train_accuracy`` (None when the objective has no classifier), ``lr`` (last
  step's), ``samples_per_s`` and ``wall_s`` (training loop only), ``map``/``map_k``
  (query vs database, None on epochs without evaluation), ``eval_s``, and the
  objective's status (``soft_lambda`` for Spikinghash)
- ``checkpoint.pt``, ``checkpoint.prev.pt``: see ``train/checkpoint.py``

A quantization-aware fine-tuning (``spikinghash qat``) is an ordinary run whose model is built
on a fixed integer grid (``train(..., grid=...)``); the pipeline keeps that grid beside the run.

Determinism: the data order of epoch e is a permutation seeded by ``seed + e``
(``DistributedSampler``), every step sees a full global batch (the few samples left
over are dropped, different ones each epoch), and the checkpoint holds every
generator's state, so a resumed run repeats an uninterrupted one bit for bit on CPU.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from spikinghash.atomic_io import atomic_open
from spikinghash.data.frames import FrameDataset, collate_time_major
from spikinghash.data.registry import DatasetInfo, load_split
from spikinghash.errors import ConfigError, UserError
from spikinghash.models import create_model
from spikinghash.models.fake_quant import QatGrid
from spikinghash.models.outputs import HashOutput
from spikinghash.models.qat_layers import attach_grid
from spikinghash.train import distributed as D
from spikinghash.train.checkpoint import (CHECKPOINT, capture_rng, load_checkpoint, restore_rng, save_checkpoint,
                                          seed_everything)
from spikinghash.train.config import TrainConfig, check_config, config_from_dict, write_config
from spikinghash.train.encode import retrieval_map
from spikinghash.train.objective import Objective, build_objective, task_model_options
from spikinghash.train.optim import build_optimizer, build_scheduler

METRICS = "metrics.jsonl"
CONFIG = "config.yaml"


class NonFiniteLossError(UserError):
    """A loss term or the weights became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class RunData:
    """The datasets of a run: ``train`` always, ``query``/``database`` when evaluation is on."""

    info: DatasetInfo
    num_classes: int
    train: FrameDataset
    query: FrameDataset | None
    database: FrameDataset | None


def load_data(cfg: TrainConfig, env: D.DistEnv) -> RunData:
    """Load the splits (the main process first, so a generated dataset is generated once)."""
    splits = ("train", "query", "database") if cfg.eval_every > 0 else ("train",)

    def load() -> dict[str, Any]:
        return {s: load_split(str(cfg.data), s, root=cfg.data_root, **cfg.data_options) for s in splits}

    loaded = load() if env.is_main else {}
    D.barrier(env)
    loaded = loaded or load()
    train = loaded["train"]
    labels = [int(loaded[s].labels.max()) for s in splits if len(loaded[s])]
    num_classes = len(train.info.classes) or max(labels) + 1
    frames = {s: FrameDataset(loaded[s], cfg.T) for s in splits}
    return RunData(train.info, num_classes, frames["train"], frames.get("query"), frames.get("database"))


def build_model(cfg: TrainConfig, data: RunData, grid: QatGrid | None = None) -> nn.Module:
    """The registered model sized for the data (channels, frame size, classes), fake-quantized on
    ``grid`` for quantization-aware fine-tuning (``models/qat_layers.py``)."""
    if data.info.sensor_size is None:
        raise ConfigError(f"dataset {cfg.data} does not state its frame size; check its files")
    width, height, channels = data.info.sensor_size
    img_size: int | tuple[int, int] = height if height == width else (height, width)
    model = create_model(str(cfg.model), in_channels=channels, img_size=img_size, T=cfg.T,
                         bits=int(cfg.bits), num_classes=data.num_classes,
                         **{**task_model_options(cfg), **cfg.model_options})
    if grid is not None:
        attach_grid(model, grid, str(cfg.model))
    return model


def _check_resumable(cfg: TrainConfig, saved: dict[str, Any], path: Path) -> None:
    """Refuse to resume with settings other than the checkpoint's (the device may change)."""
    mine, theirs = cfg.to_dict(), config_from_dict(saved).to_dict()
    diff = [k for k in mine if k != "device" and mine[k] != theirs[k]]
    if diff:
        shown = ", ".join(f"{k}={mine[k]!r} (checkpoint: {theirs[k]!r})" for k in diff)
        raise ConfigError(f"cannot resume {path} with other settings: {shown}; drop those overrides "
                          "or start a new run in another --out folder")


class Trainer:
    """One run: model, objective, optimizer and data set up; :meth:`fit` trains the remaining epochs."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, env: D.DistEnv, device: torch.device,
                 resume: bool, progress: bool, init_from: Mapping[str, Tensor] | None = None,
                 grid: QatGrid | None = None,
                 data: RunData | None = None) -> None:
        self.cfg, self.run_dir, self.env, self.device = cfg, run_dir, env, device
        self.progress = progress and env.is_main
        saved = self._previous_run(resume)
        seed_everything(cfg.seed)
        self.data = data if data is not None else load_data(cfg, env)
        self.model = build_model(cfg, self.data, grid)
        if saved is None and init_from is not None:  # fine-tuning (spikinghash qat): start from those weights
            self.model.load_state_dict(init_from)
        self.model = self.model.to(device)
        self.dtype = next(self.model.parameters()).dtype  # inputs follow the model (fp32, or fp64 in tests)
        self.objective: Objective = build_objective(self.model, cfg, self.data.num_classes)
        world = env.world_size
        if cfg.batch_size % world:
            raise ConfigError(f"batch_size={cfg.batch_size} does not split over {world} processes; "
                              f"use a multiple of {world}")
        self.local_batch = cfg.batch_size // world
        self.steps = len(self.data.train) // world // self.local_batch
        if self.steps == 0:
            raise ConfigError(f"the train split has {len(self.data.train)} samples, fewer than one batch of "
                              f"{cfg.batch_size}; lower batch_size")
        warmup = cfg.warmup_steps or cfg.warmup_epochs * self.steps
        self.optimizer = build_optimizer(self.model, cfg.optimizer, cfg.lr, cfg.weight_decay)
        self.scheduler = build_scheduler(self.optimizer, warmup, cfg.epochs * self.steps)
        self.epoch, self.step = 0, 0
        if saved is not None:
            self._restore(saved)
        elif env.is_main:  # written only once the data, model and optimizer have been set up
            self._start_run_dir()
        self.net: nn.Module = self.model
        if env.distributed:
            if device.type == "cuda":  # torch's SyncBatchNorm runs on GPUs only
                self.net = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self.net = DistributedDataParallel(self.net, device_ids=[device.index] if device.type == "cuda" else None)
        # The permutation of epoch e is seeded by seed + e (set_epoch), the same for every process count.
        self.sampler = DistributedSampler(self.data.train, num_replicas=world, rank=env.rank, shuffle=True,
                                          seed=cfg.seed, drop_last=True)
        self.loader = DataLoader(self.data.train, batch_size=self.local_batch, sampler=self.sampler, drop_last=True,
                                 collate_fn=collate_time_major, generator=torch.Generator().manual_seed(cfg.seed),
                                 pin_memory=device.type == "cuda")

    def _previous_run(self, resume: bool) -> dict[str, Any] | None:
        """The checkpoint to resume from (None for a fresh run, which must not overwrite one)."""
        path = self.run_dir / CHECKPOINT
        if resume:
            saved = load_checkpoint(path)
            _check_resumable(self.cfg, saved["config"], path)
            if self.env.is_main:
                self._truncate_metrics(int(saved["epoch"]))
            return saved
        if path.exists():
            raise ConfigError(f"{self.run_dir} already holds a run ({CHECKPOINT}); pass --resume to continue "
                              "it, or choose another --out folder")
        return None

    def _start_run_dir(self) -> None:
        """A fresh run (main process): the resolved config, and no metrics from an earlier failed start."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_config(self.cfg, self.run_dir / CONFIG)
        (self.run_dir / METRICS).unlink(missing_ok=True)

    def _truncate_metrics(self, epochs_done: int) -> None:
        """Keep the metrics lines of the checkpointed epochs only (a crash may have left one more)."""
        path = self.run_dir / METRICS
        lines = path.read_text().splitlines() if path.exists() else []
        kept = []
        for line in lines:
            try:
                if json.loads(line)["epoch"] <= epochs_done:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
        with atomic_open(path) as fh:
            fh.write("".join(f"{line}\n" for line in kept))

    def _restore(self, saved: dict[str, Any]) -> None:
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.objective.load_state_dict(saved["soft_similarity"])
        self.epoch, self.step = int(saved["epoch"]), int(saved["step"])
        restore_rng(saved["rng"])

    def fit(self) -> dict[str, Any] | None:
        """Train epochs ``self.epoch .. epochs - 1``; the last epoch's metrics (None if none ran)."""
        record = None
        while self.epoch < self.cfg.epochs:
            record = self._train_epoch(self.epoch)
            self._finish_epoch(record)
            self.epoch += 1
        return record

    def _forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[HashOutput, HashOutput, torch.Tensor]:
        """Local outputs (fp32) and the global batch's outputs and labels, gathered over processes."""
        with D.autocast(self.device):
            out = self.net(x)
        # Losses in at least fp32 (bf16 under autocast would round the pair terms).
        out = HashOutput(*(t.to(torch.promote_types(t.dtype, torch.float32)) for t in out))
        bits, classes = out.code.shape[1], out.logits.shape[1]
        rows = D.gather_rows(torch.cat([out.code, out.mem, out.logits, y[:, None].to(out.code.dtype)], dim=1), self.env)
        glob = HashOutput(rows[:, :bits], rows[:, bits:2 * bits], rows[:, 2 * bits:2 * bits + classes])
        return out, glob, rows[:, -1].long()

    def _step(self, x: torch.Tensor, y: torch.Tensor, epoch: int, index: int) -> tuple[dict[str, float], int, int]:
        """One optimizer step; the global batch's unweighted loss terms, correct predictions and size."""
        env, obj = self.env, self.objective
        x, y = x.to(self.device, self.dtype, non_blocking=True), y.to(self.device, non_blocking=True)
        out, glob, glob_labels = self._forward(x, y)
        terms = obj.terms(out, y, glob, glob_labels)
        hits = (out.logits.argmax(dim=1) == y).sum()
        # One collective per step: local terms and hit counts summed over processes.
        local = D.all_sum(torch.stack([*terms.sample.values(), hits.float(), y.new_tensor(len(y)).float()])
                          .detach().double(), env).tolist()
        values = {k: float(v.detach()) for k, v in terms.pair.items()}
        values.update({k: v / env.world_size for k, v in zip(terms.sample, local)})
        self._check_finite(values, epoch, index)
        # Pair terms reach only this process's rows: scale by W so DDP's mean gives the full gradient.
        loss = obj.combine({**{k: v * env.world_size for k, v in terms.pair.items()}, **terms.sample})
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        obj.observe(HashOutput(*(t.detach() for t in glob)), glob_labels)
        self.step += 1
        return values, int(local[-2]), int(local[-1])

    def _train_epoch(self, epoch: int) -> dict[str, Any]:
        cfg, obj = self.cfg, self.objective
        self.net.train()
        self.sampler.set_epoch(epoch)
        obj.begin_epoch(epoch)
        sums: dict[str, float] = {}
        correct = seen = 0
        lr = self.optimizer.param_groups[0]["lr"]
        bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch",
                   disable=not self.progress, leave=False)
        start = time.perf_counter()
        for i, (x, y) in enumerate(self.loader):
            lr = self.optimizer.param_groups[0]["lr"]
            values, hits, size = self._step(x, y, epoch, i)
            values["loss"] = float(obj.combine({k: torch.tensor(v) for k, v in values.items()}))
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            correct, seen = correct + hits, seen + size
            bar.set_postfix(loss=f"{sums['loss'] / (i + 1):.4f}", samples_s=f"{seen / (time.perf_counter() - start):.1f}")
            bar.update()
        bar.close()
        wall = time.perf_counter() - start
        return {
            "epoch": epoch + 1, "step": self.step, "loss": sums.pop("loss") / self.steps,
            "loss_terms": {k: v / self.steps for k, v in sums.items()},
            "train_accuracy": correct / seen if obj.uses_logits else None,
            "lr": lr, "samples_per_s": seen / wall, "wall_s": wall, **obj.status(),
        }

    def _check_finite(self, values: dict[str, float], epoch: int, index: int) -> None:
        lr = self.optimizer.param_groups[0]["lr"]
        for name, value in values.items():
            if not math.isfinite(value):
                where = f"epoch {epoch + 1}, step {index + 1}/{self.steps}"
                raise NonFiniteLossError(
                    f"{where}: the {self.objective.descriptions[name]} is {value} at lr {lr:.3g}; "
                    f"training stopped. {self._last_good()} Lower the learning rate (e.g. lr={self.cfg.lr / 4:g}) "
                    "and train again")

    def _last_good(self) -> str:
        if self.epoch == 0:
            return "No epoch completed, so there is no checkpoint."
        return f"{self.run_dir / CHECKPOINT} keeps epoch {self.epoch}, the last good state."

    def _finish_epoch(self, record: dict[str, Any]) -> None:
        """Evaluate if due, then (main process) append the metrics line and write the checkpoint."""
        cfg, env, epoch = self.cfg, self.env, self.epoch
        due = cfg.eval_every > 0 and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs)
        record["map"], record["map_k"], record["eval_s"] = None, cfg.map_k, None
        if due:
            start = time.perf_counter()
            record["map"] = retrieval_map(self.model, self.data.query, self.data.database, cfg.batch_size,
                                          self.device, env, cfg.map_k, self.data.info.similar_classes)
            record["eval_s"] = time.perf_counter() - start
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            raise NonFiniteLossError(
                f"epoch {epoch + 1}: the weights became NaN or infinite although every loss was finite; "
                f"training stopped. {self._last_good()} Lower the learning rate (e.g. lr={cfg.lr / 4:g}) "
                "and train again")
        if env.is_main:
            with open(self.run_dir / METRICS, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            save_checkpoint(self.run_dir, {
                "epoch": epoch + 1, "step": self.step, "config": cfg.to_dict(),
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "soft_similarity": self.objective.state_dict(),
                "rng": capture_rng(),
            })
            if self.progress:
                shown = f", mAP {record['map']:.4f}" if record["map"] is not None else ""
                acc = f", train acc {record['train_accuracy']:.3f}" if record["train_accuracy"] is not None else ""
                tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}: loss {record['loss']:.4f}{acc}{shown}, "
                           f"{record['samples_per_s']:.1f} samples/s")
        D.barrier(env)


def train(cfg: TrainConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True,
          init_from: Mapping[str, Tensor] | None = None, grid: QatGrid | None = None,
          data: RunData | None = None) -> dict[str, Any] | None:
    """Train ``cfg`` into ``run_dir`` (or continue it with ``resume``); the last epoch's metrics.

    ``init_from``: the model state dict a fresh run starts from (fine-tuning). ``grid``: the fixed integer
    grid of a quantization-aware fine-tuning (``models/qat_layers.py``). ``data``: the splits already loaded for
    ``cfg`` (``load_data``), else loaded here.

    Runs as one process, or as one of several under torchrun (see ``train/distributed.py``).
    """
    check_config(cfg)
    env = D.detect()
    device = D.resolve_device(cfg.device, env)
    joined = D.init_process_group(env, device)
    try:
        return Trainer(cfg, Path(run_dir), env, device, resume, progress, init_from, grid, data).fit()
    finally:
        D.shutdown(joined)
