"""Tests of data/ucf101_dvs.py on a tiny release written in its form: class folders of .mat
recordings next to UCF101's official split files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.registry import load_split
from spikinghash.data.ucf101_dvs import UCF101_CLASSES, UCF101_DVS_INFO
from spikinghash.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("offline")


def clip_name(cls: str, group: int) -> str:
    # UCF101 names HandstandPushups' clips v_HandStandPushups_...: the loader must still find them.
    spelled = "HandStandPushups" if cls == "HandstandPushups" else cls
    return f"v_{spelled}_g{group:02d}_c01"


def write_ucf(top: Path, write_mat) -> Path:
    """Clips g01 (test of fold 1, train of fold 2) and g08, g09 (train of fold 1, test of fold 2) per class."""
    data = top / "UCF101_DVS"
    lists = top / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    for label, cls in enumerate(UCF101_CLASSES):
        (data / cls).mkdir(parents=True)
        for g in (1, 8, 9):
            # One event per clip that encodes (label, group): x = label, t = group.
            write_mat(data / cls / f"{clip_name(cls, g)}.mat", {"x": [label], "y": [179], "ts": [g], "pol": [1]})
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(UCF101_CLASSES)))
    for fold, (test, train) in {1: ((1,), (8, 9)), 2: ((8, 9), (1,))}.items():
        (lists / f"trainlist0{fold}.txt").write_text("".join(
            f"{c}/{clip_name(c, g)}.avi {i + 1}\r\n" for i, c in enumerate(UCF101_CLASSES) for g in train))
        (lists / f"testlist0{fold}.txt").write_text("".join(
            f"{c}/{clip_name(c, g)}.avi\r\n" for c in UCF101_CLASSES for g in test))
    return top


@pytest.fixture
def release(tmp_path: Path, write_mat) -> Path:
    return write_ucf(tmp_path, write_mat)


def test_official_fold_1_lists_become_query_and_database(release: Path) -> None:
    query = load_split("ucf101-dvs", "query", root=release)
    database = load_split("ucf101-dvs", "database", root=release)
    train = load_split("ucf101-dvs", "train", root=release)
    assert len(query) == 101 and len(database) == 202 and train.paths == database.paths
    assert {p.stem[-7:] for p in query.paths} == {"g01_c01"}
    assert {p.stem[-7:] for p in database.paths} == {"g08_c01", "g09_c01"}
    assert query.labels.tolist() == list(range(101))
    for split in (query, database):
        for i in (0, 36, len(split) - 1):
            events, label = split[i]
            group = int(split.paths[i].stem[-6:-4])
            # x = label, y = 179 flipped to 0 then 6 rows down into the 240 x 192 frame, t = group:
            # the file of the listed clip, with its class.
            assert events.tolist() == [(label, 6, group, 1)]
            assert UCF101_CLASSES[label] == split.paths[i].parent.name
    assert query.info is UCF101_DVS_INFO and UCF101_DVS_INFO.sensor_size == (240, 192, 2)


def test_fold_2_swaps_the_groups_and_query_per_class_subsets(release: Path) -> None:
    query = load_split("ucf101-dvs", "query", root=release, fold=2)
    assert len(query) == 202 and {p.stem[-7:] for p in query.paths} == {"g08_c01", "g09_c01"}
    small = load_split("ucf101-dvs", "query", root=release, fold=2, query_per_class=1, seed=3)
    assert np.bincount(small.labels).tolist() == [1] * 101 and set(small.paths) <= set(query.paths)
    with pytest.raises(ConfigError, match="fold=4"):
        load_split("ucf101-dvs", "query", root=release, fold=4)


def test_data_folder_itself_with_lists_inside_works_as_root(release: Path) -> None:
    shutil.move(str(release / "ucfTrainTestlist"), str(release / "UCF101_DVS" / "ucfTrainTestlist"))
    assert len(load_split("ucf101-dvs", "query", root=release / "UCF101_DVS")) == 101


def test_no_similar_classes_are_invented() -> None:
    assert UCF101_DVS_INFO.similar_classes == ()
    assert len(UCF101_CLASSES) == 101 and UCF101_CLASSES[34:37] == ("Hammering", "HammerThrow", "HandstandPushups")


def test_missing_class_folder_is_named(release: Path) -> None:
    shutil.rmtree(release / "UCF101_DVS" / "Archery")
    with pytest.raises(DataError, match=r"no class folder .*UCF101_DVS/Archery"):
        load_split("ucf101-dvs", "query", root=release)


def test_listed_clip_missing_on_disk_is_counted_and_named(release: Path) -> None:
    (release / "UCF101_DVS" / "Rowing" / "v_Rowing_g08_c01.mat").unlink()
    with pytest.raises(DataError, match=r"1 of the 202 clips in .*trainlist01.txt .* e\.g\. v_Rowing_g08_c01\.mat"):
        load_split("ucf101-dvs", "database", root=release)


def test_missing_split_files_name_where_they_belong(release: Path) -> None:
    shutil.rmtree(release / "ucfTrainTestlist")
    with pytest.raises(DataError, match=rf"expected {re.escape(str(release))}/ucfTrainTestlist/trainlist01\.txt"):
        load_split("ucf101-dvs", "query", root=release)


def test_altered_class_index_or_list_line_is_refused(release: Path) -> None:
    lists = release / "ucfTrainTestlist"
    (lists / "trainlist01.txt").write_text("Archery/v_Archery_g08_c01.avi 7\n")
    with pytest.raises(DataError, match="line 1: 'Archery/v_Archery_g08_c01.avi 7' is not"):
        load_split("ucf101-dvs", "database", root=release)
    (lists / "classInd.txt").write_text("1 Archery\n")
    with pytest.raises(DataError, match="classInd.txt: line 1 does not match"):
        load_split("ucf101-dvs", "query", root=release)


@pytest.mark.parametrize("damage, needle", [
    ("no root", "UCF101-DVS not found"),
    ("no class folder", "no class folder"),
    ("corrupt file", "not a readable MATLAB .mat file"),
])
def test_cli_reports_one_line_and_exit_2(release: Path, cli_error, damage: str, needle: str) -> None:
    root = release
    if damage == "no root":
        root = release / "nowhere"
    elif damage == "no class folder":
        shutil.rmtree(release / "UCF101_DVS" / "YoYo")
    else:
        (release / "UCF101_DVS" / "Typing" / "v_Typing_g01_c01.mat").write_bytes(b"\x00garbage" * 20)
    cli_error(["data", "inspect", "ucf101-dvs", "--root", str(root), "--out", str(release / "x.png")], needle)


def test_frames_of_a_recording_have_the_sensor_shape(release: Path) -> None:
    from spikinghash.data.frames import FrameDataset

    x, label = FrameDataset(load_split("ucf101-dvs", "query", root=release), T=2)[3]
    assert tuple(x.shape) == (2, 2, 192, 240) and label == 3
    # The clip's one ON event (x = 3, y = 6 in the frame), in the first time bin.
    assert x.sum() == 1 and x[0, 1, 6, 3] == 1
