"""Shared settings of the paper-claim experiments (``table11_temporal_pairs.py``, ``table12_swm_vs_ssa.py``,
``hash_bn.py``): the small model, the seeds, the one-thread rule, mean ± std, result files.

Every experiment runs on this project's shared 2-core CPU with one thread per process (run it
under ``nice -n 15``), seeds one after the other, and writes ``experiments/results/<name>.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported

import argparse
import dataclasses
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from spikinghash.atomic_io import write_json
from spikinghash.train.config import TrainConfig, resolve_config

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (0, 1, 2)
#: Spikinghash-Ti's stages and widths (Table I), narrowed where it is cheap to do so on a CPU:
#: stem 8 channels instead of 32, MLP ratio 2 instead of 4, one DWT level instead of 2.
SMALL_TI = {"stem_dim": 8, "mlp_ratio": 2.0, "dwt_levels": 1}


def one_thread() -> None:
    """One intra-op thread: six people share two cores."""
    torch.set_num_threads(1)


def claim_parser(description: str, name: str, epochs: int) -> argparse.ArgumentParser:
    """The options every claim script shares (the script adds its own before ``parse_args``)."""
    import tempfile

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", type=Path, help="base training settings [the built-in dvs-digits setting]")
    p.add_argument("--root", help="dataset root for --config")
    p.add_argument("--epochs", type=int, help=f"[{epochs}, or the config's]")
    p.add_argument("--batch", type=int, help="[16, or the config's]")
    p.add_argument("-T", type=int, help="[4, or the config's]")
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    p.add_argument("--name", default=name)
    p.add_argument("--runs", type=Path, default=Path(tempfile.gettempdir()) / "spikinghash_claims" / name.split("_")[0])
    return p


def base_config(args: argparse.Namespace, built_in: TrainConfig) -> TrainConfig:
    """``args.config``'s settings (with ``args.root``), or a copy of ``built_in``; then --epochs, --batch, -T."""
    cfg = resolve_config(args.config, {"data_root": args.root}) if args.config else dataclasses.replace(built_in)
    for key, value in (("epochs", args.epochs), ("batch_size", args.batch), ("T", args.T)):
        if value is not None:
            setattr(cfg, key, value)
    return cfg


def mean_std(values: list[float]) -> dict[str, Any]:
    """``{"mean", "std" (sample, n - 1), "n", "values"}`` of per-seed results."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "n": len(values), "values": values}


def fmt(stat: dict[str, Any], scale: float = 100.0) -> str:
    """``"82.1 ± 3.4"`` (percent by default)."""
    return f"{stat['mean'] * scale:.1f} ± {stat['std'] * scale:.1f}"


def machine() -> dict[str, Any]:
    return {"cpu": platform.processor() or platform.machine(), "torch_threads": torch.get_num_threads(),
            "load_average_at_end": list(os.getloadavg()), "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """``experiments/results/<name>.json`` (atomically) with the machine description added."""
    path = RESULTS / f"{name}.json"
    write_json(path, {**payload, "machine": machine()})
    return path
