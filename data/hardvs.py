"""HARDVS (Wang et al., AAAI 2024) from its compact event files, split by its official partition files.

About 107,000 recordings of 300 daily human activities by a DAVIS346 (346 x 260 pixels,
2 polarities). Read from the "compact event file" release (``MINI_HARDVS_files.zip``,
whose ``action_<NNN>.zip`` archives unpack to one folder per class; the form SpikingJelly's
``HARDVS`` dataset reads) with the official partition files next to it::

    <root>/HARDVS/action_<NNN>/<recording>.npz     NNN = 001 ... 300
    <root>/HARDVS/train_label.txt                  "action_001/dvSave-2021_10_15_19_18_02 <...>"
    <root>/HARDVS/val_label.txt
    <root>/HARDVS/test_label.txt

``<root>`` may also be the ``HARDVS`` folder itself; ``root=None`` reads
``$SPIKINGHASH_DATA_ROOT/hardvs``. Nothing is downloaded. Each ``.npz`` holds the arrays
``t`` (timestamps, µs, as the camera recorded them), ``x`` (0..345), ``y`` (0..259) and
``p`` (1 = ON, 0 = OFF), read with ``allow_pickle=False``; samples centre the 346 x 260
sensor in a 352 x 272 frame (3 blank columns left and right, 6 rows above and below),
since the models need sides divisible by 16. The first field of each
partition line names the recording ``action_<NNN>/<recording>``; its class is
``NNN - 1``, the order of the class folders (what SpikingJelly's folder-based reader
gives); the other fields of the line are not used.

Retrieval protocol (the paper's, Sec. IV-B: "the official partition file"): query =
``test_label.txt`` (optionally a seeded subset of ``query_per_class`` per class),
database = ``train_label.txt``, train = database; ``val_label.txt`` is not used.

Similar classes: none. HARDVS defines none; the paper's Fig. 5 only remarks that the
learned similarity ranks some pairs high, which is a result, not a ground truth.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from spikinghash.data.event_files import (
    EventFileSplit,
    dataset_folder,
    dataset_root,
    events_from_columns,
    integer_column,
    padded_frame,
    place_in_frame,
)
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import query_subset
from spikinghash.errors import DataError

N_CLASSES = 300
DAVIS346_SENSOR = (346, 260, 2)
DAVIS346_FRAME, DAVIS346_OFFSET = padded_frame(DAVIS346_SENSOR)  # (352, 272, 2), (3, 6)
HARDVS_INFO = DatasetInfo(
    name="hardvs",
    kind="events",
    sensor_size=DAVIS346_FRAME,
    classes=tuple(f"action_{i:03d}" for i in range(1, N_CLASSES + 1)),
    description="HARDVS: 300 daily activities by a DAVIS346 (346x260), official partition files; your files, --root",
    needs_root=True,
)

_SPLIT_FILE = {"query": "test_label.txt", "database": "train_label.txt", "train": "train_label.txt"}
_ENTRY = re.compile(r"^(action_(\d{3}))/([^/]+?)(?:\.npz)?$")
_KEYS = ("x", "y", "t", "p")
_SOURCE = "the compact event files and partition files linked from https://github.com/Event-AHU/HARDVS"


def read_hardvs_file(path: Path) -> np.ndarray:
    """Events of one ``.npz`` recording, checked against the 346 x 260 sensor, time-sorted and placed in
    the 352 x 272 frame: ``EVENT_DTYPE`` ``[n_events]``."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"{path}: not a readable .npz recording ({err}); the file is truncated or corrupt, "
                        "extract it again") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: a single .npy array, not an .npz recording with t, x, y and p; "
                        "the file is from another dataset")
    with npz:
        missing = [k for k in _KEYS if k not in npz.files]
        if missing:
            raise DataError(
                f"{path}: no array `{missing[0]}`; a HARDVS recording holds t, x, y and p "
                f"(it has: {', '.join(npz.files) or 'none'}); the file is from another dataset"
            )
        try:
            arrays = {k: npz[k] for k in _KEYS}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise DataError(f"{path}: an array cannot be read ({err}); the file is truncated or corrupt, "
                            "extract it again") from None
    x, y, t, p = (integer_column(arrays[k], k, str(path)) for k in _KEYS)
    if not len(x) == len(y) == len(t) == len(p):
        raise DataError(f"{path}: t, x, y and p have different lengths; the file is corrupt")
    return place_in_frame(events_from_columns(x, y, t, p, DAVIS346_SENSOR, str(path)), DAVIS346_OFFSET)


def _read_partition(path: Path, base: Path) -> tuple[list[Path], np.ndarray]:
    """The recordings a partition file lists, with their labels; every one must be on disk."""
    if not path.is_file():
        raise DataError(
            f"HARDVS partition file {path} not found: expected {base}/train_label.txt, val_label.txt and "
            f"test_label.txt next to the action_<NNN> folders; get {_SOURCE} and pass --root <root>"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        match = _ENTRY.match(line.split()[0].replace("\\", "/"))
        if match is None or not 1 <= int(match.group(2)) <= N_CLASSES:
            raise DataError(
                f"{path}, line {n}: {line.strip()[:80]!r} does not start with 'action_<001-300>/<recording>'; "
                "use the official partition files unchanged"
            )
        folder, number, name = match.groups()
        paths.append(base / folder / f"{name}.npz")
        labels.append(int(number) - 1)
    if not paths:
        raise DataError(f"{path} lists no recordings; use the official partition files unchanged")
    folders = sorted({p.parent for p in paths})
    absent_folder = next((f for f in folders if not f.is_dir()), None)
    if absent_folder is not None:
        raise DataError(
            f"HARDVS is incomplete: no class folder {absent_folder} (listed in {path.name}); expected "
            f"{base}/action_<NNN>/*.npz; extract every action_<NNN>.zip of MINI_HARDVS_files.zip"
        )
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise DataError(
            f"HARDVS is incomplete: {len(absent)} of the {len(paths)} recordings in {path.name} are missing, "
            f"e.g. {absent[0]}; extract every action_<NNN>.zip of MINI_HARDVS_files.zip again"
        )
    return paths, np.asarray(labels, dtype=np.int64)


def load_hardvs(
    split: str, root: Path | None = None, *, query_per_class: int | None = None, seed: int = 0
) -> EventFileSplit:
    """One retrieval split of HARDVS under its official partition.

    Args:
        split: ``"query"`` (test_label.txt), ``"database"`` or ``"train"`` (both train_label.txt).
        root: folder holding ``HARDVS/`` (or the ``HARDVS`` folder itself).
        query_per_class: keep only this many seeded test recordings per class as queries (``None``: all).
        seed: seed of that subset.
    """
    top = dataset_root(HARDVS_INFO.name, root, "a folder holding HARDVS/action_<NNN>/*.npz and *_label.txt")
    base = dataset_folder(top, "HARDVS")
    paths, labels = _read_partition(base / _SPLIT_FILE[split], base)
    keep = query_subset(labels, query_per_class, seed) if split == "query" else np.arange(len(paths))
    return EventFileSplit(HARDVS_INFO, split, tuple(paths[i] for i in keep), labels[keep], read_hardvs_file)


register_dataset(HARDVS_INFO, load_hardvs)
