"""Evaluation during and after training: encode a split (codes, labels, logits) and score retrieval.

Each process encodes every W-th sample (``rank::W``) with the bare model in eval mode
(BatchNorm running statistics, no DDP hooks), the outputs are gathered, and the main
process computes mAP over the whole query set against the whole database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from spikinghash.data.frames import FrameDataset, collate_time_major
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.scoring import evaluate
from spikinghash.train.distributed import DistEnv, autocast, gather_objects


class Encoded(NamedTuple):
    """One split's outputs in dataset order: ``codes [N, L]`` uint8 in {0, 1}, ``labels [N]`` int64,
    ``logits [N, classes]`` float32 (the classification head's, before softmax)."""

    codes: np.ndarray
    labels: np.ndarray
    logits: np.ndarray


@torch.no_grad()
def encode_outputs(model: nn.Module, dataset: FrameDataset, batch_size: int, device: torch.device,
                   env: DistEnv) -> Encoded:
    """Codes, labels and logits of every sample of ``dataset``, on every process."""
    rows = list(range(env.rank, len(dataset), env.world_size))
    loader = DataLoader(Subset(dataset, rows), batch_size=batch_size, collate_fn=collate_time_major)
    dtype = next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    codes, labels, logits = [], [], []
    for x, y in loader:
        with autocast(device):
            out = model(x.to(device, dtype, non_blocking=True))
        codes.append((out.code.float() > 0.5).to(torch.uint8).cpu().numpy())
        labels.append(y.numpy())
        logits.append(out.logits.float().cpu().numpy())
    model.train(was_training)
    bits = int(out.code.shape[1]) if codes else 0
    classes = int(out.logits.shape[1]) if codes else 0
    local = Encoded(np.concatenate(codes) if codes else np.zeros((0, bits), np.uint8),
                    np.concatenate(labels) if labels else np.zeros(0, np.int64),
                    np.concatenate(logits) if logits else np.zeros((0, classes), np.float32))
    parts = [Encoded(*p) for p in gather_objects(tuple(local), env)]
    bits = max(p.codes.shape[1] for p in parts)
    classes = max(p.logits.shape[1] for p in parts)
    merged = Encoded(np.zeros((len(dataset), bits), np.uint8), np.zeros(len(dataset), np.int64),
                     np.zeros((len(dataset), classes), np.float32))
    for rank, part in enumerate(parts):
        for whole, piece in zip(merged, part):
            whole[rank::env.world_size] = piece
    return merged


def encode(model: nn.Module, dataset: FrameDataset, batch_size: int, device: torch.device,
           env: DistEnv) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``[N, L]`` uint8 in {0, 1} and labels ``[N]`` int64 of every sample, on every process."""
    out = encode_outputs(model, dataset, batch_size, device, env)
    return out.codes, out.labels


def retrieval_map(model: nn.Module, query: FrameDataset, database: FrameDataset, batch_size: int,
                  device: torch.device, env: DistEnv, map_k: int | str,
                  similar_pairs: Sequence[tuple[int, int]]) -> float | None:
    """Query/database mAP@``map_k`` of ``model``'s codes (None on processes other than the main one)."""
    q_codes, q_labels = encode(model, query, batch_size, device, env)
    db_codes, db_labels = encode(model, database, batch_size, device, env)
    if not env.is_main:
        return None
    codes = CodeSet.from_bits(q_codes, db_codes, q_labels, db_labels)
    return evaluate(codes, map_k=map_k, similar_pairs=similar_pairs).map
