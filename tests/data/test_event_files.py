"""Tests of data/event_files.py: root lookup, column checks, record sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.event_files import (
    check_record_size,
    dataset_root,
    events_from_columns,
    integer_column,
    padded_frame,
    place_in_frame,
)
from spikinghash.data.events import EVENT_DTYPE
from spikinghash.errors import DataError


def test_root_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPIKINGHASH_DATA_ROOT", "/elsewhere")
    assert dataset_root("nmnist", tmp_path, "files") == tmp_path


def test_environment_root_gets_the_dataset_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPIKINGHASH_DATA_ROOT", str(tmp_path))
    assert dataset_root("dvs-gesture", None, "files") == tmp_path / "dvs-gesture"


def test_no_root_at_all_is_a_data_error_naming_both_fixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPIKINGHASH_DATA_ROOT", raising=False)
    with pytest.raises(DataError, match=r"--root.*SPIKINGHASH_DATA_ROOT/nmnist"):
        dataset_root("nmnist", None, "files")


def test_columns_become_time_sorted_event_records() -> None:
    ev = events_from_columns(
        np.array([3, 1, 2], np.uint16),
        np.array([0, 5, 6]),
        np.array([30, 10, 10]),
        np.array([True, False, True]),
        (8, 8, 2),
        "f",
    )
    assert ev.dtype == EVENT_DTYPE
    # Stable sort: the two t = 10 events keep their input order (x = 1 before x = 2).
    assert [tuple(e) for e in ev.tolist()] == [(1, 5, 10, 0), (2, 6, 10, 1), (3, 0, 30, 1)]


def test_coordinate_too_large_for_int16_is_not_wrapped_into_the_sensor() -> None:
    # 65536 + 3 would become 3 after a blind cast to int16.
    with pytest.raises(DataError, match="outside the 8x8 sensor"):
        events_from_columns(np.array([65539]), np.array([0]), np.array([0]), np.array([0]), (8, 8, 2), "f")


def test_polarity_other_than_zero_or_one_is_a_data_error() -> None:
    with pytest.raises(DataError, match="polarities"):
        events_from_columns(np.array([0]), np.array([0]), np.array([0]), np.array([2]), (8, 8, 2), "f.bin")


def test_record_size_checks(tmp_path: Path) -> None:
    f = tmp_path / "f.bin"
    f.write_bytes(b"H" * 4 + b"\0" * 16)
    check_record_size(f, 4, 8, "X")  # two whole 8-byte records after a 4-byte header
    with pytest.raises(DataError, match="not a whole number of 5-byte"):
        check_record_size(f, 4, 5, "X")
    with pytest.raises(DataError, match="holds no X events"):
        check_record_size(f, 20, 8, "X")
    with pytest.raises(DataError, match="cannot be read"):
        check_record_size(tmp_path / "missing.bin", 0, 8, "X")


def test_padded_frame_rounds_each_side_up_to_16_and_centres_the_sensor() -> None:
    assert padded_frame((240, 180, 2)) == ((240, 192, 2), (0, 6))
    assert padded_frame((346, 260, 2)) == ((352, 272, 2), (3, 6))
    assert padded_frame((128, 128, 2)) == ((128, 128, 2), (0, 0))
    assert padded_frame((33, 17, 1), multiple=8) == ((40, 24, 1), (3, 3))
    ev = events_from_columns(np.array([0, 5]), np.array([1, 2]), np.array([0, 1]), np.array([0, 1]), (6, 3, 2), "f")
    assert place_in_frame(ev, (3, 6)).tolist() == [(3, 7, 0, 0), (8, 8, 1, 1)]
    assert ev.tolist() == [(0, 1, 0, 0), (5, 2, 1, 1)]  # the input is left alone


def test_integer_column_takes_whole_numbers_of_any_type_and_refuses_the_rest() -> None:
    assert integer_column(np.array([[1.0], [2.0]]), "x", "f").tolist() == [1, 2]
    assert integer_column(np.array([True, False]), "p", "f").tolist() == [1, 0]
    with pytest.raises(DataError, match="`t` must hold whole numbers"):
        integer_column(np.array([0.5]), "t", "f")
    with pytest.raises(DataError, match="`x` holds <U1 values"):
        integer_column(np.array(["a"]), "x", "f")
