"""The user's own data as a *frame source*: arrays, event samples, an ``.npz`` file, a tonic dataset.

A frame source is what the simulators consume (:class:`FrameSource`): ``len(src)`` samples,
``src.frames(i)`` of shape ``[T, *frame_shape]`` (time-major; ``frame_shape`` is ``(C, H, W)``
or ``(F,)``) holding event counts or intensities, never normalised, ``src.labels`` ``[N]``
int64 or ``None``, ``describe()`` (plain JSON) and ``fingerprint()`` (sha256 hex of the data,
so that runs on other data are told apart). :class:`~spikinghash.data.frames.FrameDataset`
is one too, for registered datasets (it has no ``describe``/``fingerprint``).

Events are binned exactly as training bins them (:func:`~spikinghash.data.frames.events_to_frames`,
tonic's ``ToFrame``). Files are read with ``allow_pickle=False``: a pickled array in an
untrusted file is refused, never run.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Protocol, Sequence

import numpy as np

from spikinghash.data.event_files import events_from_columns
from spikinghash.data.frames import CACHE_MB_ENV, DEFAULT_CACHE_MB, MAX_T, check_time_steps, events_to_frames
from spikinghash.data.image_arrays import read_npz
from spikinghash.errors import DataError

FRAME_SHAPES = "[N, T, C, H, W] or [N, T, F]"
NPZ_LAYOUTS = (f"'frames' {FRAME_SHAPES} with 'labels' [N], or 'events' (x, y, t, p), 'offsets' [N+1], "
               "'sensor_size' [W, H, P] with 'labels' [N]")
_NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: counts or intensities


class FrameSource(Protocol):
    """What the simulators consume: ``N`` samples of ``[T, *frame_shape]`` frames."""

    T: int
    frame_shape: tuple[int, ...]

    @property
    def labels(self) -> np.ndarray | None: ...

    def __len__(self) -> int: ...

    def frames(self, i: int) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...

    def fingerprint(self) -> str: ...


def _to_numpy(data: Any, what: str) -> np.ndarray:
    """``data`` (numpy, torch tensor, nested lists) as a numpy array, without copying where possible."""
    try:
        if hasattr(data, "detach"):  # a torch tensor: duck-typed so torch is imported only by its owner
            return data.detach().cpu().numpy()
        return np.asarray(data)
    except (TypeError, ValueError) as err:
        raise DataError(f"{what}: cannot be read as a numeric array ({err}); pass a numpy array or a float/int "
                        "torch tensor") from None


def check_labels(labels: Any, n: int, source: str) -> np.ndarray | None:
    """``[n]`` int64 class indices from ``labels`` (whole-number floats are cast), or ``None``."""
    if labels is None:
        return None
    arr = _to_numpy(labels, f"{source}: labels")
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(f"{source}: labels must be [N] with N = {n} (one per sample), got shape {list(arr.shape)}; "
                        "pass one integer class index per sample")
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu" or (n and arr.min() < 0):
        raise DataError(f"{source}: labels must be [N] non-negative integer class indices, got dtype {arr.dtype}; "
                        "pass labels.astype(int)")
    return arr.astype(np.int64)


def check_sensor_size(sensor_size: Any, source: str) -> tuple[int, int, int]:
    """``(W, H, P)``: width and height in pixels, ``P`` = 1 or 2 polarities."""
    arr = np.asarray(sensor_size if sensor_size is not None else ())
    if arr.shape != (3,) or arr.dtype.kind not in "iu" or (arr <= 0).any() or arr[2] > 2:
        raise DataError(f"{source}: sensor_size must be (W, H, P), width and height in pixels and P = 1 or 2 "
                        f"polarities, got {sensor_size!r}; tonic datasets carry it as .sensor_size")
    return (int(arr[0]), int(arr[1]), int(arr[2]))


def _sha256(header: Mapping[str, Any], arrays: Iterable[np.ndarray]) -> str:
    """sha256 hex of a JSON header (kind, shapes, dtypes) followed by each array's bytes."""
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for a in arrays:
        h.update(np.ascontiguousarray(a).view(np.uint8).reshape(-1))
    return h.hexdigest()


