"""The user's own data as frame sources: arrays, .npz files, event samples, tonic-style datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.data.events import make_events
from spikinghash.data.frames import MAX_T, FrameDataset, events_to_frames
from spikinghash.data.inputs import EventSamples, FrameArrays, TonicDataset, as_frame_source, load_npz_inputs
from spikinghash.data.registry import load_split
from spikinghash.errors import DataError

SHAPES = "[N, T, C, H, W] or [N, T, F]"
SENSOR = (6, 5, 2)  # (W, H, P)
T = 4


def binned_by_hand(ev: np.ndarray, size: tuple[int, int, int], T: int) -> np.ndarray:
    """data/frames.py's rule for span >= T: bin k holds t0 + k·w <= t < t0 + (k+1)·w, w = ⌊span / T⌋ µs.

    Events at or after t0 + T·w are dropped. Numpy only, independent of tonic.
    """
    w_px, h_px, p_px = size
    t = ev["t"].astype(np.int64)
    width = (t[-1] - t[0]) // T
    k = (t - t[0]) // width
    keep = k < T
    out = np.zeros((T, p_px, h_px, w_px), int)
    np.add.at(out, (k[keep], ev["p"][keep].astype(int), ev["y"][keep].astype(int), ev["x"][keep].astype(int)), 1)
    return out


def random_samples(n: int, seed: int = 0, size: int = 200) -> list[np.ndarray]:
    """``n`` event streams on SENSOR, each spanning ~10 ms (span >> T)."""
    rng = np.random.default_rng(seed)
    return [make_events(rng.integers(0, SENSOR[0], size), rng.integers(0, SENSOR[1], size),
                        rng.integers(5_000, 15_000, size), rng.integers(0, 2, size)) for _ in range(n)]


# --- FrameArrays ---


@pytest.mark.parametrize("shape", [(3, 4, 2, 5, 6), (3, 4, 7)], ids=["NTCHW", "NTF"])
def test_frame_arrays_give_back_each_sample_as_a_view(shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).poisson(2.0, shape).astype(np.int16)
    src = FrameArrays(x, np.array([2, 0, 1]))
    assert (len(src), src.T, src.frame_shape) == (3, 4, shape[2:])
    for i in range(3):
        np.testing.assert_array_equal(src.frames(i), x[i])
        assert np.shares_memory(src.frames(i), x) and src.frames(i).dtype == np.int16
    assert src.labels.tolist() == [2, 0, 1] and src.labels.dtype == np.int64
    d = src.describe()
    assert (d["kind"], d["samples"], d["T"], d["frame_shape"], d["sha256"]) == ("arrays", 3, 4, list(shape[2:]),
                                                                                 src.fingerprint())


def test_a_torch_tensor_and_whole_float_labels_are_accepted() -> None:
    x = torch.rand(2, 3, 1, 4, 4)
    src = FrameArrays(x, torch.tensor([1.0, 0.0]))
    np.testing.assert_array_equal(src.frames(1), x[1].numpy())
    assert src.labels.tolist() == [1, 0] and src.labels.dtype == np.int64 and src.frames(0).dtype == np.float32


def test_the_fingerprint_tells_other_data_apart() -> None:
    x = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    same = FrameArrays(x.copy(), [0, 1]).fingerprint()
    assert FrameArrays(x, [0, 1]).fingerprint() == same
    y = x.copy()
    y[1, 2, 4] += 1
    others = {FrameArrays(y, [0, 1]).fingerprint(), FrameArrays(x, [1, 1]).fingerprint(), FrameArrays(x).fingerprint(),
              FrameArrays(x.reshape(2, 3, 5, 1, 1), [0, 1]).fingerprint()}
    assert same not in others and len(others) == 4


REFUSED = {
    "4-d": (np.zeros((2, 3, 4, 5)), None, SHAPES),
    "no samples": (np.zeros((0, 3, 4)), None, SHAPES),
    "no time steps": (np.zeros((2, 0, 4)), None, SHAPES),
    "empty channel axis": (np.zeros((2, 3, 0, 4, 4)), None, SHAPES),
    "too many time steps": (np.zeros((1, MAX_T + 1, 2)), None, f"T <= {MAX_T}"),
    "nan": (np.array([[[0.0, np.nan]]]), None, SHAPES),
    "inf": (np.array([[[np.inf, 1.0]]]), None, SHAPES),
    "strings": (np.array([[["a", "b"]]]), None, SHAPES),
    "objects": (np.array([[[{"a": 1}]]], dtype=object), None, SHAPES),
    "complex": (np.ones((1, 2, 2), complex), None, SHAPES),
    "labels too short": (np.zeros((3, 2, 4)), [0, 1], r"labels must be [N] with N = 3"),
    "labels 2-d": (np.zeros((2, 2, 4)), [[0], [1]], r"labels must be [N] with N = 2"),
    "fractional labels": (np.zeros((2, 2, 4)), [0.5, 1.0], "labels must be [N] non-negative integer"),
    "string labels": (np.zeros((2, 2, 4)), ["cat", "dog"], "labels must be [N] non-negative integer"),
    "negative labels": (np.zeros((2, 2, 4)), [-1, 0], "labels must be [N] non-negative integer"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_bad_arrays_are_refused_in_one_line_naming_the_expected_shape(case: str) -> None:
    frames, labels, expected = REFUSED[case]
    with pytest.raises(DataError) as err:
        FrameArrays(frames, labels, name="mine")
    message = str(err.value)
    assert expected in message and message.startswith("mine: ") and "\n" not in message, message


# --- .npz files ---


def test_an_npz_of_frames_loads_back(tmp_path: Path) -> None:
    x = np.random.default_rng(1).random((5, 3, 2, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "mine.npz", frames=x, labels=np.arange(5))
    src = load_npz_inputs(tmp_path / "mine.npz")
    assert isinstance(src, FrameArrays) and src.labels.tolist() == [0, 1, 2, 3, 4] and src.T == 3
    for i in range(5):
        np.testing.assert_array_equal(src.frames(i), x[i])
    assert src.describe()["path"] == str(tmp_path / "mine.npz")
    assert src.fingerprint() == FrameArrays(x, np.arange(5)).fingerprint()
    np.savez(tmp_path / "unlabelled.npz", frames=x[:, :, 0, 0])
    assert load_npz_inputs(tmp_path / "unlabelled.npz", T=3).labels is None
    with pytest.raises(DataError, match=r"T = 3 time steps but T = 8 was asked"):
        load_npz_inputs(tmp_path / "mine.npz", T=8)


def test_an_npz_of_events_is_binned_as_tonic_bins_each_sample(tmp_path: Path) -> None:
    samples = random_samples(3)
    offsets = np.cumsum([0] + [len(s) for s in samples])
    np.savez(tmp_path / "ev.npz", events=np.concatenate(samples), offsets=offsets, sensor_size=np.array(SENSOR),
             labels=np.array([2, 1, 0]))
    src = load_npz_inputs(tmp_path / "ev.npz", T=T)
    assert isinstance(src, EventSamples) and len(src) == 3 and src.frame_shape == (2, 5, 6)
    assert src.labels.tolist() == [2, 1, 0]
    for i, ev in enumerate(samples):
        frames = src.frames(i)
        assert frames.shape == (T, 2, 5, 6)
        np.testing.assert_array_equal(frames, events_to_frames(ev, SENSOR, T))
        by_hand = binned_by_hand(ev, SENSOR, T)
        np.testing.assert_array_equal(frames, by_hand)
        np.testing.assert_array_equal(frames.sum(axis=(1, 2, 3)), by_hand.sum(axis=(1, 2, 3)))
    d = src.describe()
    assert (d["kind"], d["events"], d["sensor_size"], d["path"]) == ("events", offsets[-1], list(SENSOR),
                                                                     str(tmp_path / "ev.npz"))
    np.savez(tmp_path / "one.npz", events=samples[0], sensor_size=np.array(SENSOR))  # no offsets: one sample
    one = load_npz_inputs(tmp_path / "one.npz", T=T)
    assert len(one) == 1 and one.labels is None
    np.testing.assert_array_equal(one.frames(0), binned_by_hand(samples[0], SENSOR, T))


class _RunsCode:
    """Pickles as a call to ``os.mkdir(path)``: loading it with pickle would create the folder."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple:
        return os.mkdir, (self.path,)


