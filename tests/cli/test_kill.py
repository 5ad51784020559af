"""SIGKILL at random points, as a user's crash or OOM-killer does it, then the command again.

Each command (``train``, ``eval``, ``simulate``, ``qat``) runs as its own process and is killed with
SIGKILL at points drawn from a seeded generator (reproducible): a random delay after start-up,
a random moment inside an epoch (mid-batch), the moment a checkpoint, index or NIR file is being
written (its temporary file has appeared). After every kill no artifact may be half-written (each
file parses completely; only the hidden temporary files of atomic writes may stay behind), and
after the command is run again (``--resume`` where a checkpoint exists) the final weights,
metrics, codes and simulation figures equal those of an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import yaml

from spikinghash.hw_sim.frontend.read import read_checked
from spikinghash.train.checkpoint import load_checkpoint

from .bad_inputs import TINY_CONFIG

pytestmark = pytest.mark.slow

CONFIG = TINY_CONFIG.replace("epochs: 1", "epochs: 4").replace(
    "digits_per_class: 2, temporal_per_class: 2", "digits_per_class: 6, temporal_per_class: 3")
SIMULATE = ("--calib", "4", "--limit", "8", "--quiet")
QAT = ("--epochs", "3", "--calib", "4", "--quiet")
TIMING_KEYS = {"samples_per_s", "wall_s", "eval_s", "wall_seconds", "run"}
SEED = 20261204
TEMP = re.compile(r"^\..+\.tmp")  # atomic_io's temporary files: the only thing a kill may leave behind


assert "epochs: 4" in CONFIG and "digits_per_class: 6" in CONFIG


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def cli(*argv: str | Path, log: Path) -> subprocess.Popen:
    with open(log, "ab") as fh:
        return subprocess.Popen([sys.executable, "-m", "spikinghash.cli.main", *map(str, argv)], stdout=fh,
                                stderr=subprocess.STDOUT, env=_env())


def finish(*argv: str | Path, log: Path) -> None:
    proc = cli(*argv, log=log)
    assert proc.wait(timeout=300) == 0, log.read_text()[-2000:]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Uninterrupted runs: ``A`` (train, eval, simulate) and ``A/qat`` (fine-tuned from A)."""
    top = tmp_path_factory.mktemp("kill")
    (top / "kill.yaml").write_text(CONFIG)
    a, log = top / "A", top / "reference.log"
    finish("train", "--config", top / "kill.yaml", "--out", a, "--quiet", log=log)
    finish("eval", a, log=log)
    finish("simulate", a, *SIMULATE, log=log)
    finish("qat", a, "--out", top / "AQ", *QAT, log=log)
    return top


# --- kill points ----------------------------------------------------------------------------------

Trigger = Callable[[], bool]


def temp_of(folder: Path, name: str) -> Trigger:
    """True while ``name`` is being written (its atomic temporary file exists)."""
    return lambda: folder.is_dir() and any(p.name.startswith(f".{name}.") for p in folder.iterdir())


def epochs_logged(folder: Path) -> int:
    try:  # the file may be replaced (or first written) between any two looks at it
        return len((folder / "metrics.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


def one_more_epoch(folder: Path) -> Trigger:
    start = epochs_logged(folder)
    return lambda: epochs_logged(folder) > start


def kill_at(proc: subprocess.Popen, trigger: Trigger, delay: float, timeout: float = 300) -> bool:
    """SIGKILL ``proc`` ``delay`` s after ``trigger`` first holds; True if it was still running then."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not trigger():
        assert time.monotonic() < deadline, "the command hung"
        time.sleep(0.001)
    end = time.monotonic() + delay
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.001)
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    code = proc.wait()
    assert code in (0, -signal.SIGKILL), f"exit {code}"
    return alive


def assert_complete(folder: Path) -> None:
    """Every artifact in ``folder`` reads completely; the only other files are atomic writes' temporaries."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.name.startswith("."):
            assert TEMP.match(p.name), p
        elif p.suffix == ".json":
            assert isinstance(json.loads(p.read_text()), dict), p
        elif p.suffix == ".jsonl":
            text = p.read_text()
            assert text == "" or text.endswith("\n"), p
            [json.loads(line) for line in text.splitlines()]
        elif p.suffix == ".yaml":
            assert isinstance(yaml.safe_load(p.read_text()), dict), p
        elif p.suffix == ".pt":
            load_checkpoint(p)
        elif p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as f:
                [f[k] for k in f.files]
        elif p.suffix == ".nir":
            read_checked(p)
        elif p.suffix == ".png":
            data = p.read_bytes()
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), p
        else:
            raise AssertionError(f"unexpected file {p}")


def same_weights(a: Path, b: Path) -> None:
    sa, sb = (torch.load(p / "checkpoint.pt", weights_only=True) for p in (a, b))
    assert sa["epoch"] == sb["epoch"] and sa["step"] == sb["step"]
    assert sa["model"].keys() == sb["model"].keys()
    for k in sa["model"]:
        assert torch.equal(sa["model"][k], sb["model"][k]), k


def metrics(folder: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING_KEYS}
            for line in (folder / "metrics.jsonl").read_text().splitlines()]


