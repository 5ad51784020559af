"""What the file-backed event datasets (N-MNIST, DVS128 Gesture, CIFAR10-DVS, UCF101-DVS, ...) share.

* Where the files are: the ``root`` argument, else ``$SPIKINGHASH_DATA_ROOT/<name>``
  (:func:`dataset_root`). Nothing is ever downloaded: a missing file is a
  :class:`DataError` that says which files are expected where.
* How decoded columns become our event record: :func:`events_from_columns` sorts by
  time, checks coordinates against the sensor and polarities, then casts to
  ``EVENT_DTYPE``.
* Decoded columns stored as numbers of any type (MATLAB doubles, bools) become checked
  integers through :func:`integer_column`.
* Sensors whose sides are not multiples of 16 pixels (DAVIS240: 240 x 180, DAVIS346:
  346 x 260) are centred in a frame padded to the next multiples (:func:`padded_frame`,
  :func:`place_in_frame`): the models' four stride-2 stages and 2-level wavelet transform
  need sides divisible by 16. Padding keeps every event; the pad is blank.
* :class:`EventFileSplit`: a split whose samples are files, decoded lazily on indexing
  (image datasets stored one file per image, e.g. Tiny-ImageNet, use it too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from spikinghash.data.events import EVENT_DTYPE, validate_events
from spikinghash.data.registry import DatasetInfo
from spikinghash.errors import DataError

DATA_ROOT_ENV = "SPIKINGHASH_DATA_ROOT"

# Decoders hand back unsigned 16/32-bit columns; checking them in int64 before the cast to
# EVENT_DTYPE's int16 keeps an out-of-sensor x = 40000 from wrapping into a valid-looking one.
_WIDE_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])


def dataset_root(name: str, root: Path | None, expected: str) -> Path:
    """The folder (or file) that holds dataset ``name``.

    Args:
        name: registry name, e.g. ``"nmnist"``.
        root: what the user passed; wins when given.
        expected: what must be inside, for the message when nothing is given.

    Returns:
        ``root``, else ``$SPIKINGHASH_DATA_ROOT/<name>``; :class:`DataError` if neither
        is set. Existence is checked by the caller, which knows the layout.
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env).expanduser() / name
    raise DataError(
        f"{name} is read from files already on disk and is never downloaded: pass --root PATH "
        f"({expected}), or set {DATA_ROOT_ENV} so that ${DATA_ROOT_ENV}/{name} holds them"
    )


def dataset_folder(root: Path, folder: str) -> Path:
    """``root/folder`` when it exists (tonic's ``save_to`` layout), else ``root`` itself.

    So both the folder that tonic's ``save_to`` points at and the dataset folder itself
    are accepted as root.
    """
    nested = root / folder
    return nested if nested.is_dir() else root


def events_from_columns(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray, sensor_size: tuple[int, int, int], source: str
) -> np.ndarray:
    """Checked, time-sorted ``EVENT_DTYPE`` array from decoded columns.

    Args:
        x, y: pixel column/row, ``[N]`` (any integer or boolean dtype).
        t: timestamps in µs, ``[N]``, as recorded (not shifted to start at 0).
        p: polarity, ``[N]``, must be 0 (OFF) or 1 (ON).
        sensor_size: ``(W, H, P)``.
        source: file name for the error message.

    Sorting is stable, so events with equal timestamps keep their file order.
    """
    wide = np.empty(len(t), dtype=_WIDE_DTYPE)
    wide["x"], wide["y"], wide["t"], wide["p"] = x, y, t, p
    wide = wide[np.argsort(wide["t"], kind="stable")]
    validate_events(wide, sensor_size, source)
    if len(wide) and (wide["p"].min() < 0 or wide["p"].max() > 1):
        raise DataError(f"{source}: polarities must be 0 or 1; the file is corrupt or belongs to another dataset")
    return wide.astype(EVENT_DTYPE)


FRAME_MULTIPLE = 16  # the models' 4 stride-2 downsamplings and the 2-level DWT need W, H divisible by 16


def padded_frame(sensor_size: tuple[int, int, int], multiple: int = FRAME_MULTIPLE
                 ) -> tuple[tuple[int, int, int], tuple[int, int]]:
    """``((W', H', P), (dx, dy))``: the frame a ``(W, H, P)`` sensor is centred in, and its offset.

    ``W'``, ``H'`` are ``W``, ``H`` rounded up to multiples of ``multiple``; the sensor's
    pixel ``(x, y)`` lands at ``(x + dx, y + dy)`` with ``dx = (W' - W) // 2``, ``dy = (H' - H) // 2``.
    """
    w, h, p = sensor_size
    fw, fh = -(-w // multiple) * multiple, -(-h // multiple) * multiple
    return (fw, fh, p), ((fw - w) // 2, (fh - h) // 2)


def place_in_frame(events: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """``EVENT_DTYPE`` events moved by ``offset = (dx, dy)`` pixels into their padded frame (a copy)."""
    moved = events.copy()
    moved["x"] += offset[0]
    moved["y"] += offset[1]
    return moved


def integer_column(values: np.ndarray, name: str, source: str) -> np.ndarray:
    """``values`` flattened to ``[N]`` int64, or :class:`DataError` if any is not a finite whole number.

    MATLAB stores ``[N, 1]`` column vectors, often as doubles; a ``.npz`` may hold bools.
    ``name`` and ``source`` (the file) go into the message.
    """
    a = np.asarray(values)
    if a.dtype.kind == "b":
        return a.ravel().astype(np.int64)
    if a.dtype.kind not in "iuf":
        raise DataError(f"{source}: `{name}` holds {a.dtype} values, not numbers; the file is corrupt "
                        "or belongs to another dataset")
    a = a.ravel()
    if a.dtype.kind == "f" and (not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a))):
        raise DataError(f"{source}: `{name}` must hold whole numbers (pixels, µs, polarity 0/1), "
                        "found fractions or NaN; the file is corrupt or belongs to another dataset")
    return a.astype(np.int64)


def check_record_size(path: Path, header: int, record: int, what: str) -> None:
    """:class:`DataError` unless ``path`` holds, after ``header`` bytes, a whole number (> 0) of ``record``-byte events.

    Decoders that use ``np.fromfile`` silently drop a cut-off last event, so a truncated
    file is caught here, by its size.
    """
    try:
        n_bytes = path.stat().st_size - header
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check the file and its permissions") from err
    if n_bytes <= 0:
        raise DataError(f"{path}: holds no {what} events; the file is empty or truncated, extract it again")
    if n_bytes % record:
        raise DataError(
            f"{path}: {n_bytes} bytes of events is not a whole number of {record}-byte {what} events; "
            "the file is truncated or corrupt, extract it again"
        )


@dataclass(frozen=True, eq=False)
class EventFileSplit:
    """One split of an event dataset stored one sample per file.

    Attributes:
        info: the dataset's description.
        split: ``"query"``, ``"database"`` or ``"train"``.
        paths: one file per sample, ``N`` of them.
        labels: ``[N]`` int64 class labels (from the folder layout; no file is read).
        read: ``path -> EVENT_DTYPE [n_events]``, checked and time-sorted; a module-level
            function, so the split pickles into data-loader workers.
    """

    info: DatasetInfo
    split: str
    paths: tuple[Path, ...]
    labels: np.ndarray
    read: Callable[[Path], np.ndarray]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """``(events EVENT_DTYPE [n_events], label)``; IndexError past the end (ends iteration)."""
        path = self.paths[index]
        return self.read(path), int(self.labels[index])
