"""The eval stage: encode a run's splits, store codes and index, score, plot (``spikinghash eval``).

Files written into ``RUN_DIR`` (all atomically):

- ``codes.npz``: packed query and database codes with labels (see ``retrieval.codes``);
- ``index.npz``: the faiss binary index of the database codes, tagged with the run's
  fingerprint (config + weights), so a stale index is refused by ``search``;
- ``logits.npz``: the classification head's ``query_logits [Nq, classes]`` (float32) and
  ``query_labels [Nq]``, from which ``accuracy_top1`` / ``accuracy_top5`` are computed;
- ``eval.json``: every metric (``RetrievalMetrics.summary``), the P@k curve, and the query
  split's top-1 / top-5 classification accuracy with what the classifier reads
  (``classifier_input``: ``code`` or ``features``) and whether training fitted it;
- ``pr_curve.png``, ``precision_at_k.png``, ``training_curves.png``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikinghash.atomic_io import check_output_dir, write_json, write_npz
from spikinghash.data.registry import dataset_info
from spikinghash.errors import ConfigError, DataError
from spikinghash.pipeline.run_dir import (CODES, EVAL, EVAL_PLOTS, INDEX, LOGITS, METRICS, Run, load_run,
                                          read_run_config)
from spikinghash.retrieval.codes import CodeSet, load_codes, save_codes
from spikinghash.retrieval.curves import default_cutoffs, precision_curve
from spikinghash.retrieval.index import INDEX_BUILDERS, build_index, load_index, save_index
from spikinghash.retrieval.plots import plot_pr_curve, plot_precision_curve, plot_training_curves
from spikinghash.retrieval.ranking import TIE_RULES
from spikinghash.retrieval.scoring import Cutoff, evaluate, resolve_cutoff
from spikinghash.retrieval.search import SearchResult, search
from spikinghash.train.distributed import DistEnv
from spikinghash.train.encode import encode, encode_outputs
from spikinghash.train.objective import classifier_trained

#: Top-k cutoffs of the classification accuracy in ``eval.json`` (``accuracy_top1``, ``accuracy_top5``).
ACCURACY_KS = (1, 5)


def encode_run_outputs(run: Run, batch_size: int = 64) -> tuple[CodeSet, np.ndarray]:
    """The query/database codes (packed) and the query split's logits ``[Nq, classes]``, in one pass."""
    device = torch.device("cpu")
    q = encode_outputs(run.model, run.data.query, batch_size, device, DistEnv())  # type: ignore[arg-type]
    db, dl = encode(run.model, run.data.database, batch_size, device, DistEnv())  # type: ignore[arg-type]
    return CodeSet.from_bits(q.codes, db, q.labels, dl), q.logits


