"""``spikinghash data list | generate | inspect``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spikinghash.cli.options import parse_options
from spikinghash.errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="list, generate and inspect datasets")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = dsub.add_parser("list", help="the known datasets")
    p.set_defaults(func=cmd_list)

    for name, helptext, func in (("generate", "generate a built-in dataset into the cache", cmd_generate),
                                 ("inspect", "print statistics and write a PNG of samples", cmd_inspect)):
        p = dsub.add_parser(name, help=helptext)
        p.add_argument("name", help="dataset name (see `spikinghash data list`)")
        p.add_argument("--root", type=Path, help="folder holding a real dataset's files (or the cache folder)")
        p.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                       help="dataset option, e.g. -o seed=1 (repeatable)")
        p.set_defaults(func=func)
        if name == "generate":
            p.add_argument("--force", action="store_true", help="regenerate even if cached")
        else:
            p.add_argument("-T", type=int, default=8, help="time steps (frames) per sample in the picture [8]")
            p.add_argument("--split", default="database", help="split to draw the pictured samples from [database]")
            p.add_argument("--out", type=Path, help="PNG path [runs/data/<name>_<split>.png]")
            p.add_argument("--json", type=Path, help="also write the statistics as JSON here")


def cmd_list(args: argparse.Namespace) -> int:
    from spikinghash.data.registry import list_datasets

    for info in list_datasets():
        size = "x".join(map(str, info.sensor_size)) if info.sensor_size else "any"
        where = "needs --root" if info.needs_root else "built in"
        print(f"{info.name:12s} {info.kind:6s} {size:10s} {len(info.classes) or 'any':>3} classes  {where:12s} {info.description}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from spikinghash.data.registry import generate_dataset

    t0 = time.perf_counter()
    path = generate_dataset(args.name, root=args.root, force=args.force, **parse_options(args.option))
    print(f"{args.name}: {path} ({path.stat().st_size / 2**20:.1f} MiB, {time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from spikinghash.atomic_io import check_output_file, write_json
    from spikinghash.data.inspect import dataset_stats, plot_samples
    from spikinghash.data.frames import check_time_steps
    from spikinghash.data.registry import SPLITS, dataset_info, load_split

    check_time_steps(args.T)  # refuse bad settings before any (possibly long) work
    dataset_info(args.name)
    if args.split not in SPLITS:
        raise ConfigError(f"unknown split {args.split!r}; choose one of {', '.join(SPLITS)}")
    options = parse_options(args.option)
    out = args.out or Path("runs/data") / f"{args.name}_{args.split}.png"
    for flag, path in (("--out", out), ("--json", args.json)):
        if path is not None:
            check_output_file(path, flag)
    stats = dataset_stats(args.name, root=args.root, **options)
    for split, st in stats.items():
        line = f"{split:9s} {st['samples']:6d} samples"
        if "events_per_sample" in st:
            e = st["events_per_sample"]
            line += (f" | events/sample mean {e['mean']:.0f} (min {e['min']}, max {e['max']})"
                     f" | {st['duration_ms']:.0f} ms | mean event rate {st['event_rate_hz'] / 1000:.1f} kev/s"
                     f" | ON {st['on_fraction']:.1%}")
        print(line)
    print("per class (" + "/".join(stats) + "):")
    for cls in stats["query"]["per_class"]:
        print(f"  {cls:18s} " + " ".join(f"{stats[s]['per_class'][cls]:6d}" for s in stats))
    plot_samples(load_split(args.name, args.split, root=args.root, **options), args.T, out)
    print(f"wrote {out}")
    if args.json:
        write_json(args.json, stats)
        print(f"wrote {args.json}")
    return 0
