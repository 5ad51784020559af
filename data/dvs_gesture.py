"""DVS128 Gesture (Amir et al., 2017) from tonic's preprocessed files already on disk.

Expected layout (what tonic's ``DVSGesture(save_to=<root>)`` uses: its
``ibmGestureTrain.tar.gz`` and ``ibmGestureTest.tar.gz`` extracted into
``<root>/DVSGesture``)::

    <root>/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>.npy   1,077 files (users 1-23)
    <root>/DVSGesture/ibmGestureTest/user<NN>_<lighting>/<label>.npy      264 files (users 24-29)

``<root>`` may also be the ``DVSGesture`` folder itself; ``root=None`` reads
``$SPIKINGHASH_DATA_ROOT/dvs-gesture``. Nothing is downloaded (tonic's dataset class
would, so it is not used). In this form IBM's recordings are already cut into one file
per gesture, named by its 0-based class (``0.npy`` … ``10.npy``); each file is an
``[N, 4]`` array of columns x, y, polarity, t in **milliseconds** (tonic's
preprocessing reduced the precision to ms), converted here to µs as tonic does. IBM's
original ``.aedat`` recordings with ``_labels.csv`` files are not read.
Sensor 128 x 128 pixels, 2 polarities.

Retrieval protocol (official split kept, by user): query = ibmGestureTest (optionally a
seeded subset of ``query_per_class`` per class), database = ibmGestureTrain,
train = database. The official split is about 80/20, the ratio the paper used.

Similar classes (relevance 0.5 in ACG/NDCG): the two temporally mirrored pairs, right
arm clockwise vs counter-clockwise (3, 4) and left arm clockwise vs counter-clockwise
(5, 6). Each pair is the same circular motion of the same arm played forwards or
backwards: the pixels that fire are the same and only the order in time differs.
Left/right pairs (hand waves 1, 2) are mirrored in space, not in time, land on
different halves of the sensor, and are not marked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikinghash.data.event_files import EventFileSplit, dataset_folder, dataset_root, events_from_columns
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import query_subset
from spikinghash.errors import DataError

# Class names and sensor size as tonic.datasets.DVSGesture declares them (checked in tests).
DVS_GESTURE_INFO = DatasetInfo(
    name="dvs-gesture",
    kind="events",
    sensor_size=(128, 128, 2),
    classes=(
        "Hand clapping", "Right hand wave", "Left hand wave", "Right arm cw", "Right arm ccw",
        "Left arm cw", "Left arm ccw", "Arm roll", "Air drums", "Air guitar", "Other gestures",
    ),
    similar_classes=((3, 4), (5, 6)),
    description="DVS128 Gesture: 11 hand and arm gestures by 29 people (128x128); your files, --root",
    needs_root=True,
)

_SPLIT_FOLDER = {"query": "ibmGestureTest", "database": "ibmGestureTrain", "train": "ibmGestureTrain"}
_SOURCE = (
    "tonic's copy (ibmGestureTrain.tar.gz: https://figshare.com/ndownloader/files/38022171, "
    "ibmGestureTest.tar.gz: https://figshare.com/ndownloader/files/38020584)"
)
_US_PER_MS = 1000


def read_gesture_file(path: Path) -> np.ndarray:
    """Events of one ``<label>.npy`` file as checked, time-sorted ``EVENT_DTYPE`` ``[n_events]``."""
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DataError(
            f"{path}: not a readable .npy event table ({err}); the file is truncated or corrupt, extract it again"
        ) from err
    is_table = isinstance(table, np.ndarray) and table.dtype.kind in "iuf" and table.ndim == 2
    if not is_table or table.shape[1] != 4 or len(table) == 0:
        got = f"shape {table.shape} of {table.dtype}" if isinstance(table, np.ndarray) else "an .npz archive"
        raise DataError(
            f"{path}: expected a non-empty [N, 4] numeric table of x, y, polarity, t (ms), "
            f"got {got}; the file is corrupt or not from tonic's DVS Gesture copy"
        )
    if not np.all(np.isfinite(table)) or not np.array_equal(table[:, :3], np.round(table[:, :3])):
        raise DataError(f"{path}: x, y and polarity must be whole numbers and every value finite; the file is corrupt")
    x, y, p, t_ms = table.T
    t_us = np.rint(t_ms.astype(np.float64) * _US_PER_MS)
    return events_from_columns(x, y, t_us, p, DVS_GESTURE_INFO.sensor_size, str(path))


def _label_of(path: Path) -> int:
    """Class of a ``<label>.npy`` file, from its name."""
    n_classes = len(DVS_GESTURE_INFO.classes)
    if not path.stem.isdigit() or int(path.stem) >= n_classes:
        raise DataError(
            f"{path}: DVS Gesture files are named by class, 0.npy to {n_classes - 1}.npy; "
            "remove or rename this file"
        )
    return int(path.stem)


def _list_files(top: Path, folder: str) -> tuple[list[Path], np.ndarray]:
    """Every ``<top>[/DVSGesture]/<folder>/<user>_<lighting>/<label>.npy``, sorted, with its label."""
    split_dir = dataset_folder(top, "DVSGesture") / folder
    paths = sorted(split_dir.glob("*/*.npy"))
    if not paths:
        raise DataError(
            f"DVS128 Gesture not found: expected {top}/DVSGesture/{folder}/user<NN>_<lighting>/<label>.npy "
            f"(or {top}/{folder}/...); download {_SOURCE} yourself, extract both into <root>/DVSGesture "
            "and pass --root <root>"
        )
    labels = np.asarray([_label_of(p) for p in paths], dtype=np.int64)
    missing = sorted(set(range(len(DVS_GESTURE_INFO.classes))) - set(labels.tolist()))
    if missing:
        raise DataError(
            f"DVS128 Gesture is incomplete: no {missing[0]}.npy anywhere under {split_dir}; "
            f"extract the whole {folder}.tar.gz again"
        )
    return paths, labels


def load_dvs_gesture(
    split: str, root: Path | None = None, *, query_per_class: int | None = None, seed: int = 0
) -> EventFileSplit:
    """One retrieval split of DVS128 Gesture.

    Args:
        split: ``"query"`` (ibmGestureTest), ``"database"`` or ``"train"`` (ibmGestureTrain).
        root: folder holding ``DVSGesture/`` (or the ``DVSGesture`` folder itself).
        query_per_class: keep only this many seeded test samples per class as queries
            (``None``: all 264).
        seed: seed of that subset.
    """
    top = dataset_root(DVS_GESTURE_INFO.name, root, "a folder holding DVSGesture/ibmGestureTrain and ibmGestureTest")
    paths, labels = _list_files(top, _SPLIT_FOLDER[split])
    keep = query_subset(labels, query_per_class, seed) if split == "query" else np.arange(len(paths))
    return EventFileSplit(DVS_GESTURE_INFO, split, tuple(paths[i] for i in keep), labels[keep], read_gesture_file)


register_dataset(DVS_GESTURE_INFO, load_dvs_gesture)
