"""Tiny-ImageNet (Stanford CS231n; 200 ImageNet classes at 64 x 64) from its folder layout.

Expected layout: ``tiny-imagenet-200.zip`` extracted under the root, unchanged::

    <root>/tiny-imagenet-200/wnids.txt                          200 WordNet ids, one a line
    <root>/tiny-imagenet-200/train/<wnid>/images/<wnid>_<i>.JPEG  500 per class
    <root>/tiny-imagenet-200/val/val_annotations.txt            "val_0.JPEG<TAB><wnid><TAB>x0 y0 x1 y1"
    <root>/tiny-imagenet-200/val/images/val_<i>.JPEG            10,000 (50 per class)

``<root>`` may also be the ``tiny-imagenet-200`` folder itself; ``root=None`` reads
``$SPIKINGHASH_DATA_ROOT/tiny-imagenet``. Nothing is downloaded. ``test/`` has no labels
and is not read. JPEGs are decoded lazily, one per sample, by Pillow (a dependency of
matplotlib), converted to RGB (a few images are greyscale) and returned as
``[3, 64, 64]`` float32 in ``[0, 1]``. Classes are the wnids in sorted order (the order
a class-folder reader gives); the loaded split's ``info.classes`` holds them.

Protocol (the paper's Table X and XII: accuracy on Tiny-ImageNet; it reports no retrieval
on it): the labelled validation set is the test set: query = ``val`` (10,000; optionally a
seeded subset of ``query_per_class`` per class), database = ``train`` (100,000),
train = database.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from spikinghash.data.event_files import EventFileSplit, dataset_folder, dataset_root
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import query_subset
from spikinghash.errors import DataError

_SIDE = 64
N_CLASSES = 200
TINY_IMAGENET_INFO = DatasetInfo(
    name="tiny-imagenet",
    kind="images",
    sensor_size=(_SIDE, _SIDE, 3),
    classes=(),  # the 200 wnids come from the user's wnids.txt
    description="Tiny-ImageNet: 200 classes, 64x64, query = the labelled val set; your files, --root",
    needs_root=True,
)
_FOLDER = "tiny-imagenet-200"
_SOURCE = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def read_tiny_imagenet_image(path: Path) -> np.ndarray:
    """One JPEG as ``[3, 64, 64]`` float32 in ``[0, 1]``; :class:`DataError` if unreadable or not 64 x 64."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as err:
        raise DataError("reading Tiny-ImageNet's JPEGs needs Pillow, which is not installed; "
                        "pip install pillow") from err
    try:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as err:
        raise DataError(f"{path}: not a readable JPEG ({err}); the file is truncated or corrupt, "
                        "extract the archive again") from None
    if rgb.shape != (_SIDE, _SIDE, 3):
        raise DataError(f"{path}: a {rgb.shape[1]}x{rgb.shape[0]} image; Tiny-ImageNet's are 64x64, "
                        "so the file is not from the official archive")
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)


def _wnids(base: Path, top: Path) -> tuple[str, ...]:
    path = base / "wnids.txt"
    if not path.is_file():
        raise DataError(
            f"Tiny-ImageNet not found: expected {top}/{_FOLDER}/wnids.txt, train/ and val/; download "
            f"{_SOURCE} yourself, extract it into <root> and pass --root <root>"
        )
    wnids = sorted({line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()})
    if len(wnids) != N_CLASSES:
        raise DataError(f"{path}: lists {len(wnids)} distinct class ids, Tiny-ImageNet has {N_CLASSES}; "
                        "extract the archive again")
    return tuple(wnids)


def _train_files(base: Path, wnids: tuple[str, ...]) -> tuple[list[Path], np.ndarray]:
    paths: list[Path] = []
    labels: list[int] = []
    for label, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        files = sorted(folder.glob("*.JPEG"))
        if not files:
            raise DataError(f"Tiny-ImageNet is incomplete: no class folder {folder} with *.JPEG images (expected "
                            f"{base}/train/<wnid>/images/*.JPEG for all 200 wnids); extract the archive again")
        paths += files
        labels += [label] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


def _val_files(base: Path, wnids: tuple[str, ...]) -> tuple[list[Path], np.ndarray]:
    path = base / "val" / "val_annotations.txt"
    if not path.is_file():
        raise DataError(f"Tiny-ImageNet is incomplete: {path} not found (the labels of val/images/*.JPEG); "
                        "extract the archive again")
    label_of = {w: i for i, w in enumerate(wnids)}
    paths: list[Path] = []
    labels: list[int] = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 2 or fields[1] not in label_of:
            raise DataError(f"{path}, line {n}: {line.strip()[:60]!r} is not '<file>\\t<wnid>\\t...' with a wnid "
                            "of wnids.txt; extract the archive again")
        paths.append(base / "val" / "images" / fields[0])
        labels.append(label_of[fields[1]])
    absent = [p for p in paths if not p.is_file()]
    if absent:
        raise DataError(f"Tiny-ImageNet is incomplete: {len(absent)} of the {len(paths)} images in {path.name} "
                        f"are missing, e.g. {absent[0]}; extract the archive again")
    return paths, np.asarray(labels, dtype=np.int64)


def load_tiny_imagenet(
    split: str, root: Path | None = None, *, query_per_class: int | None = None, seed: int = 0
) -> EventFileSplit:
    """One split of Tiny-ImageNet: query = val, database = train = train.

    Args:
        split: ``"query"``, ``"database"`` or ``"train"``.
        root: folder holding ``tiny-imagenet-200/`` (or that folder itself).
        query_per_class: keep only this many seeded val images per class (``None``: all 50).
        seed: seed of that subset.
    """
    top = dataset_root(TINY_IMAGENET_INFO.name, root, f"a folder holding {_FOLDER}/")
    base = dataset_folder(top, _FOLDER)
    wnids = _wnids(base, top)
    paths, labels = _val_files(base, wnids) if split == "query" else _train_files(base, wnids)
    keep = query_subset(labels, query_per_class, seed) if split == "query" else np.arange(len(paths))
    info = dataclasses.replace(TINY_IMAGENET_INFO, classes=wnids)
    return EventFileSplit(info, split, tuple(paths[i] for i in keep), labels[keep], read_tiny_imagenet_image)


register_dataset(TINY_IMAGENET_INFO, load_tiny_imagenet)
