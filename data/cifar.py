"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009) from the official archives, with the official split.

Expected layout: the "python version" archives (``cifar-10-python.tar.gz``,
``cifar-100-python.tar.gz``) extracted under the root::

    <root>/cifar-10-batches-py/data_batch_1 ... data_batch_5, test_batch, batches.meta
    <root>/cifar-100-python/train, test, meta

``<root>`` may also be that folder itself; ``root=None`` reads
``$SPIKINGHASH_DATA_ROOT/cifar10`` (or ``cifar100``). Nothing is downloaded. The batches
are pickles; they are read by :mod:`spikinghash.data.safe_pickle`, which runs no pickled
code. Each holds ``data``, ``[N, 3072]`` uint8 (1024 red, then green, then blue values of
a 32 x 32 image, row by row), and ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100, the
100-class task the paper reports). Instead of the pickles, a folder may hold
``train.npz`` and ``test.npz`` in the ``image-npz`` form (``images`` ``[N, 3, 32, 32]``,
``labels`` ``[N]``).

Samples are ``[3, 32, 32]`` float32 in ``[0, 1]``; the images are kept as uint8 (50,000
training images take 150 MB, not 600) and scaled on indexing.

Retrieval protocol: the paper (Sec. IV-B) names the 50,000 training and 10,000 test
images and mAP@5000, and gives no other query/database sizes; the official split is
therefore kept: query = the 10,000 test images (optionally a seeded subset of
``query_per_class`` per class, e.g. 100 for the 1,000-query protocol of Table II's
baselines), database = the 50,000 training images, train = database. Classification
(Table IX) trains on the training set and reports accuracy on the test set = query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikinghash.data.event_files import dataset_folder, dataset_root
from spikinghash.data.image_arrays import ImageSplit, check_images, read_npz
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import query_subset
from spikinghash.data.safe_pickle import load_restricted
from spikinghash.errors import DataError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle", "bowl",
    "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle", "chair",
    "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin",
    "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard", "lamp",
    "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
    "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck",
    "pine_tree", "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
    "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger",
    "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)
_SIDE, _CHANNELS = 32, 3


@dataclass(frozen=True)
class _Release:
    """Where one archive keeps what: folder, batch files per part, label key, meta file and key."""

    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_key: str
    meta: str
    names_key: str
    archive: str


_RELEASES = {
    "cifar10": _Release("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",),
                        "labels", "batches.meta", "label_names", "cifar-10-python.tar.gz"),
    "cifar100": _Release("cifar-100-python", ("train",), ("test",), "fine_labels", "meta", "fine_label_names",
                         "cifar-100-python.tar.gz"),
}
CIFAR10_INFO = DatasetInfo(
    name="cifar10", kind="images", sensor_size=(_SIDE, _SIDE, _CHANNELS), classes=CIFAR10_CLASSES,
    description="CIFAR-10: 60,000 32x32 colour images, official split (query = 10k test); your files, --root",
    needs_root=True,
)
CIFAR100_INFO = DatasetInfo(
    name="cifar100", kind="images", sensor_size=(_SIDE, _SIDE, _CHANNELS), classes=CIFAR100_CLASSES,
    description="CIFAR-100: 60,000 32x32 colour images, 100 classes, official split; your files, --root",
    needs_root=True,
)
_INFOS = {"cifar10": CIFAR10_INFO, "cifar100": CIFAR100_INFO}
_SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html"


