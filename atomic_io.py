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



def _check_creatable(path: Path, folder: Path, what: str) -> None:
    """DataError unless ``folder`` (the folder that will hold ``path``, or ``path`` itself) is or can become
    a writable folder."""
    from spikinghash.errors import DataError

    found = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not found.is_dir():
        where = "is" if found == path else f"lies under {found}, which is"
        raise DataError(f"{what} {path} {where} a regular file, not a folder; choose another path "
                        f"(or move {found} away)")
    if not os.access(found, os.W_OK | os.X_OK):
        raise DataError(f"{what} {path} cannot be written (no write permission on {found}); "
                        "choose a folder you can write to")


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Refuse, before any work, a folder that cannot be created or written.

    ``path`` may exist (it must then be a folder) or not (its closest existing ancestor must
    be a writable folder). Raises :class:`~spikinghash.errors.DataError` naming the path.
    """
    path = Path(path)
    _check_creatable(path, path, what)
    return path


def check_output_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Refuse, before any work, a file path that cannot be written atomically: an existing folder, or a
    path under a regular file or an unwritable folder."""
    from spikinghash.errors import DataError

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{what} {path} is a folder; give the path of a file (inside it, or elsewhere)")
    _check_creatable(path, path.parent, what)
    return path
