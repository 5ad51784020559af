"""The damaged inputs of ``test_bad_input.py``: each a function ``(run folder copy, case folder) -> None``,
plus the tiny training config both that module and ``test_kill.py`` train on."""

from __future__ import annotations

import io
import os
import pickle
import shutil
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import torch

TINY_CONFIG = """\
model: spikinghash_ti_nir
data: dvs-digits
bits: 8
T: 2
epochs: 1
batch_size: 8
seed: 0
device: cpu
eval_every: 0
map_k: all
data_options: {digits_per_class: 2, temporal_per_class: 2}
model_options:
  stem_dim: 4
  stages:
    - {dim: 8, depth: 1, stride: 2}
  mlp_ratio: 1.0
  dwt_levels: 1
  mixer_groups: 2
"""


MARKER = "PWNED"  # a malicious file's payload would create this file in the case folder

Damage = Callable[[Path, Path], None]  # (the run folder's copy, the case folder)


def rm(name: str) -> Damage:
    return lambda run, tmp: (run / name).unlink()


def write(name: str, data: bytes) -> Damage:
    return lambda run, tmp: (run / name).write_bytes(data)


def cut(name: str, keep: int | float) -> Damage:
    """Keep the first ``keep`` bytes (a float: that fraction of the file)."""
    def damage(run: Path, tmp: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    return damage


def swap(name: str, other: str) -> Damage:
    """A foreign file: another artifact's bytes under this name."""
    return lambda run, tmp: (run / name).write_bytes((run / other).read_bytes())


def both(*damages: Damage) -> Damage:
    def damage(run: Path, tmp: Path) -> None:
        for d in damages:
            d(run, tmp)
    return damage


class _Payload:
    """Unpickling this runs a shell command that creates the marker file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.target}",)


def malicious_pickle(run: Path, tmp: Path) -> None:
    (run / "checkpoint.pt").write_bytes(pickle.dumps(_Payload(tmp / MARKER)))


def malicious_torch(run: Path, tmp: Path) -> None:
    buf = io.BytesIO()
    torch.save({"format": 1, "epoch": 1, "model": _Payload(tmp / MARKER)}, buf)
    (run / "checkpoint.pt").write_bytes(buf.getvalue())


def torch_file(obj_of: Callable[[dict], object]) -> Damage:
    """checkpoint.pt replaced by a weights-only-loadable file built from the real state."""
    def damage(run: Path, tmp: Path) -> None:
        state = torch.load(run / "checkpoint.pt", weights_only=True)
        torch.save(obj_of(state), run / "checkpoint.pt")
    return damage


def wrong_shapes(state: dict) -> dict:
    name = next(k for k, v in state["model"].items() if v.ndim >= 2)
    state["model"][name] = torch.zeros(3, 3)
    return state


def npz(name: str, **arrays: np.ndarray) -> Damage:
    def damage(run: Path, tmp: Path) -> None:
        with open(run / name, "wb") as fh:
            np.savez(fh, **arrays)
    return damage


def inputs_npz(**arrays: np.ndarray) -> Damage:
    """The user's own frames, ``x.npz`` in the case folder (``simulate GRAPH.nir --inputs``), as given."""
    def damage(run: Path, tmp: Path) -> None:
        with open(tmp / "x.npz", "wb") as fh:
            np.savez(fh, **arrays)
    return damage


def object_npz(name: str) -> Damage:
    """Keys as expected, but pickled Python objects inside (np.load must refuse them)."""
    def damage(run: Path, tmp: Path) -> None:
        with np.load(run / name) as f:
            arrays = {k: f[k] for k in f.files}
        arrays[next(iter(arrays))] = np.array([{"x": 1}], dtype=object)
        with open(run / name, "wb") as fh:
            np.savez(fh, **arrays)
    return damage


def stale_index(run: Path, tmp: Path) -> None:
    with np.load(run / "index.npz") as f:
        arrays = {k: f[k] for k in f.files}
    arrays["fingerprint"] = np.array("0" * 64)
    with open(run / "index.npz", "wb") as fh:
        np.savez(fh, **arrays)


def empty_hdf5(name: str) -> Damage:
    def damage(run: Path, tmp: Path) -> None:
        with h5py.File(run / name, "w"):
            pass
    return damage


def nir_edit(edit: Callable[[h5py.File], None], src: str = "run/model.nir", dst: str = "graph.nir") -> Damage:
    """A NIR file from another tool: the run's graph copied to ``dst`` (in the case folder), then edited."""
    def damage(run: Path, tmp: Path) -> None:
        if src != dst:
            shutil.copy(tmp / src, tmp / dst)
        with h5py.File(tmp / dst, "r+") as f:
            edit(f)
    return damage


def unknown_node(f: h5py.File) -> None:
    node = f["node/nodes/hash_head.flatten"]
    del node["type"]
    node["type"] = "QuantumFoam"


def other_fingerprint(f: h5py.File) -> None:
    meta = f["node/metadata/spikinghash"]
    del meta["fingerprint"]
    meta["fingerprint"] = "0" * 64


def drop_T(f: h5py.File) -> None:
    del f["node/metadata/T"]


def bad_shape(f: h5py.File) -> None:
    node = f["node/nodes/hash_head.linear"]
    del node["weight"]
    node["weight"] = np.zeros((8, 3), dtype=np.float32)


def plain(path: str, data: bytes) -> Damage:
    """A file in the case folder (``path`` relative to it)."""
    def damage(run: Path, tmp: Path) -> None:
        (tmp / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / path).write_bytes(data)
    return damage
