"""Binning events into T frames (tonic's ToFrame) and repeating images, as model input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikinghash.data.events import make_events
from spikinghash.data.frames import FrameDataset, collate_time_major, events_to_frames, frame_loader, image_to_frames
from spikinghash.data.registry import DatasetInfo
from spikinghash.errors import ConfigError


def binned_by_hand(ev: np.ndarray, size: tuple[int, int, int], T: int) -> np.ndarray:
    """Bin k holds events with t0 + k·w ≤ t < t0 + (k+1)·w, w = ⌊span / T⌋ µs (the README's rule)."""
    w_px, h_px, p_px = size
    out = np.zeros((T, p_px, h_px, w_px), int)
    t0 = int(ev["t"][0])
    width = (int(ev["t"][-1]) - t0) // T
    for e in ev:
        k = (int(e["t"]) - t0) // width
        if k < T:
            out[k, e["p"], e["y"], e["x"]] += 1
    return out


@pytest.mark.parametrize("T", [1, 4, 8, 16])
def test_event_frames_match_a_hand_binning(T: int) -> None:
    rng = np.random.default_rng(T)
    n = 3000
    ev = make_events(rng.integers(0, 34, n), rng.integers(0, 30, n), rng.integers(10**6, 10**6 + 300_000, n),
                     rng.integers(0, 2, n))
    frames = events_to_frames(ev, (34, 30, 2), T)
    assert frames.shape == (T, 2, 30, 34)
    np.testing.assert_array_equal(frames, binned_by_hand(ev, (34, 30, 2), T))
    assert frames.sum() >= n - 1 - T  # only the tail beyond the last whole bin is dropped


def test_empty_and_instantaneous_streams() -> None:
    assert events_to_frames(make_events(*[np.zeros(0, int)] * 4), (4, 4, 2), 4).sum() == 0
    ev = make_events(np.array([1, 2]), np.array([0, 3]), np.array([7, 7]), np.array([1, 0]))
    frames = events_to_frames(ev, (4, 4, 2), 4)
    assert frames.sum() == 2 and frames[0, 1, 0, 1] == 1 and frames[0, 0, 3, 2] == 1


def test_images_are_repeated_T_times() -> None:
    img = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    frames = image_to_frames(img, 5)
    assert frames.shape == (5, 3, 8, 8)
    for t in range(5):
        np.testing.assert_array_equal(frames[t], img)


@pytest.mark.parametrize("T", [0, -3, 2.5, True, 5000])
def test_impossible_T_is_refused(T: object) -> None:
    with pytest.raises(ConfigError, match="time steps"):
        image_to_frames(np.zeros((1, 2, 2)), T)  # type: ignore[arg-type]


class _TinySplit:
    info = DatasetInfo("tiny", "events", (6, 5, 2), ("a", "b"))
    split = "query"

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.samples = [make_events(rng.integers(0, 6, 50), rng.integers(0, 5, 50), np.sort(rng.integers(0, 1000, 50)),
                                    rng.integers(0, 2, 50)) for _ in range(5)]
        self.labels = np.array([0, 1, 1, 0, 1])

    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.samples[i].copy(), int(self.labels[i])


def test_loader_batches_are_time_major() -> None:
    split = _TinySplit()
    x, y = next(iter(frame_loader(split, T=4, batch_size=3)))
    assert x.shape == (4, 3, 2, 5, 6) and x.dtype == torch.float32
    assert y.tolist() == [0, 1, 1]
    ds = FrameDataset(split, 4)
    np.testing.assert_array_equal(x[:, 1].numpy(), events_to_frames(split[1][0], (6, 5, 2), 4))
    x2, _ = collate_time_major([ds[0], ds[1]])
    assert x2.shape == (4, 2, 2, 5, 6)


def test_frame_cache_stops_at_its_budget_and_frames_stay_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    split = _TinySplit()
    one = events_to_frames(split[0][0], (6, 5, 2), 4).nbytes  # 4 x 2 x 5 x 6 int16 = 480 bytes
    ds = FrameDataset(split, 4, cache_mb=2.5 * one / 2**20)
    frames = [ds.frames(i) for i in range(5)]
    assert sorted(ds._cache) == [0, 1]  # room for two samples' frames
    for i in range(5):
        np.testing.assert_array_equal(ds.frames(i), frames[i])
        np.testing.assert_array_equal(frames[i], events_to_frames(split[i][0], (6, 5, 2), 4))
    monkeypatch.setenv("SPIKINGHASH_FRAME_CACHE_MB", "0")
    none = FrameDataset(split, 4)
    none.frames(0)
    assert none._cache == {}
