"""Dataset registry: built-in and real datasets behind one interface.

A dataset is registered once with a loader. ``load_split(name, split)`` returns a
:class:`Split`: a sequence of ``(sample, label)`` where ``sample`` is an event array
(``EVENT_DTYPE``, see :mod:`spikinghash.data.events`) for event datasets or a
``[C, H, W]`` float32 image in ``[0, 1]`` for image datasets.

Retrieval protocol (all datasets): three splits, ``query``, ``database`` and
``train``. Queries are never in the database; the training set is drawn from the
database (the standard CIFAR-10 hashing protocol).
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Protocol

import numpy as np

from spikinghash.errors import DataError

SPLITS = ("train", "query", "database")
Kind = Literal["events", "images"]


@dataclass(frozen=True)
class DatasetInfo:
    """Static description of a dataset.

    Attributes:
        name: registry name, e.g. ``"dvs-digits"``.
        kind: ``"events"`` (samples are event arrays) or ``"images"``.
        sensor_size: ``(W, H, P)`` in pixels and polarities, tonic's convention; for
            images ``(W, H, C)``; ``None`` where the user's files decide it (a loaded
            split's ``info`` then carries the real size).
        classes: class names, index = label.
        similar_classes: unordered pairs of labels that count as "similar" (relevance
            0.5 in ACG/NDCG, Eqs. 27–29).
        description: one line for ``spikinghash data list``.
        needs_root: the data must already be on disk under a root folder.
    """

    name: str
    kind: Kind
    sensor_size: tuple[int, int, int] | None
    classes: tuple[str, ...]
    similar_classes: tuple[tuple[int, int], ...] = ()
    description: str = ""
    needs_root: bool = False


class Split(Protocol):
    """One split of a dataset: ``len()``, indexing to ``(sample, label)``, and metadata."""

    info: DatasetInfo
    split: str
    labels: np.ndarray  # [N] int64

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]: ...


Loader = Callable[..., Split]
Generator = Callable[..., Path]


@dataclass
class _Entry:
    info: DatasetInfo
    loader: Loader
    generator: Generator | None = None


_DATASETS: dict[str, _Entry] = {}


def register_dataset(info: DatasetInfo, loader: Loader, generator: Generator | None = None) -> None:
    """Register ``loader(split, root=..., **options) -> Split`` under ``info.name``.

    ``generator(root=..., force=..., **options) -> Path``, for generated datasets, writes
    the dataset into the cache and returns the file.
    """
    if info.name in _DATASETS:
        raise ValueError(f"dataset {info.name!r} is registered twice")
    _DATASETS[info.name] = _Entry(info, loader, generator)


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset, sorted by name."""
    _import_loaders()
    return [_DATASETS[k].info for k in sorted(_DATASETS)]


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``; :class:`DataError` if unknown."""
    _import_loaders()
    if name not in _DATASETS:
        close = difflib.get_close_matches(name, _DATASETS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DataError(
            f"unknown dataset {name!r}{hint}; `spikinghash data list` shows the known ones"
        )
    return _DATASETS[name].info


def load_split(name: str, split: str, root: str | os.PathLike | None = None, **options: Any) -> Split:
    """Load split ``split`` of dataset ``name``.

    Args:
        root: folder that holds a real dataset's files, or the cache folder of a
            generated one (default: :func:`cache_dir`).
        options: dataset-specific options (for example ``seed``).
    """
    dataset_info(name)  # an unknown name is refused here, with the known ones
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return _DATASETS[name].loader(split, root=None if root is None else Path(root), **options)


def generate_dataset(name: str, root: str | os.PathLike | None = None, force: bool = False, **options: Any) -> Path:
    """Generate dataset ``name`` into the cache (or ``root``) unless already there; return its file."""
    dataset_info(name)
    gen = _DATASETS[name].generator
    if gen is None:
        raise DataError(f"{name} is read from files you provide (--root), so there is nothing to generate; "
                        "use `spikinghash data inspect` to check it")
    return gen(root=None if root is None else Path(root), force=force, **options)


def cache_dir() -> Path:
    """Where generated datasets live: ``$SPIKINGHASH_CACHE`` or ``~/.cache/spikinghash``."""
    env = os.environ.get("SPIKINGHASH_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "spikinghash"


#: The modules whose import registers datasets.
LOADER_MODULES = ("dvs_digits", "nmnist", "dvs_gesture", "cifar10_dvs", "image_arrays", "ucf101_dvs", "hmdb51_dvs",
                  "hardvs", "cifar", "tiny_imagenet")


def _import_loaders() -> None:
    """Import the modules that register datasets (idempotent)."""
    for module in LOADER_MODULES:
        importlib.import_module(f"spikinghash.data.{module}")