class FrameArrays:
    """Frames already made: ``[N, T, C, H, W]`` or ``[N, T, F]`` counts or intensities, and labels ``[N]``.

    The frames are kept as given (dtype included, a torch tensor's memory shared, nothing
    copied); ``frames(i)`` is a view ``[T, C, H, W]`` or ``[T, F]``. Do not modify the array
    afterwards: the fingerprint is computed once.
    """

    kind = "arrays"

    def __init__(self, frames: Any, labels: Any = None, name: str = "arrays", *, path: str | None = None) -> None:
        arr = _to_numpy(frames, f"{name}: frames")
        if arr.dtype.kind not in _NUMERIC_KINDS:
            raise DataError(f"{name}: frames must be numbers {FRAME_SHAPES} (event counts or intensities), got dtype "
                            f"{arr.dtype}; convert with np.asarray(frames, dtype=np.float32)")
        if arr.ndim not in (3, 5) or 0 in arr.shape:
            raise DataError(f"{name}: frames must be {FRAME_SHAPES} with no empty axis, got shape {list(arr.shape)}; "
                            "put samples first and time second (a static input is frames[:, None], T = 1)")
        if arr.shape[1] > MAX_T:
            raise DataError(f"{name}: frames must be {FRAME_SHAPES} with T <= {MAX_T}, got T = {arr.shape[1]} "
                            f"(shape {list(arr.shape)}); put samples first and time second")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise DataError(f"{name}: frames {FRAME_SHAPES} hold NaN or inf; replace them (np.nan_to_num) first")
        self.name, self.path = name, path
        self._frames, self._labels = arr, check_labels(labels, len(arr), name)
        self.T, self.frame_shape = int(arr.shape[1]), tuple(int(d) for d in arr.shape[2:])
        self._sha: str | None = None

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def labels(self) -> np.ndarray | None:
        """``[N]`` int64 class indices, or ``None``."""
        return self._labels

    def frames(self, i: int) -> np.ndarray:
        """``[T, *frame_shape]`` frames of sample ``i``, a view into the array."""
        return self._frames[i]

    def fingerprint(self) -> str:
        """sha256 hex over the frames' shape, dtype and bytes and the labels."""
        if self._sha is None:
            header = {"kind": self.kind, "shape": list(self._frames.shape), "dtype": self._frames.dtype.str,
                      "labels": self._labels is not None}
            self._sha = _sha256(header, [self._frames] + ([self._labels] if self._labels is not None else []))
        return self._sha

    def describe(self) -> dict[str, Any]:
        """``{"kind", "name", "samples", "T", "frame_shape", "dtype", "labels", "sha256"}`` (+ ``"path"``)."""
        out = {"kind": self.kind, "name": self.name, "samples": len(self), "T": self.T,
               "frame_shape": list(self.frame_shape), "dtype": str(self._frames.dtype),
               "labels": self._labels is not None, "sha256": self.fingerprint()}
        return out | ({"path": self.path} if self.path is not None else {})


