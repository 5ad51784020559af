"""Tests of data/hardvs.py on a tiny release written in its form: action_<NNN>/*.npz recordings
(arrays t, x, y, p) and the official train/val/test partition files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.hardvs import HARDVS_INFO
from spikinghash.data.registry import load_split
from spikinghash.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("offline")

# Out of time order; p stored as bool, x/y as uint16, t as int64 µs.
T, X, Y, P = [50, 10, 10], [345, 0, 7], [259, 0, 3], [True, False, True]


def write_hardvs(top: Path, classes: tuple[int, ...] = (1, 2, 300)) -> Path:
    """Two train, one val and two test recordings per class; partition lines as the official files write them."""
    base = top / "HARDVS"
    lines: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for number in classes:
        folder = base / f"action_{number:03d}"
        folder.mkdir(parents=True)
        for i, part in enumerate(["train", "train", "val", "test", "test"]):
            name = f"dvSave-2021_10_{number % 28 + 1:02d}_19_18_{i:02d}"
            np.savez(folder / f"{name}.npz", t=np.array([i], np.int64), x=np.array([number], np.uint16),
                     y=np.array([0], np.uint16), p=np.array([True]))
            lines[part].append(f"action_{number:03d}/{name} 8 {number - 1}")
    np.savez(base / "action_002" / "dvSave-2021_10_03_19_18_03.npz", t=np.array(T), x=np.array(X, np.uint16),
             y=np.array(Y, np.uint16), p=np.array(P))
    for part, entries in lines.items():
        (base / f"{part}_label.txt").write_text("\n".join(entries) + "\n")
    return top


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_hardvs(tmp_path)


def test_official_partition_is_kept_and_events_come_back_exactly(release: Path) -> None:
    query = load_split("hardvs", "query", root=release)
    database = load_split("hardvs", "database", root=release)
    train = load_split("hardvs", "train", root=release)
    assert len(query) == 6 and len(database) == 6 and train.paths == database.paths
    assert query.labels.tolist() == [0, 0, 1, 1, 299, 299]
    assert {p.stem[-2:] for p in query.paths} == {"03", "04"} and {p.stem[-2:] for p in database.paths} == {"00", "01"}
    i = [p.name for p in query.paths].index("dvSave-2021_10_03_19_18_03.npz")
    events, label = query[i]
    # Sorted by t (stable), moved by (3, 6) into the 352 x 272 frame.
    assert label == 1 and events.tolist() == [(3, 6, 10, 0), (10, 9, 10, 1), (348, 265, 50, 1)]
    events, label = database[5]
    assert label == 299 and events.tolist() == [(303, 6, 1, 1)]
    assert query.info.sensor_size == (352, 272, 2) and len(HARDVS_INFO.classes) == 300
    assert HARDVS_INFO.similar_classes == ()


def test_folder_itself_as_root_and_query_per_class(release: Path) -> None:
    small = load_split("hardvs", "query", root=release / "HARDVS", query_per_class=1, seed=2)
    assert np.bincount(small.labels, minlength=300)[[0, 1, 299]].tolist() == [1, 1, 1]
    with pytest.raises(ConfigError, match="has only 2 test samples"):
        load_split("hardvs", "query", root=release, query_per_class=3)


def test_missing_partition_file_or_recording_is_named(release: Path) -> None:
    (release / "HARDVS" / "action_300" / "dvSave-2021_10_21_19_18_01.npz").unlink()
    with pytest.raises(DataError, match=r"1 of the 6 recordings in train_label.txt are missing, e\.g\. .*action_300"):
        load_split("hardvs", "train", root=release)
    (release / "HARDVS" / "test_label.txt").unlink()
    with pytest.raises(DataError, match=rf"{re.escape(str(release))}/HARDVS/test_label.txt not found"):
        load_split("hardvs", "query", root=release)


def test_foreign_partition_line_is_refused(release: Path) -> None:
    (release / "HARDVS" / "test_label.txt").write_text("action_301/dvSave-x 8 300\n")
    with pytest.raises(DataError, match=r"line 1: 'action_301/dvSave-x 8 300' does not start with"):
        load_split("hardvs", "query", root=release)


@pytest.mark.parametrize("arrays, message", [
    ({"t": [1], "x": [346], "y": [0], "p": [1]}, "outside the 346x260 sensor"),
    ({"t": [1], "x": [0], "y": [0]}, "no array `p`"),
    ({"t": [1.5], "x": [0], "y": [0], "p": [1]}, "whole numbers"),
    ({"t": [1, 2], "x": [0], "y": [0], "p": [1]}, "different lengths"),
], ids=["x outside", "no p", "fractional t", "lengths"])
def test_bad_recording_is_a_data_error_naming_it(release: Path, arrays: dict, message: str) -> None:
    bad = release / "HARDVS" / "action_001" / "dvSave-2021_10_02_19_18_03.npz"
    np.savez(bad, **{k: np.array(v) for k, v in arrays.items()})
    query = load_split("hardvs", "query", root=release)
    with pytest.raises(DataError, match=message) as err:
        query[list(query.paths).index(bad)]
    assert str(bad) in str(err.value)


@pytest.mark.parametrize("damage, needle", [
    ("no root", "HARDVS partition file"),
    ("no class folder", "no class folder"),
    ("corrupt file", "not a readable .npz recording"),
])
def test_cli_reports_one_line_and_exit_2(release: Path, cli_error, damage: str, needle: str) -> None:
    root = release
    if damage == "no root":
        root = release / "nowhere"
    elif damage == "no class folder":
        shutil.rmtree(release / "HARDVS" / "action_002")
    else:
        bad = release / "HARDVS" / "action_001" / "dvSave-2021_10_02_19_18_00.npz"
        bad.write_bytes(bad.read_bytes()[:40])
    cli_error(["data", "inspect", "hardvs", "--root", str(root), "--out", str(release / "x.png")], needle)


def test_cli_inspect_pictures_the_official_partition(release: Path, run_cli) -> None:
    png = release / "hardvs.png"
    code, err = run_cli(["data", "inspect", "hardvs", "--root", str(release), "-T", "2", "--out", str(png)])
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
