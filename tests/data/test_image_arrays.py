"""Tests of data/image_arrays.py: the digits dataset, user .npz files, array checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.image_arrays import DIGITS_INFO, image_split
from spikinghash.data.registry import load_split
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture(scope="module")
def digits_splits() -> dict[str, object]:
    return {s: load_split("digits", s) for s in ("query", "database", "train")}


def test_digits_are_sklearn_digits_upsampled_by_nearest_neighbour(digits_splits: dict) -> None:
    import torch
    from sklearn.datasets import load_digits

    bunch = load_digits()
    reference = torch.nn.functional.interpolate(
        torch.from_numpy(bunch.images / 16.0)[:, None], scale_factor=4, mode="nearest"
    ).numpy()  # [1797, 1, 32, 32]
    for split in digits_splits.values():
        assert split.images.shape[1:] == (1, 32, 32) and split.images.dtype == np.float32
        np.testing.assert_allclose(split.images, reference[split.indices], rtol=0, atol=1e-7)
        assert np.array_equal(split.labels, bunch.target[split.indices])
        image, label = split[0]
        assert image.shape == (1, 32, 32) and label == bunch.target[split.indices[0]]


def test_digits_protocol_is_ten_percent_per_class_and_disjoint(digits_splits: dict) -> None:
    query, database, train = (digits_splits[s] for s in ("query", "database", "train"))
    # Class sizes 178, 182, 177, 183, 181, 182, 181, 179, 174, 180: 10 % rounds to 18,
    # except 17.4 -> 17 for the 174 eights.
    assert np.bincount(query.labels).tolist() == [18] * 8 + [17, 18]
    assert len(query) == 179 and len(database) == 1797 - 179
    assert not set(query.indices) & set(database.indices)
    assert np.array_equal(train.indices, database.indices)
    assert query.info == DIGITS_INFO and DIGITS_INFO.sensor_size == (32, 32, 1)


def _npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)
    return path


def test_npz_uint8_images_are_scaled_and_sized_from_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 3, 6, 5), dtype=np.uint8)
    labels = np.repeat([0, 1], 10)
    path = _npz(tmp_path, images=images, labels=labels)
    query = load_split("image-npz", "query", root=path)
    database = load_split("image-npz", "database", root=path)
    assert np.bincount(query.labels).tolist() == [1, 1]
    assert sorted(np.concatenate([query.indices, database.indices]).tolist()) == list(range(20))
    i = int(query.indices[1])
    np.testing.assert_allclose(query[1][0], images[i] / 255.0, rtol=0, atol=1e-7)
    assert query.info.sensor_size == (5, 6, 3) and query.info.classes == ("0", "1")


def test_npz_grey_float_images_with_class_names_and_folder_root(tmp_path: Path) -> None:
    images = np.linspace(0, 1, 10 * 4 * 4).reshape(10, 4, 4)
    np.savez(tmp_path / "images.npz", images=images, labels=np.arange(10) % 2, classes=np.array(["cat", "dog"]))
    split = load_split("image-npz", "train", root=tmp_path)
    assert split.images.shape[1:] == (1, 4, 4) and split.info.classes == ("cat", "dog")
    np.testing.assert_allclose(split.images[:, 0], images[split.indices], rtol=0, atol=1e-7)


def test_npz_from_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "image-npz").mkdir()
    np.savez(tmp_path / "image-npz" / "images.npz", images=np.zeros((4, 1, 2, 2)), labels=np.zeros(4, int))
    monkeypatch.setenv("SPIKINGHASH_DATA_ROOT", str(tmp_path))
    assert len(load_split("image-npz", "query")) == 1


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"images": np.zeros((4, 1, 2, 2))}, r"no array `labels` \(it has: images\)"),
        ({"labels": np.zeros(4, int)}, r"no array `images`"),
        ({"images": np.zeros((4, 8, 8, 3)), "labels": np.zeros(4, int)}, r"channels-last.*np\.transpose"),
        ({"images": np.full((4, 1, 2, 2), 2.0), "labels": np.zeros(4, int)}, r"lie in \[0, 1\]"),
        ({"images": np.zeros((4, 1, 2, 2), np.int32), "labels": np.zeros(4, int)}, "dtype int32"),
        ({"images": np.zeros((4, 2)), "labels": np.zeros(4, int)}, r"\[N, C, H, W\] or \[N, H, W\]"),
        ({"images": np.zeros((4, 1, 2, 2)), "labels": np.zeros(3, int)}, r"one per image"),
        ({"images": np.zeros((4, 1, 2, 2)), "labels": np.full(4, 0.5)}, "non-negative integers"),
        ({"images": np.zeros((4, 1, 2, 2)), "labels": np.zeros(4, int), "classes": np.zeros(1)}, "`classes` must be"),
        ({"images": np.zeros((4, 1, 2, 2)), "labels": np.array([None] * 4)}, "cannot read an array"),
    ],
    ids=["no labels", "no images", "channels last", "out of range", "int images", "2-d", "label count",
         "float labels", "bad classes", "pickled labels"],
)
def test_bad_npz_is_a_data_error_naming_the_key_and_fix(tmp_path: Path, arrays: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_split("image-npz", "query", root=_npz(tmp_path, **arrays))


def test_missing_or_unreadable_npz(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"{re.escape(str(tmp_path))}/nothing\.npz not found; pass --root"):
        load_split("image-npz", "query", root=tmp_path / "nothing.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_split("image-npz", "query", root=tmp_path / "broken.npz")
    with pytest.raises(DataError, match="SPIKINGHASH_DATA_ROOT"):
        load_split("image-npz", "query")


def test_image_split_of_any_array_iterates_to_the_end() -> None:
    split = image_split(np.zeros((6, 2, 3, 3)), np.array([0, 0, 0, 1, 1, 1]), "database", DIGITS_INFO, seed=0)
    samples = list(split)
    assert len(samples) == len(split) == 4
    assert all(img.shape == (2, 3, 3) for img, _ in samples)