class _EventSource:
    """Event samples binned into ``[T, P, H, W]`` int16 counts (:class:`EventSamples`, :class:`TonicDataset`).

    Subclasses give ``_raw(i) -> (events, label)``. Each sample is checked and converted to
    ``EVENT_DTYPE`` at its first access; binned frames are kept up to ``$SPIKINGHASH_FRAME_CACHE_MB``.
    One pass over every sample (:meth:`_scan`) bins, hashes and collects the labels at once.
    """

    kind = "events"

    def __init__(self, n: int, sensor_size: Any, T: int | None, name: str) -> None:
        if T is None:
            raise DataError(f"{name}: events need T: give --T N (the time steps each sample is binned into)")
        self.name, self.T = name, check_time_steps(T)
        self.sensor_size = check_sensor_size(sensor_size, name)
        w, h, p = self.sensor_size
        self.frame_shape = (p, h, w)
        self._n, self._cache, self._used = n, {}, 0
        self._budget = int(float(os.environ.get(CACHE_MB_ENV, DEFAULT_CACHE_MB)) * 2**20)
        self._labels: np.ndarray | None = None
        self._sha: str | None = None

    def _raw(self, i: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        return self._n

    def events(self, i: int) -> np.ndarray:
        """Sample ``i`` as checked, time-sorted ``EVENT_DTYPE`` events (``t`` in µs; ``p`` = 0 if ``P`` = 1)."""
        return self._sample(i)[0]

    def _sample(self, i: int) -> tuple[np.ndarray, Any]:
        i = operator.index(i)
        if not 0 <= i < self._n:
            raise IndexError(f"{self.name}: sample {i} of {self._n}")
        raw, label = self._raw(i)
        source = f"{self.name} sample {i}"
        raw = np.asarray(raw)
        if raw.ndim != 1 or raw.dtype.names is None or not {"x", "y", "t", "p"} <= set(raw.dtype.names):
            raise DataError(f"{source}: expected events with fields x, y, t, p (tonic's structured array), got "
                            f"{raw.dtype} of shape {list(raw.shape)}; give raw events, not frames from a transform")
        events = events_from_columns(raw["x"], raw["y"], raw["t"], raw["p"], self.sensor_size, source)
        if self.sensor_size[2] == 1:
            if len(np.unique(events["p"])) > 1:
                raise DataError(f"{source}: sensor_size {self.sensor_size} has P = 1 polarity but the events hold "
                                "both (p = 0 and 1); give sensor_size (W, H, 2)")
            events["p"] = 0
        return events, label

    def _bin(self, i: int, events: np.ndarray) -> np.ndarray:
        frames = events_to_frames(events, self.sensor_size, self.T)
        if self._used + frames.nbytes <= self._budget:
            self._cache[i], self._used = frames, self._used + frames.nbytes
        return frames

    def frames(self, i: int) -> np.ndarray:
        """``[T, P, H, W]`` int16 event counts of sample ``i`` (tonic's ``ToFrame`` with ``n_time_bins = T``)."""
        if i in self._cache:
            return self._cache[i]
        return self._bin(i, self._sample(i)[0])

    @property
    def labels(self) -> np.ndarray | None:
        """``[N]`` int64 class indices, or ``None``."""
        return self._labels

    def _scan(self) -> str:
        """One pass over every sample: bin (kept in the cache), collect the labels, return the sha256."""
        if self._sha is None:
            h = hashlib.sha256(json.dumps({"kind": "events", "sensor_size": list(self.sensor_size)}).encode())
            read = []
            for i in range(self._n):
                events, label = self._sample(i)
                if i not in self._cache:
                    self._bin(i, events)
                h.update(np.int64(len(events)).tobytes())
                h.update(events.view(np.uint8))
                read.append(label)
            self._labels = self._labels_from(read)
            h.update(b"no labels" if self._labels is None else self._labels.tobytes())
            self._sha = h.hexdigest()
        return self._sha

    def _labels_from(self, read: list[Any]) -> np.ndarray | None:
        """The labels once every sample has been read (``read``: what each ``_raw`` gave)."""
        return self._labels

    def fingerprint(self) -> str:
        """sha256 hex over the sensor size, each sample's ``EVENT_DTYPE`` events and the labels (not ``T``)."""
        return self._scan()

    def describe(self) -> dict[str, Any]:
        """``{"kind", "name", "samples", "T", "frame_shape", "sensor_size", "labels", "sha256"}``."""
        return {"kind": self.kind, "name": self.name, "samples": len(self), "T": self.T,
                "frame_shape": list(self.frame_shape), "sensor_size": list(self.sensor_size),
                "labels": self.labels is not None, "sha256": self.fingerprint()}


class EventSamples(_EventSource):
    """A list of event samples (tonic's structured arrays, fields x, y, t in µs, p) on a ``(W, H, P)`` sensor.

    ``frames(i)`` is ``[T, P, H, W]`` int16 counts; ``frame_shape = (P, H, W)``. ``sensor_size``
    and ``T`` are checked here, each sample at its first access.
    """

    def __init__(self, samples: Sequence[np.ndarray], sensor_size: tuple[int, int, int], T: int | None,
                 labels: Any = None, name: str = "events", *, path: str | None = None) -> None:
        self._samples = list(samples)
        if not self._samples:
            raise DataError(f"{name}: no samples; give a list of event arrays (fields x, y, t, p), one per sample")
        super().__init__(len(self._samples), sensor_size, T, name)
        self._labels, self.path = check_labels(labels, self._n, name), path

    def _raw(self, i: int) -> tuple[np.ndarray, None]:
        return self._samples[i], None

    def describe(self) -> dict[str, Any]:
        """As :meth:`_EventSource.describe`, with ``"events"`` (the total count) and ``"path"`` for a file."""
        out = super().describe() | {"events": int(sum(len(s) for s in self._samples))}
        return out | ({"path": self.path} if self.path is not None else {})


class TonicDataset(_EventSource):
    """A tonic-style dataset (``len``, ``dataset[i] -> (events, label)``) or any iterable of such pairs.

    ``sensor_size`` ``(W, H, P)`` comes from the argument, else ``dataset.sensor_size``. Events of
    any integer widths and field order are converted to ``EVENT_DTYPE`` field by field. The
    labels are read by the first full pass (first access of ``labels``, ``fingerprint`` or
    ``describe``), which bins and keeps every sample's frames on the way.
    """

    kind = "tonic"

    def __init__(self, dataset: Any, T: int | None, sensor_size: tuple[int, int, int] | None = None) -> None:
        name = type(dataset).__name__
        if sensor_size is None:
            sensor_size = getattr(dataset, "sensor_size", None)
            if sensor_size is None:
                raise DataError(f"{name}: no sensor_size; pass sensor_size=(W, H, P) (a tonic dataset has "
                                "it as .sensor_size)")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            if not isinstance(dataset, Iterable):
                raise DataError(f"{name}: not a dataset; give len() and dataset[i] -> (events, label), or an "
                                "iterable of (events, label) pairs")
            dataset = list(dataset)
        self._dataset = dataset
        super().__init__(len(dataset), sensor_size, T, name)

    def _raw(self, i: int) -> tuple[Any, Any]:
        item = self._dataset[i]
        if not isinstance(item, tuple) or len(item) != 2:
            raise DataError(f"{self.name} sample {i}: expected an (events, label) pair, got {type(item).__name__}; "
                            "give a dataset whose items are (events, label)")
        return item

    def _labels_from(self, read: list[Any]) -> np.ndarray | None:
        if all(label is None for label in read):
            return None
        try:
            return check_labels([operator.index(label) for label in read], self._n, self.name)
        except TypeError:
            kinds = sorted({type(x).__name__ for x in read})
            raise DataError(f"{self.name}: labels must be integer class indices, got {kinds}; give a target_transform "
                            "to integers") from None

    @property
    def labels(self) -> np.ndarray | None:
        """``[N]`` int64 class indices read from the samples (one pass over the dataset), or ``None``."""
        self._scan()
        return self._labels


def _npz_events(arrays: dict[str, np.ndarray], path: Path, T: int | None) -> EventSamples:
    """The ``events`` layout: samples ``events[offsets[i]:offsets[i + 1]]`` on ``sensor_size``."""
    events = arrays["events"]
    if events.ndim != 1 or events.dtype.names is None:
        raise DataError(f"{path}: 'events' must be one structured array (x, y, t, p) of all samples' events, got "
                        f"{events.dtype} of shape {list(events.shape)}; write tonic's event arrays concatenated")
    offsets = arrays.get("offsets", np.array([0, len(events)]))
    if (offsets.ndim != 1 or offsets.dtype.kind not in "iu" or len(offsets) < 2 or offsets[0] != 0
            or offsets[-1] != len(events) or (np.diff(offsets) < 0).any()):
        raise DataError(f"{path}: 'offsets' must be [N+1] non-decreasing integers from 0 to len(events) = "
                        f"{len(events)} (sample i is events[offsets[i]:offsets[i+1]]), got {offsets.dtype} of "
                        f"shape {list(offsets.shape)}")
    samples = [events[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    size = check_sensor_size(arrays["sensor_size"], str(path))
    labels = arrays.get("labels")
    return EventSamples(samples, size, T, labels, name=str(path), path=str(path))


def load_npz_inputs(path: str | os.PathLike, T: int | None = None) -> FrameArrays | EventSamples:
    """The user's ``.npz`` (read without pickle) as frames or event samples.

    Layouts: ``frames`` ``[N, T, C, H, W]`` or ``[N, T, F]`` with optional ``labels`` ``[N]``
    (``T``, if given, must match); or ``events`` (x, y, t in µs, p; each sample stably sorted by t if it is not
    already), ``offsets`` ``[N+1]`` (optional for one sample), ``sensor_size`` ``[W, H, P]``,
    optional ``labels`` ``[N]``, binned into ``T`` (required) time steps.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: not an existing .npz file; give the path of one written with np.savez")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: not an .npz file (not a zip archive); write it with np.savez")
    arrays = read_npz(path)
    if "frames" in arrays:
        source = FrameArrays(arrays["frames"], arrays.get("labels"), name=str(path), path=str(path))
        if T is not None and T != source.T:
            raise DataError(f"{path}: frames have T = {source.T} time steps but T = {T} was asked; leave T out "
                            f"or write frames binned into {T} steps")
        return source
    if {"events", "sensor_size"} <= set(arrays):
        return _npz_events(arrays, path, T)
    raise DataError(f"{path} holds keys {sorted(arrays)}; expected {NPZ_LAYOUTS}; write it with np.savez")


class _Kind(NamedTuple):
    """One kind of input :func:`as_frame_source` accepts: its test, builder and optional arguments."""

    name: str
    test: Callable[[Any], bool]
    build: Callable[[Any, Any, Any, Any], Any]  # (data, labels, T, sensor_size) -> frame source
    takes: frozenset[str]


def _is_event_dataset(data: Any) -> bool:
    """tonic's datasets have ``sensor_size``; otherwise indexable or iterable (events, label) pairs."""
    if isinstance(data, (str, bytes, Mapping)):
        return False
    return hasattr(data, "sensor_size") or isinstance(data, Iterable) or hasattr(data, "__getitem__")


_KINDS = (
    _Kind("a frame source", lambda d: all(hasattr(d, a) for a in ("frames", "__len__", "T")),
          lambda d, labels, T, size: d, frozenset()),
    _Kind("an .npz file", lambda d: isinstance(d, (str, os.PathLike)),
          lambda d, labels, T, size: load_npz_inputs(d, T), frozenset()),
    _Kind("an array", lambda d: isinstance(d, np.ndarray) or hasattr(d, "detach"),
          lambda d, labels, T, size: FrameArrays(d, labels), frozenset({"labels"})),
    _Kind("an event dataset", _is_event_dataset,
          lambda d, labels, T, size: TonicDataset(d, T, size), frozenset({"sensor_size"})),
)


def as_frame_source(data: Any, labels: Any = None, *, T: int | None = None,
                    sensor_size: tuple[int, int, int] | None = None) -> FrameSource:
    """``data`` as a frame source: a frame source as is, an ``.npz`` path, an array
    ``[N, T, C, H, W]``/``[N, T, F]`` (with ``labels`` ``[N]``), or a tonic-style dataset or
    iterable of ``(events, label)`` (binned into ``T`` steps on ``sensor_size`` ``(W, H, P)``).

    Registered dataset names are the pipeline's business, not this function's. ``T``, if
    given, must match the source's.
    """
    kind = next((k for k in _KINDS if k.test(data)), None)
    if kind is None:
        raise DataError(f"cannot use {type(data).__name__} as input data; give an .npz file, an array "
                        f"{FRAME_SHAPES} or a tonic-style dataset of (events, label) pairs")
    extra = sorted({"labels": labels, "sensor_size": sensor_size}.items())
    for arg, value in extra:
        if value is not None and arg not in kind.takes:
            raise DataError(f"{arg} cannot be given with {kind.name}: it carries its own; leave {arg} out")
    source = kind.build(data, labels, T, sensor_size)
    if T is not None and source.T != T:
        raise DataError(f"{kind.name} has T = {source.T} time steps but T = {T} was asked; leave T out or "
                        f"give data with {T} steps")
    return source
