"""Rebuild a trained model from its run folder (``config.yaml`` + ``checkpoint.pt``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from spikinghash.data.registry import DatasetInfo, dataset_info, load_split
from spikinghash.errors import DataError
from spikinghash.train.checkpoint import load_checkpoint
from spikinghash.train.config import TrainConfig, config_from_dict, read_config_file
from spikinghash.train.qat import QAT_FILE
from spikinghash.train.trainer import RunData, build_model


@dataclass
class TrainedRun:
    """A trained run: config, model (eval mode, CPU), dataset description, epoch and fingerprint.

    ``fingerprint``: sha256 of the config and every weight; it tags indexes and exports
    so that files made from other weights are recognised.
    """

    run_dir: Path
    cfg: TrainConfig
    model: nn.Module
    info: DatasetInfo
    num_classes: int
    epoch: int
    fingerprint: str


def read_run_config(run_dir: str | Path) -> TrainConfig:
    """The config of ``run_dir``; :class:`DataError` if it is not a run folder."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise DataError(f"{run_dir} is not a training run (no config.yaml); train one with `spikinghash train`")
    return config_from_dict(read_config_file(path))


def load_trained(run_dir: str | Path) -> TrainedRun:
    """Build the run's model and load its checkpoint (``torch.load(weights_only=True)``)."""
    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    state = load_checkpoint(run_dir / "checkpoint.pt")
    info = dataset_info(str(cfg.data))
    if info.sensor_size is None or not info.classes:  # the user's files decide size and classes
        info = load_split(str(cfg.data), "train", root=cfg.data_root, **cfg.data_options).info
    num_classes = len(info.classes)
    model = build_model(cfg, RunData(info, num_classes, None, None, None), run_dir)  # type: ignore[arg-type]
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise DataError(f"{run_dir / 'checkpoint.pt'} does not fit model {cfg.model} "
                        f"({str(err).splitlines()[0]}); the run folder is inconsistent") from None
    model.eval()
    digest = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(state["model"].items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    qat = run_dir / QAT_FILE  # the QAT grid changes the exported model as much as a weight does
    if qat.is_file():
        digest.update(qat.read_bytes())
    return TrainedRun(run_dir, cfg, model, info, num_classes, int(state["epoch"]), digest.hexdigest())
