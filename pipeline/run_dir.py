"""Run folders: every artifact's file name, defined once, and the one loaded-run type.

A run folder (``spikinghash train --out RUN_DIR``) collects the files of each stage:

====================  ===========================================  =============================
file                  written by                                   holds
====================  ===========================================  =============================
``config.yaml``       ``train`` (the trainer)                      the resolved training config
``metrics.jsonl``     ``train``                                    one JSON object per epoch
``checkpoint.pt``     ``train`` (``.prev.pt``: the one before)     weights, optimizer, RNG states
``qat.json``          ``qat``                                      the fixed QAT integer grid
``eval.json``         ``eval``                                     retrieval metrics, P@k curve, accuracy
``logits.npz``        ``eval``                                     the query split's logits
``codes.npz``         ``eval``                                     packed query/database codes
``index.npz``         ``eval``                                     faiss binary index
``model.nir``         ``export nir`` / ``simulate`` / ``energy``   the NIR graph (fingerprinted)
``model.onnx``        ``export onnx`` / ``energy``                 the ONNX graph
``model.net``         ``export netx`` / ``simulate --backend netx``  the lava-dl netx network
``graph.json``        ``simulate`` / ``energy``                    the deployment: source, data, T, dt, readout
``hw_sim.json``       ``simulate``                                 float vs integer vs Lava
``hw_sim_codes.npz``  ``simulate --backend fast``                  the integer model's codes
``hw_sim_counts.npz`` ``simulate --backend fast``                  per-neuron spike totals
``energy.json``       ``energy``                                   energy per sample and layer
``report.json/.md``   ``report``                                   the headline numbers
``demo.json``         ``demo``                                     stage times
====================  ===========================================  =============================

The trainer writes its own three files and owns their names (``train.trainer``,
``train.checkpoint``); they are re-exported here so that every other module asks this one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from torch import nn

from spikinghash.data.registry import DatasetInfo, dataset_info, load_split
from spikinghash.errors import DataError, UserError
from spikinghash.models.fake_quant import GRID_FORMAT, QatGrid
from spikinghash.train.checkpoint import CHECKPOINT, PREVIOUS, load_checkpoint
from spikinghash.train.config import TrainConfig, check_config, config_from_dict, read_config_file
from spikinghash.train.distributed import DistEnv
from spikinghash.train.trainer import CONFIG, METRICS, RunData, build_model, load_data

__all__ = ["CHECKPOINT", "PREVIOUS", "CONFIG", "METRICS", "QAT_FILE", "EVAL", "CODES", "INDEX", "LOGITS", "NIR_FILE",
           "ONNX_FILE", "NETX_FILE", "GRAPH_JSON", "HW_SIM_JSON", "HW_SIM_CODES", "HW_SIM_COUNTS", "HW_SIM_PNG", "ENERGY_JSON", "ENERGY_PNG", "ENERGY_MODELS_PNG", "ENERGY_BREAK_EVEN_PNG",
           "REPORT_JSON", "REPORT_MD", "REPORT_FIGURES", "DEMO_JSON", "EVAL_PLOTS", "Run", "load_run", "read_run_config", "read_grid"]

QAT_FILE = "qat.json"
EVAL, CODES, INDEX, LOGITS = "eval.json", "codes.npz", "index.npz", "logits.npz"
NIR_FILE, ONNX_FILE = "model.nir", "model.onnx"
HW_SIM_JSON, HW_SIM_CODES, HW_SIM_COUNTS, HW_SIM_PNG = "hw_sim.json", "hw_sim_codes.npz", "hw_sim_counts.npz", "hw_sim.png"
GRAPH_JSON, NETX_FILE = "graph.json", "model.net"
ENERGY_JSON, ENERGY_PNG = "energy.json", "energy.png"
ENERGY_MODELS_PNG, ENERGY_BREAK_EVEN_PNG = "energy_models.png", "energy_break_even.png"
REPORT_JSON, REPORT_MD = "report.json", "report.md"
REPORT_FIGURES = {k: f"report_{k}.png" for k in ("firing_rates", "energy_layers", "bubbles", "pr_curve", "similarity")}
DEMO_JSON = "demo.json"
EVAL_PLOTS = {"pr": "pr_curve.png", "precision": "precision_at_k.png", "training": "training_curves.png"}


@dataclass
class Run:
    """A trained run: config, model (eval mode, CPU), dataset description, epoch and fingerprint.

    ``fingerprint``: sha256 of the config, every weight and the QAT grid; it tags indexes and
    exports so that files made from other weights are recognised. ``data`` (the train, query
    and database splits) is loaded on first use.
    """

    run_dir: Path
    cfg: TrainConfig
    model: nn.Module
    info: DatasetInfo
    num_classes: int
    epoch: int
    fingerprint: str
    grid: QatGrid | None = field(default=None, repr=False)

    @cached_property
    def data(self) -> RunData:
        cfg = dataclasses.replace(self.cfg, eval_every=max(self.cfg.eval_every, 1))  # query + database too
        return load_data(cfg, DistEnv())

    def path(self, name: str) -> Path:
        return self.run_dir / name


def read_run_config(run_dir: str | Path) -> TrainConfig:
    """The config of ``run_dir``; :class:`DataError` if it is not a run folder."""
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise DataError(f"{run_dir} is not a training run (no {CONFIG}); train one with `spikinghash train`")
    try:
        data = read_config_file(path)
        lacking = [k for k in ("model", "data", "bits") if k not in data]
        if lacking:
            raise DataError(f"it lacks {', '.join(lacking)}")
        cfg = config_from_dict(data)
        check_config(cfg)
    except UserError as err:
        reason = str(err).split("; ")[0].replace(f"config file {path} ", "")
        raise DataError(f"run config {path} is unusable ({reason}); `spikinghash train` writes it: restore it, "
                        "or train the run again") from None
    return cfg


def read_grid(run_dir: str | Path) -> QatGrid | None:
    """``RUN_DIR/qat.json`` as a grid (None if the run is not a QAT run)."""
    path = Path(run_dir) / QAT_FILE
    if not path.is_file():
        return None
    try:
        return QatGrid.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} is not a QAT grid ({err}); run `spikinghash qat` again into a new --out") from None


def grid_from_spec(spec: dict[str, Any]) -> QatGrid:
    """A grid from ``hw_sim.target.qat_grid.derive_grid``'s plain form."""
    return QatGrid.from_json({"format": GRID_FORMAT, **spec})


