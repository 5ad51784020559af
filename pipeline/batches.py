"""Frames of a run's splits in the batches the simulators take (``[T, B, C, H, W]`` float64)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from spikinghash.errors import ConfigError


def batches(dataset: Any, rows: range | np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Frames ``[T, B, C, H, W]`` float64 of ``rows`` of a ``FrameDataset``, ``batch_size`` at a time."""
    rows = list(rows)
    for i in range(0, len(rows), batch_size):
        yield np.stack([dataset.frames(j) for j in rows[i:i + batch_size]], axis=1).astype(np.float64)


def calibration_frames(train: Any, calib: int, seed: int = 0) -> np.ndarray:
    """Frames ``[T, calib, C, H, W]`` float64 of a seeded random subset of the ``FrameDataset`` ``train``."""
    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    rows = np.sort(np.random.default_rng(seed).permutation(len(train))[:calib])
    return np.concatenate(list(batches(train, rows, 64)), axis=1)


def split_rows(dataset: Any, limit: int | None) -> range:
    """The first ``limit`` rows of ``dataset`` (all of them for None)."""
    return range(len(dataset) if limit is None else min(limit, len(dataset)))
