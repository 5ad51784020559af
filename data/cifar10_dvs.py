"""CIFAR10-DVS (Li et al., 2017) from files already on disk, decoded by tonic's readers.

Expected layout, one folder per class (``airplane``, ``automobile``, ``bird``, ``cat``,
``deer``, ``dog``, ``frog``, ``horse``, ``ship``, ``truck``; 1,000 recordings each)::

    <root>/CIFAR10DVS/<class>/*.aedat     the original release (AEDAT 2.0), or
    <root>/CIFAR10DVS/<class>/*.aedat4    tonic's copy (AEDAT 4; needs the `aedat` package)

Files may sit deeper inside a class folder. ``<root>`` may also be the ``CIFAR10DVS``
folder itself; ``root=None`` reads ``$SPIKINGHASH_DATA_ROOT/cifar10-dvs``. One dataset
must use one of the two forms (they are decoded with different conventions, below).
Nothing is downloaded: tonic's dataset class would, so only ``tonic.io``'s readers are
used. Sensor 128 x 128 pixels (a DVS128), 2 polarities.

Decoding:

* ``.aedat`` (AEDAT 2.0): ``#`` header lines, then 8-byte big-endian records of a
  32-bit address and a 32-bit timestamp (µs), read by
  ``tonic.io.get_aer_events_from_file``. The address holds jAER's DVS128 fields:
  polarity bit 0, column bits 1-7, row bits 8-14. The output follows SpikingJelly's
  CIFAR10-DVS reader, the de-facto convention for these files: ``x = 127 - row``,
  ``y = 127 - column``, ``p = 1 - bit 0`` (jAER codes ON as 0). Addresses
  with bit 15 set are jAER's special (external input) events, not pixels, and are
  dropped; an address above 16 bits means the file is not a DVS128 recording. A
  32-bit timestamp that wraps around inside a recording is unwrapped.
* ``.aedat4``: ``tonic.io.read_aedat4``; t, x, y, polarity are kept as decoded.

Retrieval protocol (there is no official split): a seeded, stratified split puts
``query_fraction`` (default 10 %, i.e. 100 per class, the paper's 9:1) of every class
in the query set; the rest is the database; train = database.
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
from spikinghash.data.retrieval_split import protocol_indices
from spikinghash.errors import DataError

# Class names (in label order) and sensor size as tonic.datasets.CIFAR10DVS declares them.
CIFAR10_DVS_INFO = DatasetInfo(
    name="cifar10-dvs",
    kind="events",
    sensor_size=(128, 128, 2),
    classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    description="CIFAR10-DVS: CIFAR-10 images recorded by a DVS128 (128x128, 10 classes); your files, --root",
    needs_root=True,
)

_SOURCE = "https://figshare.com/articles/CIFAR10-DVS_New/4724671/2"
_AEDAT2_MAGIC = b"#!AER-DAT2"
_SENSOR_MAX = 127  # last row/column of the 128 x 128 DVS128
_SPECIAL_EVENT_BIT = 1 << 15
_U32 = 1 << 32


def _unwrap_u32(t: np.ndarray) -> np.ndarray:
    """µs timestamps ``[N]`` with 32-bit wrap-arounds undone (a drop by more than 2^31)."""
    wraps = np.cumsum(np.diff(t, prepend=t[:1]) < -(_U32 // 2))
    return t + wraps * _U32


def read_aedat2(path: Path) -> np.ndarray:
    """Events of one original-release ``.aedat`` file, ``EVENT_DTYPE`` ``[n_events]``."""
    from tonic.io import get_aer_events_from_file, read_aedat_header_from_file  # lazy: tonic is slow to import

    try:
        with open(path, "rb") as f:
            magic = f.read(len(_AEDAT2_MAGIC))
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check the file and its permissions") from err
    if magic != _AEDAT2_MAGIC:
        raise DataError(
            f"{path}: not an AEDAT 2.0 file (it must start with '#!AER-DAT2.0'); the file is corrupt, extract it again"
        )
    version, data_start, _ = read_aedat_header_from_file(str(path))
    check_record_size(path, data_start, 8, "AEDAT 2.0")
    raw = get_aer_events_from_file(str(path), version, data_start)
    address = raw["address"].astype(np.int64)
    if address.max() > 0xFFFF:
        raise DataError(
            f"{path}: addresses wider than 16 bits, so not a DVS128 recording; "
            "the file is corrupt or from another dataset"
        )
    pixel = (address & _SPECIAL_EVENT_BIT) == 0
    address = address[pixel]
    t = _unwrap_u32(raw["timeStamp"].astype(np.int64))[pixel]
    column, row, bit0 = (address >> 1) & 0x7F, (address >> 8) & 0x7F, address & 1
    x, y, p = _SENSOR_MAX - row, _SENSOR_MAX - column, 1 - bit0
    return events_from_columns(x, y, t, p, CIFAR10_DVS_INFO.sensor_size, str(path))


def read_aedat4_file(path: Path) -> np.ndarray:
    """Events of one ``.aedat4`` file of tonic's copy, ``EVENT_DTYPE`` ``[n_events]``."""
    try:
        import aedat  # noqa: F401  (tonic.io.read_aedat4 imports it inside)
    except ImportError as err:
        raise DataError(
            f"{path}: reading .aedat4 files needs the `aedat` package, which is not installed; "
            "pip install aedat, or use the original AEDAT 2.0 (.aedat) release"
        ) from err
    from tonic.io import read_aedat4

    try:
        raw = read_aedat4(str(path))
    except Exception as err:  # the Rust decoder has its own error types for damaged files
        raise DataError(f"{path}: cannot be decoded as AEDAT 4 ({err}); the file is corrupt, extract it again") from err
    # Positional, as tonic's CIFAR10DVS renames them: t, x, y, polarity.
    t, x, y, p = (raw[name] for name in raw.dtype.names[:4])
    return events_from_columns(x, y, t, p, CIFAR10_DVS_INFO.sensor_size, str(path))


