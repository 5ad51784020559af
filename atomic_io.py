"""Atomic file writes: a reader sees the old file or the complete new one, never half of one.

Everything a user keeps (dataset caches, checkpoints, indexes, reports) is written
through these helpers: write to a temporary file in the same folder, flush it to
disk, then ``os.replace`` it over the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    If the body raises, the temporary file is removed and ``path`` is untouched.
    ``suffix`` keeps writers that append an extension (``np.savez``) happy.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent)
    os.close(fd)
    # mkstemp creates 0600 files; a kept file gets the permissions a plain open() would give.
    os.chmod(tmp, 0o666 & ~_umask())
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file for writing (``"w"`` or ``"wb"``) that replaces ``path`` on close."""
    with atomic_path(path) as tmp, open(tmp, mode) as fh:
        yield fh


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=False)
        fh.write("\n")


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays to an uncompressed ``.npz`` file, atomically (no pickled objects)."""
    with atomic_path(path, suffix=".npz") as tmp:
        for name, arr in arrays.items():
            if np.asarray(arr).dtype.hasobject:
                raise TypeError(f"array {name!r} holds Python objects; refusing to pickle it")
        np.savez(tmp, **arrays)
