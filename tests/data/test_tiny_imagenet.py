"""Tests of data/tiny_imagenet.py on a tiny copy of the official folder layout with real JPEG files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spikinghash.data.registry import load_split
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")

WNIDS = [f"n{10_000_000 + 7919 * i:08d}" for i in range(200)][::-1]  # wnids.txt is not sorted


def colour(label: int) -> tuple[int, int, int]:
    return (label, (3 * label) % 256, 255 - label)


def write_tiny(top: Path) -> Path:
    """Two training images per class and one validation image per class, each of one flat colour."""
    base = top / "tiny-imagenet-200"
    base.mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    label_of = {w: i for i, w in enumerate(sorted(WNIDS))}
    for wnid in WNIDS:
        folder = base / "train" / wnid / "images"
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (64, 64), colour(label_of[wnid])).save(folder / f"{wnid}_{i}.JPEG", quality=95)
    (base / "val" / "images").mkdir(parents=True)
    lines = []
    for i, wnid in enumerate(WNIDS):
        Image.new("RGB", (64, 64), colour(label_of[wnid])).save(base / "val" / "images" / f"val_{i}.JPEG")
        lines.append(f"val_{i}.JPEG\t{wnid}\t0\t3\t60\t61")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    Image.new("L", (64, 64), 77).save(base / "val" / "images" / "val_0.JPEG")  # a greyscale one, as in the real set
    return top


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny(tmp_path_factory.mktemp("tiny"))


def test_val_is_query_train_is_database_and_labels_follow_sorted_wnids(release: Path) -> None:
    query = load_split("tiny-imagenet", "query", root=release)
    database = load_split("tiny-imagenet", "database", root=release)
    train = load_split("tiny-imagenet", "train", root=release)
    assert len(query) == 200 and len(database) == 400 and train.paths == database.paths
    assert query.info.classes == tuple(sorted(WNIDS)) and query.info.sensor_size == (64, 64, 3)
    assert np.bincount(database.labels).tolist() == [2] * 200
    for split, i in ((database, 123), (query, 5)):
        image, label = split[i]
        assert image.shape == (3, 64, 64) and image.dtype == np.float32
        assert split.paths[i].name.startswith(sorted(WNIDS)[label]) or split is query
        np.testing.assert_allclose(image.mean(axis=(1, 2)) * 255, colour(label), atol=3)
    grey, _ = query[0]  # val_0 was overwritten with a greyscale image of level 77
    np.testing.assert_allclose(grey * 255, 77, atol=2)


def test_folder_itself_as_root_and_query_per_class(release: Path) -> None:
    assert len(load_split("tiny-imagenet", "query", root=release / "tiny-imagenet-200", query_per_class=1)) == 200


def test_bad_images_are_data_errors_naming_the_file(tmp_path: Path, release: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(release, root)
    small = root / "tiny-imagenet-200" / "val" / "images" / "val_1.JPEG"
    Image.new("RGB", (32, 32)).save(small)
    broken = root / "tiny-imagenet-200" / "val" / "images" / "val_2.JPEG"
    broken.write_bytes(broken.read_bytes()[:100])
    query = load_split("tiny-imagenet", "query", root=root)
    with pytest.raises(DataError, match=r"val_1\.JPEG: a 32x32 image"):
        query[1]
    with pytest.raises(DataError, match=r"val_2\.JPEG: not a readable JPEG"):
        query[2]


@pytest.mark.parametrize("damage, needle", [
    ("no root", "Tiny-ImageNet not found: expected"),
    ("no class folder", "no class folder"),
    ("corrupt file", "not a readable JPEG"),
])
def test_cli_reports_one_line_and_exit_2(tmp_path: Path, release: Path, cli_error, damage: str, needle: str) -> None:
    root = tmp_path / "copy"
    shutil.copytree(release, root)
    if damage == "no root":
        root = tmp_path / "nowhere"
    elif damage == "no class folder":
        shutil.rmtree(root / "tiny-imagenet-200" / "train" / WNIDS[7])
    else:
        first = sorted(WNIDS)[0]  # `data inspect` pictures the first image of each class of the database
        (root / "tiny-imagenet-200" / "train" / first / "images" / f"{first}_0.JPEG").write_bytes(b"\xff\xd8 no")
    argv = ["data", "inspect", "tiny-imagenet", "--root", str(root), "--out", str(tmp_path / "x.png")]
    line = cli_error(argv, needle)
    if damage == "no class folder":
        assert re.search(rf"train/{WNIDS[7]}/images", line)