def _batch(path: Path, label_key: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 3, 32, 32]`` uint8 and labels ``[N]`` int64 of one pickled batch."""
    batch = load_restricted(path)
    if not isinstance(batch, dict) or "data" not in batch or label_key not in batch:
        keys = ", ".join(sorted(map(str, batch))) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"{path}: expected a dict with `data` and `{label_key}` (it has: {keys}); "
                        "the file is not from the official python archive")
    data, labels = batch["data"], np.asarray(batch[label_key])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != _CHANNELS * _SIDE * _SIDE:
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"{path}: `data` must be [N, 3072] uint8 (3 x 32 x 32 per image), got {got}; "
                        "the file is corrupt")
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= n_classes:
        raise DataError(f"{path}: `{label_key}` must hold one class index 0..{n_classes - 1} per image; "
                        "the file is corrupt")
    return data.reshape(-1, _CHANNELS, _SIDE, _SIDE), labels.astype(np.int64)


def _check_meta(path: Path, names_key: str, classes: tuple[str, ...]) -> None:
    """The meta file, where present, must name the classes in the expected order."""
    if not path.is_file():
        return
    meta = load_restricted(path)
    names = meta.get(names_key) if isinstance(meta, dict) else None
    if names is None or tuple(names) != classes:
        raise DataError(f"{path}: `{names_key}` does not list the {len(classes)} classes in the official order; "
                        "the file is not from the official archive")


def _read_pickles(base: Path, release: _Release, part: str, info: DatasetInfo) -> tuple[np.ndarray, np.ndarray]:
    files = release.train if part == "train" else release.test
    _check_meta(base / release.meta, release.names_key, info.classes)
    batches = [_batch(base / f, release.label_key, len(info.classes)) for f in files]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def _read_npz_part(path: Path, info: DatasetInfo) -> tuple[np.ndarray, np.ndarray]:
    arrays = read_npz(path)
    if "images" not in arrays or "labels" not in arrays:
        raise DataError(f"{path}: needs arrays `images` [N, 3, 32, 32] and `labels` [N] "
                        f"(it has: {', '.join(sorted(arrays)) or 'none'})")
    images, labels = check_images(arrays["images"], arrays["labels"], str(path))
    if images.shape[1:] != (_CHANNELS, _SIDE, _SIDE) or (len(labels) and labels.max() >= len(info.classes)):
        raise DataError(f"{path}: expected images [N, 3, 32, 32] and labels 0..{len(info.classes) - 1}, got "
                        f"images {images.shape}, largest label {labels.max() if len(labels) else '-'}")
    return images, labels


def read_cifar(name: str, top: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``part`` (``"train"`` or ``"test"``) of CIFAR ``name`` under ``top``: images ``[N, 3, 32, 32]``
    (uint8 from the pickles, float32 in [0, 1] from .npz) and labels ``[N]``."""
    release, info = _RELEASES[name], _INFOS[name]
    base = dataset_folder(top, release.folder)
    if (base / f"{part}.npz").is_file():
        return _read_npz_part(base / f"{part}.npz", info)
    files = release.train if part == "train" else release.test
    absent = [f for f in files if not (base / f).is_file()]
    if absent:
        found = "found none of its files" if len(absent) == len(files) else f"{base / absent[0]} is missing"
        raise DataError(
            f"{info.name} not found: expected {top}/{release.folder}/{' '.join(files)} ({found}); download "
            f"{release.archive} yourself from {_SOURCE}, extract it into <root> and pass --root <root> "
            f"(or put train.npz and test.npz there)"
        )
    return _read_pickles(base, release, part, info)


def _loader(name: str):
    def load(split: str, root: Path | None = None, *, query_per_class: int | None = None, seed: int = 0) -> ImageSplit:
        info = _INFOS[name]
        top = dataset_root(name, root, f"a folder holding {_RELEASES[name].folder}/")
        images, labels = read_cifar(name, top, "test" if split == "query" else "train")
        if split != "query" or query_per_class is None:
            return ImageSplit(info, split, images, labels, np.arange(len(labels)))
        keep = query_subset(labels, query_per_class, seed)
        return ImageSplit(info, split, images[keep], labels[keep], keep)

    load.__doc__ = f"""One retrieval split of {name}: query = test set, database = train = training set.

        Args:
            split: ``"query"``, ``"database"`` or ``"train"``.
            root: folder holding ``{_RELEASES[name].folder}/`` (or that folder itself).
            query_per_class: keep only this many seeded test images per class (``None``: all 10,000).
            seed: seed of that subset.
        """
    return load


load_cifar10 = _loader("cifar10")
load_cifar100 = _loader("cifar100")
register_dataset(CIFAR10_INFO, load_cifar10)
register_dataset(CIFAR100_INFO, load_cifar100)
