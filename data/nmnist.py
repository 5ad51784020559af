"""N-MNIST (Orchard et al., 2015) from files already on disk, decoded by tonic's reader.

Expected layout (what tonic's ``NMNIST(save_to=<root>)`` uses, i.e. the original
``train.zip``/``test.zip`` extracted into ``<root>/NMNIST``)::

    <root>/NMNIST/Train/<digit 0-9>/<id>.bin    60,000 files
    <root>/NMNIST/Test/<digit 0-9>/<id>.bin     10,000 files

``<root>`` may also be the ``NMNIST`` folder itself. ``root=None`` reads
``$SPIKINGHASH_DATA_ROOT/nmnist``. Nothing is downloaded: tonic's dataset class would
download when files are missing, so only its file reader (``tonic.io.read_mnist_file``)
is used. The label is the digit folder's name.

File format: one 5-byte (40-bit) record per event: x (8 bits), y (8 bits), polarity
(1 bit, 1 = ON), timestamp (23 bits, µs). Records with y = 240 are timestamp-overflow
markers, not events (handled by tonic's reader). Sensor 34 x 34 pixels, 2 polarities.

Retrieval protocol (official split kept): query = Test (optionally a seeded subset of
``query_per_class`` digits per class), database = Train, train = database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikinghash.data.event_files import (
    EventFileSplit,
    check_record_size,
    dataset_folder,
    dataset_root,
    events_from_columns,
)
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import query_subset
from spikinghash.errors import DataError

# Class names and sensor size as tonic.datasets.NMNIST declares them (checked in the tests;
# not imported, because importing tonic costs seconds on every `data list`).
NMNIST_INFO = DatasetInfo(
    name="nmnist",
    kind="events",
    sensor_size=(34, 34, 2),
    classes=(
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ),
    description="N-MNIST: MNIST digits recorded by a moving DVS (34x34, 10 classes); your files, --root",
    needs_root=True,
)

_SPLIT_FOLDER = {"query": "Test", "database": "Train", "train": "Train"}
_SOURCE = "https://www.garrickorchard.com/datasets/n-mnist"
# tonic's reader fills the fields in dtype order, so this one must list x, y, t, p.
_XYTP = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])


def read_nmnist_file(path: Path) -> np.ndarray:
    """Events of one ``.bin`` file as checked, time-sorted ``EVENT_DTYPE`` ``[n_events]``."""
    from tonic.io import read_mnist_file  # lazy: importing tonic takes seconds

    check_record_size(path, 0, 5, "N-MNIST")
    raw = read_mnist_file(str(path), dtype=_XYTP)
    return events_from_columns(raw["x"], raw["y"], raw["t"], raw["p"], NMNIST_INFO.sensor_size, str(path))


def _list_files(top: Path, folder: str) -> tuple[list[Path], np.ndarray]:
    """Every ``<top>[/NMNIST]/<folder>/<digit>/*.bin``, sorted, with its digit as label."""
    split_dir = dataset_folder(top, "NMNIST") / folder
    if not split_dir.is_dir():
        raise DataError(
            f"N-MNIST not found: expected {top}/NMNIST/{folder}/<digit 0-9>/*.bin (or {top}/{folder}/...); "
            f"download train.zip and test.zip yourself from {_SOURCE}, extract them into <root>/NMNIST "
            "and pass --root <root>"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for digit in range(len(NMNIST_INFO.classes)):
        files = sorted((split_dir / str(digit)).glob("*.bin"))
        if not files:
            raise DataError(
                f"N-MNIST is incomplete: no *.bin files in {split_dir / str(digit)}; "
                f"extract the whole {folder.lower()}.zip from {_SOURCE} again"
            )
        paths += files
        labels += [digit] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


def load_nmnist(
    split: str, root: Path | None = None, *, query_per_class: int | None = None, seed: int = 0
) -> EventFileSplit:
    """One retrieval split of N-MNIST.

    Args:
        split: ``"query"`` (Test), ``"database"`` or ``"train"`` (both Train).
        root: folder holding ``NMNIST/`` (or the ``NMNIST`` folder itself).
        query_per_class: keep only this many seeded test samples per digit as queries
            (``None``: all 10,000).
        seed: seed of that subset.
    """
    top = dataset_root(NMNIST_INFO.name, root, "a folder holding NMNIST/Train and NMNIST/Test")
    folder = _SPLIT_FOLDER[split]
    paths, labels = _list_files(top, folder)
    keep = query_subset(labels, query_per_class, seed) if split == "query" else np.arange(len(paths))
    return EventFileSplit(NMNIST_INFO, split, tuple(paths[i] for i in keep), labels[keep], read_nmnist_file)


register_dataset(NMNIST_INFO, load_nmnist)
