"""Checkpoints: plain tensors and Python values only, written atomically, read with weights_only.

``RUN_DIR/checkpoint.pt`` holds the state after the last completed epoch whose losses
and parameters were all finite (the last good state); the one it replaced is kept as
``checkpoint.prev.pt``. Contents (``FORMAT`` 1):

- ``format``, ``epoch`` (completed epochs), ``step`` (optimizer steps so far)
- ``config``: the resolved :class:`~spikinghash.train.config.TrainConfig` as a dict
- ``model``, ``optimizer``, ``scheduler``: their ``state_dict()``
- ``soft_similarity``: S_soft with its round sums and counts (Eqs. 19-21), or None
- ``rng``: torch CPU (and CUDA) generator states, numpy's MT19937 state as an int64
  tensor plus its position and Gaussian cache, Python's ``random`` state the same way
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spikinghash.atomic_io import atomic_path
from spikinghash.errors import DataError

FORMAT = 1
CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"


def capture_rng() -> dict[str, Any]:
    """Every global random generator's state, as tensors and plain numbers."""
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    version, py_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        # Only once CUDA is in use: asking earlier would start a context on every visible GPU.
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`. CUDA states are restored only onto as many GPUs."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_checkpoint(run_dir: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``run_dir/checkpoint.pt`` atomically, keeping the old one as ``.prev``.

    The old file is hard-linked (copied where links are impossible) to the ``.prev``
    name before the new one replaces it, so ``checkpoint.pt`` exists at every moment.
    """
    run_dir = Path(run_dir)
    path, prev = run_dir / CHECKPOINT, run_dir / PREVIOUS
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
        if path.exists():
            with atomic_path(prev) as prev_tmp:
                prev_tmp.unlink()
                try:
                    os.link(path, prev_tmp)
                except OSError:
                    shutil.copy2(path, prev_tmp)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``; a clear error if it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no checkpoint at {path}; start the run without --resume, or check --out")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"checkpoint {path} is unreadable ({detail}); resume from {PREVIOUS} "
                        f"by renaming it to {CHECKPOINT}, or start again") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataError(f"checkpoint {path} was not written by this version of spikinghash "
                        f"(format {state.get('format') if isinstance(state, dict) else '?'}); start the run again")
    return state