def load_run(run_dir: str | Path) -> Run:
    """Build the run's model and load its checkpoint (``torch.load(weights_only=True)``); a QAT run's
    model is fake-quantized on its ``qat.json`` grid."""
    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    state = load_checkpoint(run_dir / CHECKPOINT, keys=("model", "epoch"),
                            missing_hint=f"the run has {CONFIG} but never finished an epoch; train it first "
                                         f"(spikinghash train --config {run_dir / CONFIG} --out {run_dir}), "
                                         "or check the folder name")
    info = dataset_info(str(cfg.data))
    if info.sensor_size is None or not info.classes:  # the user's files decide size and classes
        info = load_split(str(cfg.data), "train", root=cfg.data_root, **cfg.data_options).info
    num_classes = len(info.classes)
    grid = read_grid(run_dir)
    model = build_model(cfg, RunData(info, num_classes, None, None, None), grid)  # type: ignore[arg-type]
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise DataError(f"{run_dir / CHECKPOINT} does not fit model {cfg.model} "
                        f"({str(err).splitlines()[0]}); the run folder is inconsistent: restore the {CONFIG} that trained it, or "
                        "train the run again") from None
    model.eval()
    digest = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode())
    for name, tensor in sorted(state["model"].items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    qat = run_dir / QAT_FILE  # the QAT grid changes the exported model as much as a weight does
    if qat.is_file():
        digest.update(qat.read_bytes())
    return Run(run_dir, cfg, model, info, num_classes, int(state["epoch"]), digest.hexdigest(), grid)