def top_k_accuracy(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of rows whose label is among the ``k`` largest of its ``logits [N, classes]`` (``labels [N]``).

    Equal logits rank by ascending class index (a stable sort of the negated logits), the rule
    ``argmax`` uses for k = 1. ``k`` above the number of classes counts every row (1.0). No rows: NaN.
    """
    if len(labels) == 0:
        return float("nan")
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float((order == np.asarray(labels)[:, None]).any(axis=1).mean())


def classification_summary(run: Run, logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """``eval.json``'s classification entries: task, what the classifier reads, and top-k accuracies."""
    source = getattr(run.model, "build_args", {}).get("classifier_input", "code")
    return {"task": run.cfg.task, "classifier_input": source, "classifier_trained": classifier_trained(run.model),
            **{f"accuracy_top{k}": top_k_accuracy(logits, labels, k) for k in ACCURACY_KS}}


def check_eval_args(run_dir: str | Path, *, map_k: Cutoff | None, precision_k: Cutoff, ndcg_n: Cutoff, ties: str,
                    index_kind: str) -> None:
    """Refuse bad settings, an unwritable folder and an unreadable ``metrics.jsonl`` before the (long) encoding."""
    if index_kind not in INDEX_BUILDERS:
        raise ConfigError(f"unknown index kind {index_kind!r}; choose one of {', '.join(INDEX_BUILDERS)}")
    if ties not in TIE_RULES:
        raise ConfigError(f"--ties {ties!r} is unknown; choose one of {', '.join(TIE_RULES)}")
    for flag, k in (("--map-k", map_k), ("--precision-k", precision_k), ("--ndcg-n", ndcg_n)):
        if k is not None:
            resolve_cutoff(k, 1, flag)
    check_output_dir(run_dir, "run folder")
    metrics = Path(run_dir) / METRICS
    if metrics.is_file():  # drawn last, into training_curves.png: checked first
        try:
            for line in metrics.read_text().splitlines():
                if line.strip():
                    json.loads(line)
        except ValueError as err:
            raise DataError(f"{metrics} is unreadable ({type(err).__name__}); delete it (only the training-curve "
                            "plot needs it) and run eval again") from None


def evaluate_run(run_dir: str | Path, *, map_k: Cutoff | None = None, precision_k: Cutoff = 100,
                 ndcg_n: Cutoff = 100, ties: str = "index", index_kind: str = "flat",
                 batch_size: int = 64) -> dict[str, Any]:
    """Encode, index, score and plot a run; returns what was written to ``eval.json``."""
    check_eval_args(run_dir, map_k=map_k, precision_k=precision_k, ndcg_n=ndcg_n, ties=ties, index_kind=index_kind)
    run = load_run(run_dir)
    codes, query_logits = encode_run_outputs(run, batch_size)
    save_codes(run.path(CODES), codes)
    write_npz(run.path(LOGITS), query_logits=query_logits, query_labels=codes.query_labels)
    save_index(run.path(INDEX), build_index(codes.db_codes, codes.db_labels, codes.bits, run.fingerprint,
                                            kind=index_kind))
    info = run.data.info
    metrics = evaluate(codes, map_k=run.cfg.map_k if map_k is None else map_k, precision_k=precision_k,
                       ndcg_n=ndcg_n, similar_pairs=info.similar_classes, ties=ties)
    ks = default_cutoffs(len(codes.db_codes))
    p_curve = precision_curve(codes, ks)
    summary = {"run": str(run.run_dir), "model": run.cfg.model, "data": run.cfg.data, "epoch": run.epoch,
               "fingerprint": run.fingerprint, "similar_classes": [list(p) for p in info.similar_classes],
               **classification_summary(run, query_logits, codes.query_labels),
               **metrics.summary(), "precision_curve": {"k": ks, "precision": p_curve.tolist()}}
    write_json(run.path(EVAL), summary)
    title = f"{run.cfg.model}, {codes.bits} bits, {run.cfg.data}"
    plot_pr_curve(metrics.pr_precision, metrics.pr_recall, run.path(EVAL_PLOTS["pr"]), title)
    plot_precision_curve(ks, p_curve, run.path(EVAL_PLOTS["precision"]), title)
    if run.path(METRICS).is_file():
        plot_training_curves(run.path(METRICS), run.path(EVAL_PLOTS["training"]), title)
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
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"-k {k}: show at least 1 neighbour, e.g. -k 10")
    if split not in ("query", "database"):
        raise DataError(f"--sample split {split!r} has no stored codes; use query:INDEX or database:INDEX")
    if not (run_dir / CODES).is_file():
        raise DataError(f"{run_dir} has no {CODES}; run `spikinghash eval {run_dir}` first")
    if not (run_dir / INDEX).is_file():
        raise DataError(f"{run_dir} has no {INDEX}; run `spikinghash eval {run_dir}` first")
    codes = load_codes(run_dir / CODES)
    rows = {"query": (codes.query_codes, codes.query_labels), "database": (codes.db_codes, codes.db_labels)}
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
    return dataset_info(str(read_run_config(run_dir).data)).classes
