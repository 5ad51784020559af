"""The train stage: resolve settings, then train (or resume) a run folder (``spikinghash train``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from spikinghash.atomic_io import check_output_dir
from spikinghash.pipeline.run_dir import CONFIG, read_grid
from spikinghash.train.config import TrainConfig, resolve_config
from spikinghash.train.distributed import detect
from spikinghash.train.trainer import train


def train_config(out: Path, config: Path | None, flags: dict[str, Any], overrides: Sequence[str],
                 resume: bool) -> TrainConfig:
    """Settings: defaults < ``config`` file < flags < KEY=VALUE overrides; a resumed run starts from its own
    saved ``config.yaml`` unless another file is named."""
    check_output_dir(out, "--out")  # before any setting is resolved or data loaded
    file = config or (out / CONFIG if resume and (out / CONFIG).exists() else None)
    return resolve_config(file, flags, list(overrides))


def train_run(cfg: TrainConfig, out: Path, *, resume: bool = False, progress: bool = True) -> dict[str, Any] | None:
    """Train ``cfg`` into ``out``; a resumed quantization-aware run keeps its ``qat.json`` grid."""
    grid = read_grid(out) if resume else None
    return train(cfg, out, resume=resume, progress=progress, grid=grid)


def is_main_process() -> bool:
    """False on the non-reporting processes of a torchrun launch."""
    return detect().is_main
