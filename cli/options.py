"""Small parsing helpers shared by subcommands."""

from __future__ import annotations

import argparse
import json
from typing import Any

from spikinghash.errors import ConfigError


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``["seed=1", "name=x"]`` → ``{"seed": 1, "name": "x"}`` (values parsed as JSON when they can be)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"option {pair!r} is not KEY=VALUE (example: -o seed=1)")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (``--batch-size``, ``--threads``, ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give one of at least 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; give an integer of at least 1")
    return value


def add_graph_options(parser: argparse.ArgumentParser, out_help: str,
                      option_flags: tuple[str, ...] = ("-o", "--option")) -> None:
    """The options of a NIR-file target (``GRAPH.nir``): the data that feeds it (a dataset, or the user's own
    frames), and the output folder; ``option_flags``: the dataset options' flags (``export netx`` keeps ``-o``
    for its output file)."""
    from pathlib import Path

    g = parser.add_argument_group("a NIR file (GRAPH.nir): its data, one of --data and --inputs")
    g.add_argument("--data", help="registered dataset whose frames feed the graph (see `spikinghash data list`)")
    g.add_argument("--inputs", type=Path, metavar="FILE.npz",
                   help="your own data: 'frames' [N, T, C, H, W] or [N, T, F] (time-major per sample, counts, not "
                        "normalised) with 'labels' [N]; or 'events' (x, y, t, p), 'offsets' [N+1], 'sensor_size' "
                        "[W, H, P] with 'labels' [N] (binned into --T steps)")
    g.add_argument("--root", type=Path, help="folder holding the dataset's files")
    g.add_argument("--out", type=Path, help=out_help)
    g.add_argument("--T", type=int, help="time steps per sample, if the graph's metadata does not say")
    g.add_argument(*option_flags, dest="option", action="append", metavar="KEY=VALUE",
                   help="dataset option (repeatable)")


def graph_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``pipeline.targets.open_target`` for a NIR file."""
    return {"data": args.data, "inputs": args.inputs, "root": args.root, "out": args.out,
            "T": args.T, "options": parse_options(args.option) if args.option else None}