def test_a_pickled_array_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    np.savez(tmp_path / "evil.npz", frames=np.array([_RunsCode(marker)], dtype=object), labels=np.array([0]))
    with pytest.raises(DataError, match="evil.npz") as err:
        load_npz_inputs(tmp_path / "evil.npz")
    assert not marker.exists() and "\n" not in str(err.value)
    np.load(tmp_path / "evil.npz", allow_pickle=True)["frames"]  # the hazard is real: unpickling runs it
    assert marker.is_dir()
    np.savez(tmp_path / "dicts.npz", events=np.array([{"a": 1}], dtype=object), sensor_size=np.array(SENSOR))
    with pytest.raises(DataError, match="dicts.npz"):
        load_npz_inputs(tmp_path / "dicts.npz", T=T)


def test_npz_files_of_another_layout_are_refused_in_one_line(tmp_path: Path) -> None:
    np.savez(tmp_path / "other.npz", images=np.zeros((2, 1, 4, 4)), y=np.zeros(2))
    with pytest.raises(DataError) as err:
        load_npz_inputs(tmp_path / "other.npz")
    assert str(err.value) == (
        f"{tmp_path / 'other.npz'} holds keys ['images', 'y']; expected 'frames' [N, T, C, H, W] or [N, T, F] with "
        "'labels' [N], or 'events' (x, y, t, p), 'offsets' [N+1], 'sensor_size' [W, H, P] with 'labels' [N]; "
        "write it with np.savez")
    samples = random_samples(2)
    np.savez(tmp_path / "ev.npz", events=np.concatenate(samples), offsets=[0, 200, 400], sensor_size=np.array(SENSOR))
    with pytest.raises(DataError, match="events need T: give --T N"):
        load_npz_inputs(tmp_path / "ev.npz")
    np.savez(tmp_path / "bad-offsets.npz", events=np.concatenate(samples), offsets=[0, 300], sensor_size=SENSOR)
    with pytest.raises(DataError, match=r"'offsets' must be \[N\+1\]"):
        load_npz_inputs(tmp_path / "bad-offsets.npz", T=T)
    np.savez(tmp_path / "bad-sensor.npz", events=samples[0], sensor_size=[6, 5])
    with pytest.raises(DataError, match=r"sensor_size must be \(W, H, P\)"):
        load_npz_inputs(tmp_path / "bad-sensor.npz", T=T)
    (tmp_path / "notes.npz").write_text("not a zip")
    for path in (tmp_path / "missing.npz", tmp_path / "notes.npz"):
        with pytest.raises(DataError, match=path.name):
            load_npz_inputs(path)


