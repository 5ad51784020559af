"""The qat stage: quantization-aware fine-tuning of a neuromorphic-profile run (``spikinghash qat``).

1. The source run is exported to NIR and calibrated on training frames as ``simulate`` does;
   ``hw_sim.qat_grid.derive_grid`` rounds that calibration to a fixed power-of-two grid.
2. The grid is written to ``OUT/qat.json`` and the model is fine-tuned on it
   (``models.qat_layers.attach_grid``: every weight, bias and threshold fake-quantized).
3. Every later stage builds the model of ``OUT`` on that grid (``run_dir.load_run``), and the NIR
   export carries the scales (``metadata["spikinghash"]["qat_scales"]``) that ``hw_sim`` then uses
   as they are.

The fine-tuning run is an ordinary training run (same trainer, objective and data order; the
source's settings with ``epochs``, ``lr`` and no warm-up, a fresh optimizer) that starts from the
source's weights.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import torch

from spikinghash.atomic_io import check_output_dir, write_json
from spikinghash.errors import ConfigError, DataError
from spikinghash.export.nir_export import DEFAULT_DT, to_nir_graph
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.target.qat_grid import derive_grid
from spikinghash.models.fake_quant import QatGrid
from spikinghash.models.qat_layers import grid_inputs, require_neuromorphic
from spikinghash.pipeline.batches import calibration_frames
from spikinghash.pipeline.run_dir import CHECKPOINT, QAT_FILE, Run, grid_from_spec, load_run, read_grid
from spikinghash.train.distributed import DistEnv
from spikinghash.train.trainer import RunData, load_data, train


def write_grid(run_dir: str | Path, grid: QatGrid) -> Path:
    """Write the grid atomically to ``RUN_DIR/qat.json``."""
    path = Path(run_dir) / QAT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, grid.to_json())
    return path


def grid_for_run(source: Run, data: RunData, calib: int, seed: int = 0) -> QatGrid:
    """Calibrate the loaded run ``source`` on ``calib`` frames of ``data.train``; its grid."""
    name = str(source.cfg.model)
    model = require_neuromorphic(source.model, name)
    net = parse(to_nir_graph(model, T=int(source.cfg.T), dt=DEFAULT_DT, model_name=name))
    frames = calibration_frames(data.train, calib, seed)
    inputs = grid_inputs(model, name)
    with torch.no_grad():
        spec = derive_grid(net, frames, int(source.cfg.T), inputs.gains, inputs.bases)
    grid = grid_from_spec(spec)
    grid.info.update(source=str(source.run_dir), source_fingerprint=source.fingerprint, source_epoch=source.epoch,
                     calib_samples=int(frames.shape[1]), calib_seed=seed)
    return grid


def check_qat_args(source_dir: str | Path, out: Path, *, epochs: int, lr: float, calib: int) -> None:
    """Refuse bad settings and an unusable ``--out`` before the source run is loaded."""
    if epochs < 1:
        raise ConfigError(f"--epochs {epochs}: fine-tune for at least 1 epoch (default 2)")
    if not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"--lr {lr}: the learning rate must be positive, e.g. --lr 1e-3")
    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    if out.resolve() == Path(source_dir).resolve():
        raise ConfigError(f"--out {out} is the source run itself; fine-tune into a new folder")
    check_output_dir(out, "--out")


def run_qat(source_dir: str | Path, out_dir: str | Path, *, epochs: int = 2, lr: float = 1e-3, calib: int = 256,
            resume: bool = False, progress: bool = True) -> dict[str, Any] | None:
    """``spikinghash qat``: fine-tune the run in ``source_dir`` on its fixed grid into ``out_dir``.

    ``resume`` continues it from its checkpoint. Returns the last epoch's metrics (None if none was
    left to train).
    """
    out = Path(out_dir)
    check_qat_args(source_dir, out, epochs=epochs, lr=lr, calib=calib)
    source = load_run(source_dir)
    require_neuromorphic(source.model, str(source.cfg.model))
    cfg = dataclasses.replace(source.cfg, epochs=epochs, lr=lr, warmup_epochs=0, warmup_steps=0)
    if resume:
        grid = read_grid(out)
        if grid is None:
            raise DataError(f"{out} holds no {QAT_FILE}; start the fine-tuning without --resume")
        return train(cfg, out, resume=True, progress=progress, init_from=source.model.state_dict(), grid=grid)
    if (out / CHECKPOINT).exists():
        raise ConfigError(f"{out} already holds a run ({CHECKPOINT}); pass --resume to continue it, or choose "
                          "another --out folder")
    data = load_data(cfg, DistEnv())  # loaded once: for the calibration and for the fine-tuning
    grid = grid_for_run(source, data, calib)
    write_grid(out, grid)
    return train(cfg, out, progress=progress, init_from=source.model.state_dict(), data=data, grid=grid)
