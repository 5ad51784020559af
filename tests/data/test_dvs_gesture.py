"""Tests of data/dvs_gesture.py on tiny files in tonic's DVS Gesture form ([N, 4] .npy)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.dvs_gesture import DVS_GESTURE_INFO
from spikinghash.data.events import EVENT_DTYPE
from spikinghash.data.registry import load_split
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")

# Columns x, y, polarity, t in ms (tonic's preprocessed form), not in time order.
ROWS = [(127, 0, 1, 12.0), (0, 127, 0, 3.0), (64, 5, 1, 7.0), (10, 20, 0, 3.0)]


def write_gesture(top: Path) -> Path:
    """Two users per split, every class once per user; one file holds ROWS."""
    users = {"ibmGestureTrain": ["user01_fluorescent", "user02_led"], "ibmGestureTest": ["user24_lab"]}
    for folder, names in users.items():
        for u, user in enumerate(names):
            d = top / "DVSGesture" / folder / user
            d.mkdir(parents=True)
            for label in range(11):
                np.save(d / f"{label}.npy", np.array([[label, u, 1, 2]], dtype=np.int32))
    np.save(top / "DVSGesture" / "ibmGestureTest" / "user24_lab" / "4.npy", np.array(ROWS, dtype=np.float64))
    return top


def test_events_come_back_exactly_as_written_in_microseconds(tmp_path: Path) -> None:
    query = load_split("dvs-gesture", "query", root=write_gesture(tmp_path))
    assert len(query) == 11
    index = query.labels.tolist().index(4)
    events, label = query[index]
    assert label == 4 and events.dtype == EVENT_DTYPE
    # Sorted by t (stable for the two 3 ms events), ms -> µs.
    assert events.tolist() == [(0, 127, 3000, 0), (10, 20, 3000, 0), (64, 5, 7000, 1), (127, 0, 12000, 1)]
    events, label = query[query.labels.tolist().index(9)]
    assert events.tolist() == [(9, 0, 2000, 1)]


def test_official_user_split_is_kept(tmp_path: Path) -> None:
    write_gesture(tmp_path)
    query = load_split("dvs-gesture", "query", root=tmp_path)
    database = load_split("dvs-gesture", "database", root=tmp_path)
    train = load_split("dvs-gesture", "train", root=tmp_path)
    assert {p.parent.name for p in query.paths} == {"user24_lab"}
    assert {p.parent.name for p in database.paths} == {"user01_fluorescent", "user02_led"}
    assert train.paths == database.paths and len(database) == 22
    assert np.bincount(database.labels).tolist() == [2] * 11


def test_gesture_folder_itself_works_as_root(tmp_path: Path) -> None:
    write_gesture(tmp_path)
    assert len(load_split("dvs-gesture", "query", root=tmp_path / "DVSGesture")) == 11


def test_similar_classes_are_the_cw_ccw_pairs_of_the_same_arm() -> None:
    from tonic.datasets import DVSGesture

    assert DVS_GESTURE_INFO.classes == tuple(DVSGesture.classes)
    assert DVS_GESTURE_INFO.sensor_size == DVSGesture.sensor_size
    for a, b in DVS_GESTURE_INFO.similar_classes:
        assert DVSGesture.classes[a].endswith(" cw")
        assert DVSGesture.classes[b] == DVSGesture.classes[a][: -len("cw")] + "ccw"
    assert DVS_GESTURE_INFO.similar_classes == ((3, 4), (5, 6))


def test_missing_files_name_the_expected_path(tmp_path: Path) -> None:
    expected = rf"expected {re.escape(str(tmp_path))}/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>\.npy"
    with pytest.raises(DataError, match=expected):
        load_split("dvs-gesture", "database", root=tmp_path)


def test_missing_class_is_named(tmp_path: Path) -> None:
    write_gesture(tmp_path)
    (tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_lab" / "10.npy").unlink()
    with pytest.raises(DataError, match=r"no 10\.npy anywhere under"):
        load_split("dvs-gesture", "query", root=tmp_path)


def test_badly_named_file_is_named(tmp_path: Path) -> None:
    write_gesture(tmp_path)
    bad = tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_lab" / "11.npy"
    np.save(bad, np.zeros((1, 4)))
    with pytest.raises(DataError, match="0.npy to 10.npy") as err:
        load_split("dvs-gesture", "query", root=tmp_path)
    assert str(bad) in str(err.value)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-9])


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (_truncate, "not a readable .npy"),
        (lambda p: np.save(p, np.zeros((3, 5))), r"\[N, 4\] numeric table"),
        (lambda p: np.save(p, np.array([[128, 0, 1, 5]])), "outside the 128x128 sensor"),
        (lambda p: np.save(p, np.array([[1, 0, 3, 5]])), "polarities must be 0 or 1"),
        (lambda p: np.save(p, np.array([[1.5, 0, 1, 5]])), "whole numbers"),
    ],
    ids=["truncated", "wrong shape", "x outside sensor", "bad polarity", "fractional x"],
)
def test_corrupt_file_is_a_data_error_naming_it(tmp_path: Path, corrupt, message: str) -> None:
    write_gesture(tmp_path)
    bad = tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_lab" / "4.npy"
    corrupt(bad)
    query = load_split("dvs-gesture", "query", root=tmp_path)
    with pytest.raises(DataError, match=message) as err:
        query[query.labels.tolist().index(4)]
    assert str(bad) in str(err.value)
