"""Evaluate a training run: encode its splits, store codes and index, score, plot (``spikinghash eval``).

Files written into ``RUN_DIR`` (all atomically):

- ``codes.npz``: packed query and database codes with labels (see :mod:`.codes`);
- ``index.npz``: the faiss binary index of the database codes, tagged with the run's
  fingerprint (config + weights), so a stale index is refused by ``search``;
- ``eval.json``: every metric (:meth:`RetrievalMetrics.summary`) plus the P@k curve;
- ``pr_curve.png``, ``precision_at_k.png``, ``training_curves.png``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spikinghash.atomic_io import write_json
from spikinghash.errors import ConfigError, DataError
from spikinghash.retrieval.codes import CodeSet, load_codes, save_codes
from spikinghash.retrieval.curves import default_cutoffs, precision_curve
from spikinghash.retrieval.evaluate import Cutoff, evaluate
from spikinghash.retrieval.index import INDEX_BUILDERS, build_index, load_index, save_index
from spikinghash.retrieval.ranking import TIE_RULES
from spikinghash.retrieval.plots import plot_pr_curve, plot_precision_curve, plot_training_curves
from spikinghash.retrieval.search import SearchResult, search
from spikinghash.train.config import TrainConfig
from spikinghash.train.distributed import DistEnv
from spikinghash.train.evaluation import encode
from spikinghash.train.run_dir import TrainedRun, load_trained, read_run_config
from spikinghash.train.trainer import RunData, load_data

CODES, INDEX, EVAL = "codes.npz", "index.npz", "eval.json"


@dataclass
class LoadedRun:
    """A trained run with its query and database splits, ready to encode."""

    run_dir: Path
    cfg: TrainConfig
    model: nn.Module
    data: RunData
    epoch: int
    fingerprint: str


def load_run(run_dir: str | Path, trained: TrainedRun | None = None) -> LoadedRun:
    """The trained model of ``run_dir`` (see :func:`load_trained`; ``trained`` if already loaded) and its
    data splits."""
    trained = trained if trained is not None else load_trained(run_dir)
    cfg = dataclasses.replace(trained.cfg, eval_every=max(trained.cfg.eval_every, 1))  # query + database too
    data = load_data(cfg, DistEnv())
    return LoadedRun(trained.run_dir, trained.cfg, trained.model, data, trained.epoch, trained.fingerprint)


def encode_run(run: LoadedRun, batch_size: int = 64) -> CodeSet:
    """Codes of the query and database splits, as a packed :class:`CodeSet`."""
    device = torch.device("cpu")
    q, ql = encode(run.model, run.data.query, batch_size, device, DistEnv())  # type: ignore[arg-type]
    db, dl = encode(run.model, run.data.database, batch_size, device, DistEnv())  # type: ignore[arg-type]
    return CodeSet.from_bits(q, db, ql, dl)


def evaluate_run(run_dir: str | Path, *, map_k: Cutoff | None = None, precision_k: Cutoff = 100,
                 ndcg_n: Cutoff = 100, ties: str = "index", index_kind: str = "flat",
                 batch_size: int = 64) -> dict[str, Any]:
    """Encode, index, score and plot a run; returns what was written to ``eval.json``."""
    if index_kind not in INDEX_BUILDERS:  # refuse bad settings before the (long) encoding
        raise ConfigError(f"unknown index kind {index_kind!r}; choose one of {', '.join(INDEX_BUILDERS)}")
    if ties not in TIE_RULES:
        raise ConfigError(f"ties must be one of {', '.join(TIE_RULES)}, got {ties!r}")
    run = load_run(run_dir)
    codes = encode_run(run, batch_size)
    save_codes(run.run_dir / CODES, codes)
    save_index(run.run_dir / INDEX, build_index(codes.db_codes, codes.db_labels, codes.bits, run.fingerprint,
                                                kind=index_kind))
    info = run.data.info
    metrics = evaluate(codes, map_k=run.cfg.map_k if map_k is None else map_k, precision_k=precision_k,
                       ndcg_n=ndcg_n, similar_pairs=info.similar_classes, ties=ties)
    ks = default_cutoffs(len(codes.db_codes))
    p_curve = precision_curve(codes, ks)
    summary = {"run": str(run.run_dir), "model": run.cfg.model, "data": run.cfg.data, "epoch": run.epoch,
               "fingerprint": run.fingerprint, "similar_classes": [list(p) for p in info.similar_classes],
               **metrics.summary(), "precision_curve": {"k": ks, "precision": p_curve.tolist()}}
    write_json(run.run_dir / EVAL, summary)
    title = f"{run.cfg.model}, {codes.bits} bits, {run.cfg.data}"
    plot_pr_curve(metrics.pr_precision, metrics.pr_recall, run.run_dir / "pr_curve.png", title)
    plot_precision_curve(ks, p_curve, run.run_dir / "precision_at_k.png", title)
    metrics_file = run.run_dir / "metrics.jsonl"
    if metrics_file.is_file():
        plot_training_curves(metrics_file, run.run_dir / "training_curves.png", title)
    return summary


@dataclass
class Neighbours:
    """Top-k database neighbours of one sample (``self_excluded``: the sample itself was skipped)."""

    split: str
    index: int
    label: int
    result: SearchResult
    self_excluded: bool


def search_run(run_dir: str | Path, split: str, index: int, k: int) -> Neighbours:
    """The ``k`` nearest database codes to sample ``index`` of ``split`` (``query`` or ``database``).

    Uses the stored ``codes.npz`` and ``index.npz``; refuses an index whose fingerprint
    differs from the run's current weights and config.
    """
    run_dir = Path(run_dir)
    if not (run_dir / CODES).is_file():
        raise DataError(f"{run_dir} has no {CODES}; run `spikinghash eval {run_dir}` first")
    codes = load_codes(run_dir / CODES)
    rows = {"query": (codes.query_codes, codes.query_labels), "database": (codes.db_codes, codes.db_labels)}
    if split not in rows:
        raise DataError(f"--sample split {split!r} has no stored codes; use query:INDEX or database:INDEX")
    packed, labels = rows[split]
    if not 0 <= index < len(packed):
        raise DataError(f"--sample {split}:{index} is out of range; {split} has {len(packed)} samples (0..{len(packed) - 1})")
    hash_index = load_index(run_dir / INDEX, load_run(run_dir).fingerprint)
    query = packed[index: index + 1]
    is_db = split == "database"
    result = search(hash_index, query, k + 1 if is_db else k)
    if is_db:  # a database sample finds itself at distance 0: leave it out of its own neighbours
        keep = result.indices[0] != index
        result = SearchResult(*(a[:, keep][:, :k] for a in (result.indices, result.distances, result.labels)))
    return Neighbours(split, index, int(labels[index]), result, is_db)


def class_names(run_dir: str | Path) -> tuple[str, ...]:
    """The dataset's class names for a run (for printing)."""
    from spikinghash.data.registry import dataset_info

    return dataset_info(str(read_run_config(run_dir).data)).classes

