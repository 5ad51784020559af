"""Tests for train/checkpoint.py: RNG round trips, weights-only files, atomic rotation, clear errors."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.errors import DataError
from spikinghash.train import checkpoint as ck


def draws() -> tuple:
    """Numbers from every global generator, including numpy's cached second Gaussian."""
    return (random.random(), random.gauss(0, 1), np.random.rand(3).tolist(), np.random.randn(1).tolist(),
            torch.rand(3).tolist(), torch.randn(2).tolist())


def test_rng_state_survives_a_weights_only_file(tmp_path: Path) -> None:
    ck.seed_everything(123)
    np.random.randn(1)  # odd number of Gaussians: numpy now holds a cached one
    random.gauss(0, 1)  # and so does Python's random
    state = ck.capture_rng()
    assert state["numpy"]["has_gauss"] == 1 and state["python"]["gauss_next"] is not None
    torch.save(state, tmp_path / "rng.pt")
    expected = draws()
    ck.seed_everything(999)
    ck.restore_rng(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert draws() == expected


def test_seed_everything_seeds_all_three_generators() -> None:
    ck.seed_everything(5)
    first = draws()
    ck.seed_everything(5)
    assert draws() == first
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    assert draws() == first


def test_save_keeps_the_previous_checkpoint_and_loads_weights_only(tmp_path: Path) -> None:
    ck.save_checkpoint(tmp_path, {"epoch": 1, "w": torch.ones(2)})
    ck.save_checkpoint(tmp_path, {"epoch": 2, "w": torch.zeros(2)})
    latest = ck.load_checkpoint(tmp_path / ck.CHECKPOINT)
    previous = torch.load(tmp_path / ck.PREVIOUS, weights_only=True)
    assert (latest["format"], latest["epoch"], previous["epoch"]) == (ck.FORMAT, 2, 1)
    assert torch.equal(latest["w"], torch.zeros(2)) and torch.equal(previous["w"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([ck.CHECKPOINT, ck.PREVIOUS])


def test_a_failed_save_leaves_the_old_checkpoint_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ck.save_checkpoint(tmp_path, {"epoch": 1})
    before = (tmp_path / ck.CHECKPOINT).read_bytes()

    def half_write(obj: object, path: Path) -> None:
        Path(path).write_bytes(b"PK\x03\x04 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(ck.torch, "save", half_write)
    with pytest.raises(OSError, match="disk full"):
        ck.save_checkpoint(tmp_path, {"epoch": 2})
    assert (tmp_path / ck.CHECKPOINT).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [ck.CHECKPOINT]


class Opaque:
    """Not a tensor or plain value: weights-only loading must refuse it."""


def test_unusable_files_give_one_line_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no checkpoint at .*without --resume"):
        ck.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="is unreadable") as err:
        ck.load_checkpoint(tmp_path / "junk.pt")
    assert "\n" not in str(err.value)
    torch.save({"format": ck.FORMAT, "obj": Opaque()}, tmp_path / "pickled.pt")
    with pytest.raises(DataError, match="refused for safety") as err:
        ck.load_checkpoint(tmp_path / "pickled.pt")
    assert "weights_only" not in str(err.value) and ck.PREVIOUS not in str(err.value)
    torch.save({"format": 99}, tmp_path / "future.pt")
    with pytest.raises(DataError, match="format 99"):
        ck.load_checkpoint(tmp_path / "future.pt")