def report(path: Path) -> dict:
    return {k: v for k, v in json.loads(path.read_text()).items() if k not in TIMING_KEYS}


def _kill_plan(rng: random.Random, kinds: list[str]) -> list[tuple[str, float]]:
    """Shuffled kill kinds, each with its delay in seconds (drawn from ``rng``)."""
    rng.shuffle(kinds)
    delays = {"start-up": (0.5, 4.0), "mid-epoch": (0.0, 0.25), "writing": (0.0, 0.0)}
    return [(kind, rng.uniform(*delays[kind.split(":")[0]])) for kind in kinds]


def _trigger(kind: str, folder: Path) -> Trigger:
    if kind == "start-up":
        return lambda: True
    if kind == "mid-epoch":
        return one_more_epoch(folder)
    return temp_of(folder, kind.split(":")[1])


def test_issue16_8_killed_commands_resume_to_the_uninterrupted_result(reference: Path) -> None:
    top, rng, landed = reference, random.Random(SEED), []
    a, b, q, log = top / "A", top / "B", top / "Q", top / "killed.log"

    def train_argv() -> list:
        resume = (b / "checkpoint.pt").is_file()
        return ["train", "--out", b, "--quiet", *(["--resume"] if resume else ["--config", top / "kill.yaml"])]

    def qat_argv() -> list:
        return ["qat", a, "--out", q, *QAT, *(["--resume"] if (q / "checkpoint.pt").is_file() else [])]

    stages: list[tuple[str, Callable[[], list], Path, list[str]]] = [
        ("train", train_argv, b, ["start-up", "mid-epoch", "mid-epoch", "mid-epoch", "writing:checkpoint.pt",
                                  "writing:checkpoint.pt"]),
        ("eval", lambda: ["eval", b], b, ["start-up", "writing:index.npz"]),
        ("simulate", lambda: ["simulate", b, *SIMULATE], b, ["start-up", "writing:model.nir",
                                                             "writing:hw_sim_counts.npz"]),
        ("qat", qat_argv, q, ["start-up", "mid-epoch", "writing:checkpoint.pt"]),
    ]
    for name, argv, folder, kinds in stages:
        for kind, delay in _kill_plan(rng, kinds):
            proc = cli(*argv(), log=log)
            if kill_at(proc, _trigger(kind, folder), delay):
                landed.append(f"{name} {kind} +{delay:.2f}s")
            assert_complete(folder)
        finish(*argv(), log=log)
        assert_complete(folder)

    print(f"{len(landed)} kill points landed: " + "; ".join(landed))
    assert len(landed) >= 10, landed
    same_weights(a, b)
    assert metrics(a) == metrics(b)
    assert report(a / "eval.json") == report(b / "eval.json")
    for name in ("codes.npz", "hw_sim_codes.npz", "hw_sim_counts.npz"):
        with np.load(a / name) as fa, np.load(b / name) as fb:
            assert fa.files == fb.files and all(np.array_equal(fa[k], fb[k]) for k in fa.files), name
    assert report(a / "hw_sim.json") == report(b / "hw_sim.json")
    same_weights(top / "AQ", q)
    assert metrics(top / "AQ") == metrics(q)
    assert json.loads((top / "AQ" / "qat.json").read_text())["scales"] == json.loads((q / "qat.json").read_text())["scales"]