_READERS = {".aedat": read_aedat2, ".aedat4": read_aedat4_file}


def _list_files(top: Path) -> tuple[list[Path], np.ndarray]:
    """Every event file under ``<top>[/CIFAR10DVS]/<class>/``, sorted, with its class label."""
    base = dataset_folder(top, "CIFAR10DVS")
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(CIFAR10_DVS_INFO.classes):
        files = sorted(p for p in (base / name).rglob("*") if p.suffix in _READERS and p.is_file())
        if not files:
            raise DataError(
                f"CIFAR10-DVS not found: expected {top}/CIFAR10DVS/{name}/*.aedat (or *.aedat4), one folder per "
                f"class, but {base / name} holds none; download the class archives yourself from {_SOURCE}, "
                "extract them into <root>/CIFAR10DVS and pass --root <root>"
            )
        paths += files
        labels += [label] * len(files)
    if len({p.suffix for p in paths}) > 1:
        raise DataError(
            f"{base} mixes .aedat and .aedat4 files, which are decoded with different conventions; "
            "keep the files of one release only"
        )
    return paths, np.asarray(labels, dtype=np.int64)


def load_cifar10_dvs(
    split: str, root: Path | None = None, *, query_fraction: float = 0.1, seed: int = 0
) -> EventFileSplit:
    """One retrieval split of CIFAR10-DVS.

    Args:
        split: ``"query"``, ``"database"`` or ``"train"`` (= database).
        root: folder holding ``CIFAR10DVS/`` (or the ``CIFAR10DVS`` folder itself).
        query_fraction: share of every class that becomes queries.
        seed: seed of the stratified split (the same seed gives disjoint query and database).
    """
    top = dataset_root(CIFAR10_DVS_INFO.name, root, "a folder holding CIFAR10DVS/<class>/*.aedat")
    paths, labels = _list_files(top)
    keep = protocol_indices(labels, split, query_fraction, seed)
    reader = _READERS[paths[0].suffix]
    return EventFileSplit(CIFAR10_DVS_INFO, split, tuple(paths[i] for i in keep), labels[keep], reader)


register_dataset(CIFAR10_DVS_INFO, load_cifar10_dvs)
