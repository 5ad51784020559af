"""Tests of data/mat_events.py on .mat recordings written in the releases' form (x, y, ts, pol columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.events import EVENT_DTYPE
from spikinghash.data.mat_events import read_mat_events
from spikinghash.errors import DataError

# Out of time order on purpose; two events share t = 20.
COLUMNS = {"x": [239, 0, 17, 5], "y": [0, 179, 90, 7], "ts": [30, 20, 20, 1_000_000], "pol": [1, 0, 1, 0]}
# Sorted by ts (stable), y flipped to 179 - y.
EXPECTED = [(0, 0, 20, 0), (17, 89, 20, 1), (239, 179, 30, 1), (5, 172, 1_000_000, 0)]


@pytest.mark.parametrize("version", ["v5", "v7.3"])
@pytest.mark.parametrize("dtypes", [
    {"x": np.float64, "y": np.float64, "ts": np.float64, "pol": np.float64},  # MATLAB's default double
    {"x": np.uint16, "y": np.uint16, "ts": np.uint32, "pol": np.uint8},
])
def test_recording_comes_back_sorted_with_rows_flipped(tmp_path: Path, write_mat, version: str, dtypes: dict) -> None:
    path = tmp_path / "clip.mat"
    write_mat(path, {k: np.asarray(v, dtype=dtypes[k]) for k, v in COLUMNS.items()}, version=version)
    events = read_mat_events(path)
    assert events.dtype == EVENT_DTYPE
    assert events.tolist() == EXPECTED


def test_recording_without_events_is_empty_not_an_error(tmp_path: Path, write_mat) -> None:
    path = tmp_path / "empty.mat"
    write_mat(path, {k: np.zeros(0) for k in COLUMNS})
    assert len(read_mat_events(path)) == 0


@pytest.mark.parametrize("change, message", [
    ({"x": [240, 0, 17, 5]}, "outside the 240x180 sensor"),
    ({"y": [180, 0, 0, 0]}, "outside the 240x180 sensor"),
    ({"pol": [1, -1, 1, 0]}, "polarities must be 0 or 1"),
    ({"ts": [30.5, 20, 20, 1]}, "must hold whole numbers"),
    ({"ts": [30, 20, 20]}, "not one each per event"),
], ids=["x too large", "y too large", "polarity -1", "fractional time", "lengths differ"])
def test_bad_values_are_a_data_error_naming_the_file(tmp_path: Path, write_mat, change: dict, message: str) -> None:
    path = tmp_path / "bad.mat"
    write_mat(path, {**COLUMNS, **change})
    with pytest.raises(DataError, match=message) as err:
        read_mat_events(path)
    assert str(path) in str(err.value)


def test_missing_variable_is_named(tmp_path: Path, write_mat) -> None:
    path = tmp_path / "other.mat"
    write_mat(path, {"x": [1], "y": [1], "t": [1], "pol": [1]})
    with pytest.raises(DataError, match=r"no variable `ts`.*it has: pol, t, x, y"):
        read_mat_events(path)


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_truncated_or_garbage_file_is_a_data_error(tmp_path: Path, write_mat, version: str) -> None:
    path = tmp_path / "clip.mat"
    write_mat(path, {k: np.arange(50.0) % 2 for k in COLUMNS}, version=version)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or corrupt") as err:
        read_mat_events(path)
    assert str(path) in str(err.value)
    path.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DataError, match="not a readable MATLAB .mat file"):
        read_mat_events(path)
    with pytest.raises(DataError, match="cannot be read"):
        read_mat_events(tmp_path / "absent.mat")
