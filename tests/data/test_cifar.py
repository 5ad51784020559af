"""Tests of data/cifar.py and data/safe_pickle.py on batches pickled as the official python archives are
(Python 2 cPickle, protocol 2: dicts of str keys, a uint8 numpy array and lists)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.cifar import CIFAR10_CLASSES, CIFAR100_CLASSES
from spikinghash.data.registry import load_split
from spikinghash.data.safe_pickle import load_restricted
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")

PER_BATCH = 20  # images per training batch file; the test batch has 30


def images_for(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def write_cifar10(top: Path, py2_pickle) -> Path:
    base = top / "cifar-10-batches-py"
    base.mkdir(parents=True)
    for i in range(1, 6):
        batch = {"batch_label": f"training batch {i} of 5", "labels": [(i + j) % 10 for j in range(PER_BATCH)],
                 "data": images_for(i, PER_BATCH), "filenames": [f"img_{i}_{j}.png" for j in range(PER_BATCH)]}
        (base / f"data_batch_{i}").write_bytes(py2_pickle(batch))
    test = {"batch_label": "testing batch 1 of 1", "labels": [j % 10 for j in range(30)], "data": images_for(0, 30),
            "filenames": [f"t_{j}.png" for j in range(30)]}
    (base / "test_batch").write_bytes(py2_pickle(test))
    (base / "batches.meta").write_bytes(py2_pickle({"num_cases_per_batch": 10000, "num_vis": 3072,
                                                    "label_names": list(CIFAR10_CLASSES)}))
    return top


@pytest.fixture
def cifar10_root(tmp_path: Path, py2_pickle) -> Path:
    return write_cifar10(tmp_path, py2_pickle)


def test_official_split_and_pixels_in_channel_row_column_order(cifar10_root: Path) -> None:
    query = load_split("cifar10", "query", root=cifar10_root)
    database = load_split("cifar10", "database", root=cifar10_root)
    train = load_split("cifar10", "train", root=cifar10_root)
    assert len(query) == 30 and len(database) == len(train) == 5 * PER_BATCH
    assert query.labels.tolist() == [j % 10 for j in range(30)]
    assert database.labels[PER_BATCH:2 * PER_BATCH].tolist() == [(2 + j) % 10 for j in range(PER_BATCH)]
    raw = images_for(2, PER_BATCH)[3]  # batch 2, image 3: 1024 red, 1024 green, 1024 blue, row by row
    image, label = database[PER_BATCH + 3]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32 and label == 5
    assert image[1, 4, 7] == np.float32(raw[1024 + 4 * 32 + 7]) / np.float32(255)
    np.testing.assert_array_equal(image * 255, raw.reshape(3, 32, 32).astype(np.float32))
    assert query.info.classes == CIFAR10_CLASSES and query.info.sensor_size == (32, 32, 3)


def test_query_per_class_subset_and_archive_folder_as_root(cifar10_root: Path) -> None:
    small = load_split("cifar10", "query", root=cifar10_root / "cifar-10-batches-py", query_per_class=2, seed=1)
    assert np.bincount(small.labels).tolist() == [2] * 10
    full = load_split("cifar10", "query", root=cifar10_root)
    np.testing.assert_array_equal(small[0][0], full[int(small.indices[0])][0])


def test_cifar100_uses_fine_labels(tmp_path: Path, py2_pickle) -> None:
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    for part, n in (("train", 40), ("test", 12)):
        (base / part).write_bytes(py2_pickle({"fine_labels": [(7 * j) % 100 for j in range(n)],
                                              "coarse_labels": [j % 20 for j in range(n)], "data": images_for(n, n),
                                              "filenames": [f"{j}.png" for j in range(n)]}))
    (base / "meta").write_bytes(py2_pickle({"fine_label_names": list(CIFAR100_CLASSES),
                                            "coarse_label_names": [f"c{i}" for i in range(20)]}))
    query = load_split("cifar100", "query", root=tmp_path)
    assert query.labels.tolist() == [(7 * j) % 100 for j in range(12)] and len(query.info.classes) == 100
    assert len(load_split("cifar100", "train", root=tmp_path)) == 40


def test_npz_pair_instead_of_pickles(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for part, n in (("train", 8), ("test", 4)):
        np.savez(tmp_path / f"{part}.npz", images=rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8),
                 labels=np.arange(n) % 10)
    assert len(load_split("cifar10", "query", root=tmp_path)) == 4
    assert len(load_split("cifar10", "database", root=tmp_path)) == 8


class _RunsShell:
    """Pickles into a call of os.system: what a malicious 'dataset' file would hold."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "data_batch_1"
    evil.write_bytes(pickle.dumps({"data": _RunsShell(marker)}, protocol=2))
    with pytest.raises(DataError, match=r"refused to load the global (posix|os)\.system"):
        load_restricted(evil)
    assert not marker.exists()
    # The same pickle through the standard unpickler would have run the command (the test is real).
    pickle.loads(evil.read_bytes())
    assert marker.exists()


def test_globals_beyond_the_numpy_three_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_bytes(pickle.dumps({"f": np.float64(1.0)}, protocol=2))  # needs numpy.core.multiarray.scalar
    with pytest.raises(DataError, match="refused to load the global numpy.core.multiarray.scalar"):
        load_restricted(path)


@pytest.mark.parametrize("damage, needle", [
    ("no root", "cifar10 not found: expected"),
    ("missing batch", "data_batch_4 is missing"),
    ("corrupt file", "not a readable pickle"),
])
def test_cli_reports_one_line_and_exit_2(cifar10_root: Path, cli_error, damage: str, needle: str) -> None:
    root = cifar10_root
    if damage == "no root":
        root = cifar10_root / "nowhere"
    elif damage == "missing batch":
        (cifar10_root / "cifar-10-batches-py" / "data_batch_4").unlink()
    else:
        bad = cifar10_root / "cifar-10-batches-py" / "data_batch_3"
        bad.write_bytes(bad.read_bytes()[:2000])
    cli_error(["data", "inspect", "cifar10", "--root", str(root), "--out", str(cifar10_root / "x.png")], needle)