def test_events_off_the_sensor_are_refused_at_first_access() -> None:
    samples = random_samples(2)
    samples[1]["x"][3] = SENSOR[0]
    src = EventSamples(samples, SENSOR, T)  # checked lazily: building is cheap
    src.frames(0)
    with pytest.raises(DataError, match="events sample 1: event coordinates fall outside the 6x5 sensor"):
        src.frames(1)
    with pytest.raises(DataError, match=r"sensor_size must be \(W, H, P\)"):
        EventSamples(samples, (6, 5), T)
    with pytest.raises(DataError, match="events need T"):
        EventSamples(samples, SENSOR, None)  # type: ignore[arg-type]


def test_a_one_polarity_sensor_counts_every_event_in_channel_0() -> None:
    on = random_samples(1, seed=6)[0]
    on["p"] = 1
    src = EventSamples([on], (6, 5, 1), T)
    assert src.frames(0).shape == (T, 1, 5, 6)
    np.testing.assert_array_equal(src.frames(0)[:, 0], binned_by_hand(on, SENSOR, T)[:, 1])
    assert on["p"].min() == 1  # the caller's events are left alone
    with pytest.raises(DataError, match=r"P = 1 polarity but the events hold both"):
        EventSamples(random_samples(1), (6, 5, 1), T).frames(0)


# --- tonic-style datasets ---

TONIC_ORDER = np.dtype([("t", np.int32), ("x", np.int32), ("y", np.int32), ("p", np.int32)])


class FakeTonic:
    """tonic's dataset interface: ``len``, ``[i] -> (events, label)``, ``sensor_size``; counts its reads."""

    sensor_size = SENSOR

    def __init__(self, samples: list[np.ndarray], labels: list[int]) -> None:
        self.samples, self.labels, self.reads = samples, labels, 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        self.reads += 1
        ev = np.empty(len(self.samples[i]), TONIC_ORDER)
        for f in ("t", "x", "y", "p"):
            ev[f] = self.samples[i][f]
        return ev, self.labels[i]


