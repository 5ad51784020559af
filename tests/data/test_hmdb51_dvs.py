"""Tests of data/hmdb51_dvs.py on a tiny release written in its form: action folders of .mat recordings."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.hmdb51_dvs import HMDB51_CLASSES, HMDB51_DVS_INFO, TEMPORAL_PAIRS
from spikinghash.data.registry import load_split
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")

PER_CLASS = 10


def write_hmdb(top: Path, write_mat) -> Path:
    """``top/HMDB_DVS/<action>/<clip>_<i>.mat``, ten per action; each holds one event x = label, t = i."""
    for label, action in enumerate(HMDB51_CLASSES):
        folder = top / "HMDB_DVS" / action
        folder.mkdir(parents=True)
        for i in range(PER_CLASS):
            write_mat(folder / f"clip_{action}_f_nm_np1_fr_med_{i}.mat",
                      {"x": [label], "y": [0], "ts": [i], "pol": [0]})
    return top


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scipy.io import savemat

    def write_mat(path: Path, columns: dict) -> None:
        savemat(str(path), {k: np.asarray(v, dtype=np.float64).reshape(-1, 1) for k, v in columns.items()})

    return write_hmdb(tmp_path_factory.mktemp("hmdb"), write_mat)


def test_seeded_seven_to_three_split_per_action(release: Path) -> None:
    query = load_split("hmdb51-dvs", "query", root=release, seed=4)
    database = load_split("hmdb51-dvs", "database", root=release, seed=4)
    train = load_split("hmdb51-dvs", "train", root=release, seed=4)
    assert np.bincount(query.labels).tolist() == [3] * 51  # 30 % of 10
    assert np.bincount(database.labels).tolist() == [7] * 51
    assert not set(query.paths) & set(database.paths) and train.paths == database.paths
    assert load_split("hmdb51-dvs", "query", root=release, seed=4).paths == query.paths
    assert load_split("hmdb51-dvs", "query", root=release, seed=5).paths != query.paths
    events, label = query[17]
    i = int(query.paths[17].stem.rsplit("_", 1)[1])
    assert query.paths[17].parent.name == HMDB51_CLASSES[label]
    assert events.tolist() == [(label, 185, i, 0)]  # y = 0 flipped to 179, + 6 into the 240 x 192 frame


def test_action_folders_as_root(release: Path) -> None:
    assert len(load_split("hmdb51-dvs", "database", root=release / "HMDB_DVS")) == 51 * 7


def test_table_xi_pairs_are_the_papers_and_no_similar_classes_are_invented() -> None:
    names = {kind: [(HMDB51_CLASSES[a], HMDB51_CLASSES[b]) for a, b in pairs] for kind, pairs in TEMPORAL_PAIRS.items()}
    assert names == {"symmetric": [("sit", "stand"), ("catch", "shoot_ball")],
                     "asymmetric": [("hit", "climb"), ("drink", "hug")]}
    assert HMDB51_DVS_INFO.similar_classes == () and len(HMDB51_CLASSES) == 51


def test_missing_action_folder_is_named(tmp_path: Path, release: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(release, root)
    shutil.rmtree(root / "HMDB_DVS" / "wave")
    with pytest.raises(DataError, match=rf"no \*\.mat recordings in {re.escape(str(root))}/HMDB_DVS/wave"):
        load_split("hmdb51-dvs", "query", root=root)


@pytest.mark.parametrize("damage, needle", [
    ("no root", "HMDB51-DVS not found: expected"),
    ("no class folder", "no *.mat recordings in"),
    ("corrupt file", "truncated or corrupt"),
])
def test_cli_reports_one_line_and_exit_2(tmp_path: Path, release: Path, cli_error, damage: str, needle: str) -> None:
    root = tmp_path / "copy"
    shutil.copytree(release, root)
    if damage == "no root":
        root = tmp_path / "nowhere"
    elif damage == "no class folder":
        shutil.rmtree(root / "HMDB_DVS" / "kiss")
    else:
        bad = next((root / "HMDB_DVS" / "sit").glob("*.mat"))
        bad.write_bytes(bad.read_bytes()[:150])
    cli_error(["data", "inspect", "hmdb51-dvs", "--root", str(root), "--out", str(tmp_path / "x.png")], needle)
