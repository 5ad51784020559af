"""Retrieval evaluation during training: encode query and database, score with retrieval.evaluate.

Each process encodes every W-th sample (``rank::W``) with the bare model in eval mode
(BatchNorm running statistics, no DDP hooks), the codes are gathered, and the main
process computes mAP over the whole query set against the whole database.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from spikinghash.data.frames import FrameDataset, collate_time_major
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.evaluate import evaluate
from spikinghash.train.distributed import DistEnv, autocast, gather_objects


@torch.no_grad()
def encode(model: nn.Module, dataset: FrameDataset, batch_size: int, device: torch.device,
           env: DistEnv) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``[N, L]`` uint8 in {0, 1} and labels ``[N]`` int64 of every sample, on every process."""
    rows = list(range(env.rank, len(dataset), env.world_size))
    loader = DataLoader(Subset(dataset, rows), batch_size=batch_size, collate_fn=collate_time_major)
    dtype = next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    codes, labels = [], []
    for x, y in loader:
        with autocast(device):
            out = model(x.to(device, dtype, non_blocking=True))
        codes.append((out.code.float() > 0.5).to(torch.uint8).cpu().numpy())
        labels.append(y.numpy())
    model.train(was_training)
    bits = int(out.code.shape[1]) if codes else 0
    local = (np.concatenate(codes) if codes else np.zeros((0, bits), np.uint8),
             np.concatenate(labels) if labels else np.zeros(0, np.int64))
    parts = gather_objects(local, env)
    bits = max(p[0].shape[1] for p in parts)  # type: ignore[index]
    all_codes = np.zeros((len(dataset), bits), np.uint8)
    all_labels = np.zeros(len(dataset), np.int64)
    for rank, (c, lab) in enumerate(parts):  # type: ignore[misc]
        all_codes[rank::env.world_size], all_labels[rank::env.world_size] = c, lab
    return all_codes, all_labels


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