def test_a_tonic_style_dataset_is_binned_after_conversion_and_read_once() -> None:
    samples = random_samples(3, seed=2)
    data = FakeTonic(samples, [5, 3, 5])
    src = TonicDataset(data, T)
    assert data.reads == 0 and src.frame_shape == (2, 5, 6)
    assert src.labels.tolist() == [5, 3, 5] and data.reads == 3
    for i, ev in enumerate(samples):
        expected = make_events(ev["x"], ev["y"], ev["t"], ev["p"])
        np.testing.assert_array_equal(src.frames(i), events_to_frames(expected, SENSOR, T))
        np.testing.assert_array_equal(src.frames(i), binned_by_hand(expected, SENSOR, T))
    assert data.reads == 3  # the labels' pass kept the frames
    assert src.fingerprint() == EventSamples(samples, SENSOR, T, [5, 3, 5]).fingerprint()
    assert src.describe()["kind"] == "tonic"


def test_plain_lists_and_iterables_of_pairs_work_and_a_missing_sensor_size_is_refused() -> None:
    samples = random_samples(2, seed=3)
    pairs = [(ev, k) for k, ev in enumerate(samples)]
    for data in (pairs, iter(pairs)):
        src = TonicDataset(data, T, sensor_size=SENSOR)
        assert src.labels.tolist() == [0, 1]
        np.testing.assert_array_equal(src.frames(1), events_to_frames(samples[1], SENSOR, T))
    with pytest.raises(DataError, match=r"list: no sensor_size; pass sensor_size=\(W, H, P\)"):
        TonicDataset(pairs, T)
    with pytest.raises(DataError, match="labels must be integer class indices"):
        TonicDataset([(samples[0], "cat")], T, SENSOR).labels


# --- FrameDataset as a frame source ---


def test_frame_dataset_labels_and_frame_shape_without_decoding() -> None:
    split = load_split("dvs-digits", "query", digits_per_class=2, temporal_per_class=2)
    ds = FrameDataset(split, T)
    assert ds.frame_shape == (2, 32, 32) and ds._cache == {}  # read from the sensor size, nothing decoded
    assert ds.frame_shape == ds.frames(0).shape[1:]
    np.testing.assert_array_equal(ds.labels, split.labels)
    assert ds.labels.dtype == np.int64 and len(ds.labels) == len(ds)
    assert as_frame_source(ds, T=T) is ds


# --- as_frame_source ---


def test_as_frame_source_dispatches_each_kind(tmp_path: Path) -> None:
    x = np.random.default_rng(4).random((3, 2, 6)).astype(np.float32)
    np.savez(tmp_path / "x.npz", frames=x)
    samples = random_samples(2, seed=5)
    arrays = FrameArrays(x)
    cases = [
        (arrays, {}, FrameArrays),
        (str(tmp_path / "x.npz"), {}, FrameArrays),
        (tmp_path / "x.npz", {"T": 2}, FrameArrays),
        (x, {"labels": [0, 1, 0]}, FrameArrays),
        (torch.from_numpy(x), {}, FrameArrays),
        (FakeTonic(samples, [0, 1]), {"T": T}, TonicDataset),
        ([(ev, 0) for ev in samples], {"T": T, "sensor_size": SENSOR}, TonicDataset),
    ]
    for data, kwargs, kind in cases:
        src = as_frame_source(data, **kwargs)
        assert type(src) is kind, (data, src)
        np.testing.assert_array_equal(src.frames(1), x[1] if kind is FrameArrays else
                                      events_to_frames(samples[1], SENSOR, T))
    assert as_frame_source(arrays) is arrays
    assert as_frame_source(x, [0, 1, 0]).labels.tolist() == [0, 1, 0]


@pytest.mark.parametrize("data, kwargs, needle", [
    ("dvs-digits", {}, "dvs-digits: not an existing .npz file"),
    ("nothere.npz", {}, "nothere.npz: not an existing .npz file"),
    ({"frames": 1}, {}, "cannot use dict as input data"),
    (np.zeros((2, 3, 4)), {"T": 5}, "an array has T = 3 time steps but T = 5 was asked"),
    (np.zeros((2, 3, 4)), {"sensor_size": SENSOR}, "sensor_size cannot be given with an array"),
    ([(np.zeros(0, TONIC_ORDER), 0)], {"sensor_size": SENSOR}, "events need T"),
], ids=["name", "missing-npz", "dict", "T-mismatch", "sensor-size-with-array", "events-without-T"])
def test_as_frame_source_refuses_what_it_cannot_use(data: object, kwargs: dict, needle: str) -> None:
    with pytest.raises(DataError) as err:
        as_frame_source(data, **kwargs)
    assert needle in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_labels_given_beside_a_file_are_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", frames=np.zeros((2, 2, 3)))
    with pytest.raises(DataError, match="labels cannot be given with an .npz file"):
        as_frame_source(tmp_path / "x.npz", [0, 1])
