"""``spikinghash demo [--out runs/demo]`` (= ``make demo``): the whole pipeline on dvs-digits, resumable."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from spikinghash.pipeline.demo import DEMO_CONFIG

    p = sub.add_parser("demo", help="run the pipeline end to end on dvs-digits (train, eval, export, "
                                    "simulate, energy, report)")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output run folder [runs/demo]")
    p.add_argument("--config", type=Path, default=DEMO_CONFIG, help="training settings [configs/demo.yaml]")
    p.add_argument("--lava-samples", type=int, default=4, help="samples to run through real Lava [4]")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from spikinghash.errors import ConfigError
    from spikinghash.pipeline.demo import run_demo

    if args.lava_samples < 1:
        raise ConfigError(f"--lava-samples {args.lava_samples} must be at least 1")
    run_demo(args.out, config=args.config, lava_samples=args.lava_samples)
    return 0
