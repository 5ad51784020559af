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
import pickletools
import random
import re
import shutil
import warnings
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


def _first_line(err: BaseException) -> str:
    """``Type: message`` on one line; of a weights-only refusal only the loader's reason (torch's advice
    around it, to load with ``weights_only=False``, would run the file's code)."""
    text = str(err)
    reason = re.search(r"(WeightsUnpickler error:.*)", text)
    text = reason.group(1) if reason else " ".join(text.split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _pickled_globals(path: Path, limit: int = 5) -> list[str]:
    """The importable names (``posix.system``) the pickle in ``path`` would call or build, read with
    ``pickletools`` (which only parses opcodes and executes nothing); a torch zip's ``data.pkl`` is read."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                member = next((n for n in zf.namelist() if n.endswith("data.pkl")), None)
                data = zf.read(member) if member is not None else b""
        else:
            data = path.read_bytes()
    except (OSError, zipfile.BadZipFile, KeyError):
        return []
    found: list[str] = []
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if isinstance(arg, str):
                strings.append(arg)
            if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                found.append(arg.replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # noqa: BLE001 - a truncated pickle: the names seen so far
        pass
    # torch's own rebuild functions and storages are what weights-only loading accepts
    foreign = [g for g in dict.fromkeys(found) if not g.startswith(("torch.", "collections.OrderedDict"))]
    return foreign[:limit]


def _usable(path: Path) -> bool:
    """Whether ``path`` loads safely as a checkpoint of this format (the fallback offered for a damaged one)."""
    try:
        return _read(path).get("format") == FORMAT
    except Exception:  # noqa: BLE001 - any failure: not offered
        return False


def _read(path: Path) -> Any:
    with warnings.catch_warnings():  # torch warns about pickle protocols it reads fine
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=True)


def load_checkpoint(path: str | os.PathLike, *,
                    missing_hint: str = "start the run without --resume, or check --out",
                    keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``; a :class:`DataError` naming the file if it is
    missing (``missing_hint``: the fix to suggest), damaged, foreign, lacking one of ``keys`` (``"model"``: a
    state dict of tensors), or holding anything but tensors and plain Python values (refused, never run)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no checkpoint at {path}; {missing_hint}")
    try:
        state = _read(path)
    except Exception as err:  # noqa: BLE001 - torch.load raises OSError, EOFError, KeyError, RuntimeError, ...
        refused = _pickled_globals(path) if isinstance(err, pickle.UnpicklingError) else []
        if refused:
            # Not torch's own advice (weights_only=False would run the file's code), nor checkpoint.prev.pt:
            # whoever could plant this file could plant that one.
            raise DataError(f"checkpoint {path} holds code or Python objects ({', '.join(refused)}), not only tensors; it "
                            "was refused for safety and nothing in it was run. Do not open it with other tools; "
                            "use a checkpoint you trained yourself (spikinghash train)") from None
        prev = path.with_name(PREVIOUS)
        fix = (f"resume from {prev} (it loads) by renaming it to {CHECKPOINT}, or train the run again"
               if path.name == CHECKPOINT and _usable(prev) else "train the run again")
        raise DataError(f"checkpoint {path} is unreadable: truncated or corrupt ({_first_line(err)}); {fix}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DataError(f"checkpoint {path} was not written by this version of spikinghash "
                        f"(format {state.get('format') if isinstance(state, dict) else '?'}); train the run again")
    lacking = [k for k in keys if k not in state]
    if lacking or ("model" in keys and not (isinstance(state["model"], dict)
                                            and all(isinstance(t, torch.Tensor) for t in state["model"].values()))):
        raise DataError(f"checkpoint {path} lacks {', '.join(lacking) or 'proper model weights'}; it was not "
                        "written by `spikinghash train`, train the run again")
    return state
