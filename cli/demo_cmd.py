"""``spikinghash demo``: the whole pipeline on the built-in dataset (grows with the project)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the pipeline end to end on dvs-digits")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder [runs/demo]")
    p.add_argument("-T", type=int, default=8, help="time steps per sample [8]")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from spikinghash.atomic_io import write_json
    from spikinghash.data.inspect import dataset_stats, plot_samples
    from spikinghash.data.registry import generate_dataset, load_split

    from spikinghash.data.frames import check_time_steps

    check_time_steps(args.T)
    t0 = time.perf_counter()
    print("[1/2] dataset: dvs-digits (generated on first use, then cached)")
    path = generate_dataset("dvs-digits")
    print(f"      {path}")
    print("[2/2] inspect: statistics and frame strips")
    stats = dataset_stats("dvs-digits")
    write_json(args.out / "data_stats.json", stats)
    png = plot_samples(load_split("dvs-digits", "database"), args.T, args.out / "dvs_digits_samples.png")
    for split, st in stats.items():
        print(f"      {split:9s} {st['samples']:5d} samples, {st['events_per_sample']['mean']:.0f} events/sample")
    print(f"done in {time.perf_counter() - t0:.1f} s: {args.out / 'data_stats.json'}, {png}")
    return 0
