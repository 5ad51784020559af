"""Samples to model input: event streams binned into T frames, images repeated T times.

Every model takes ``x: [T, B, C, H, W]``. Event samples become ``[T, 2, H, W]``
event counts (channel 0 = OFF, 1 = ON, tonic's order) through tonic's ``ToFrame``
with ``n_time_bins = T``; static images ``[C, H, W]`` are repeated T times, as the
paper does for CIFAR.

tonic's time bins: the span from the first to the last event is cut into T bins
of ``⌊span / T⌋`` µs each; events at or after ``t_first + T·⌊span / T⌋`` (at least
the very last event) fall outside every bin and are dropped. We keep tonic's
behaviour so that frames match what tonic users get; a sample whose span is
shorter than T µs has no bins in tonic and is binned by event time here instead.
"""

from __future__ import annotations

import os
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from spikinghash.data.registry import Split
from spikinghash.errors import ConfigError

MAX_T = 1024  # beyond this, a "time step" count is surely a mistake (frames would be µs long)
# Frames kept in memory per FrameDataset. UCF101-DVS at T = 8 is 1.4 MB of int16 counts per
# clip (13 GB for its training list), HARDVS 2.9 MB per recording: past the budget, frames
# are recomputed from the files on each access instead of kept.
CACHE_MB_ENV = "SPIKINGHASH_FRAME_CACHE_MB"
DEFAULT_CACHE_MB = 1024


def check_time_steps(T: int) -> int:
    """Return ``T`` if it is a usable number of time steps, else raise :class:`ConfigError`."""
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or not 1 <= T <= MAX_T:
        raise ConfigError(f"T={T!r} time steps is impossible; use an integer from 1 to {MAX_T} (the paper uses 4 to 16)")
    return int(T)


def events_to_frames(events: np.ndarray, sensor_size: tuple[int, int, int], T: int) -> np.ndarray:
    """Bin an event stream into ``[T, P, H, W]`` int16 event counts with tonic's ``ToFrame``.

    Args:
        events: ``EVENT_DTYPE`` array, time-sorted, ``t`` in µs.
        sensor_size: ``(W, H, P)``.
    """
    from tonic.functional import to_frame_numpy

    T = check_time_steps(T)
    w, h, p = sensor_size
    if len(events) == 0:
        return np.zeros((T, p, h, w), dtype=np.int16)
    span = int(events["t"][-1] - events["t"][0])
    if span < T:
        frames = np.zeros((T, p, h, w), dtype=np.int16)
        bins = (events["t"] - events["t"][0]) * T // max(span + 1, 1)
        np.add.at(frames, (bins, events["p"].astype(np.int64), events["y"], events["x"]), 1)
        return frames
    return to_frame_numpy(events, sensor_size, n_time_bins=T)


def image_to_frames(image: np.ndarray, T: int) -> np.ndarray:
    """Repeat a static ``[C, H, W]`` image as T identical frames ``[T, C, H, W]``."""
    T = check_time_steps(T)
    return np.broadcast_to(image, (T, *image.shape))


class FrameDataset(Dataset):
    """A :class:`Split` as model input: item ``i`` is ``(frames [T, C, H, W] float32, label)``.

    Event frames are computed once per sample and kept in memory as int16 counts, up to
    ``cache_mb`` MiB (default ``$SPIKINGHASH_FRAME_CACHE_MB`` or 1024); samples past it
    are decoded again on every access.
    """

    def __init__(self, split: Split, T: int, cache_mb: float | None = None) -> None:
        self.split, self.T = split, check_time_steps(T)
        self._cache: dict[int, np.ndarray] = {}
        if cache_mb is None:
            cache_mb = float(os.environ.get(CACHE_MB_ENV, DEFAULT_CACHE_MB))
        self._budget, self._used = int(cache_mb * 2**20), 0

    def __len__(self) -> int:
        return len(self.split)

    @property
    def labels(self) -> np.ndarray:
        """``[N]`` int64 class indices of the split."""
        return self.split.labels

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame (``C`` = polarities for events), from ``sensor_size = (W, H, C)``."""
        w, h, c = self.split.info.sensor_size  # type: ignore[misc]
        return (c, h, w)

    def frames(self, i: int) -> np.ndarray:
        """``[T, C, H, W]`` frames of sample ``i`` (int16 counts for events, float for images)."""
        if i in self._cache:
            return self._cache[i]
        sample, _ = self.split[i]
        info = self.split.info
        frames = (events_to_frames(sample, info.sensor_size, self.T) if info.kind == "events"
                  else image_to_frames(sample.astype(np.float32), self.T))
        size = frames.nbytes if frames.base is None or info.kind == "events" else sample.nbytes
        if self._used + size <= self._budget:
            self._cache[i] = frames
            self._used += size
        return frames

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(np.ascontiguousarray(self.frames(i), dtype=np.float32)), int(self.split.labels[i])


def collate_time_major(batch: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(frames [T, C, H, W], label)`` items into ``x [T, B, C, H, W]``, ``y [B]``."""
    x = torch.stack([b[0] for b in batch], dim=1)
    return x, torch.tensor([b[1] for b in batch], dtype=torch.long)


def frame_loader(split: Split, T: int, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A DataLoader of ``x [T, B, C, H, W]``, ``y [B]`` batches over ``split`` (seeded shuffling)."""
    if batch_size < 1:
        raise ConfigError(f"batch_size={batch_size} is impossible; use a positive integer")
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(FrameDataset(split, T), batch_size=batch_size, shuffle=shuffle, generator=gen,
                      collate_fn=collate_time_major)
