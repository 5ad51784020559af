"""The event record shared by built-in and real datasets (tonic's structured array)."""

from __future__ import annotations

import numpy as np

from spikinghash.errors import DataError

# tonic's layout for DVS events: x, y pixel column/row, t in microseconds, p polarity
# (1 = ON, brightness up; 0 = OFF). Same field names and order as tonic, so tonic's
# transforms (ToFrame, Denoise, ...) take our arrays unchanged.
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])


def make_events(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Pack parallel arrays into a time-sorted ``EVENT_DTYPE`` array.

    Args:
        x, y: pixel coordinates (column, row), ``[N]``.
        t: timestamps in µs, ``[N]``.
        p: polarity, 1 = ON, 0 = OFF, ``[N]``.
    """
    ev = np.empty(len(t), dtype=EVENT_DTYPE)
    ev["x"], ev["y"], ev["t"], ev["p"] = x, y, t, p
    return ev[np.argsort(ev["t"], kind="stable")]


def validate_events(events: np.ndarray, sensor_size: tuple[int, int, int], source: str) -> None:
    """Check an event array against a sensor of ``(W, H, P)``; raise :class:`DataError` if bad.

    ``source`` names the file or sample in the message.
    """
    if events.dtype.names is None or not {"x", "y", "t", "p"} <= set(events.dtype.names):
        raise DataError(f"{source}: not an event array with fields x, y, t, p")
    if len(events) == 0:
        return
    w, h, _ = sensor_size
    if events["x"].min() < 0 or events["x"].max() >= w or events["y"].min() < 0 or events["y"].max() >= h:
        raise DataError(
            f"{source}: event coordinates fall outside the {w}x{h} sensor; the file is corrupt "
            "or belongs to another dataset"
        )
    if not np.isin(events["p"], (0, 1)).all():
        raise DataError(f"{source}: polarities must be 0 or 1 (OFF, ON); the file is corrupt or belongs to another dataset")
    if np.any(np.diff(events["t"]) < 0):
        raise DataError(f"{source}: event timestamps are not sorted; the file is corrupt")
