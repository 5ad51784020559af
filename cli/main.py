"""Entry point of the ``spikinghash`` command: subcommands register themselves here."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from spikinghash import __version__
from spikinghash.errors import UserError

# Each module has `register(subparsers)`; a subcommand is listed only once it works.
_COMMAND_MODULES = (
    "spikinghash.cli.data_cmd",
    "spikinghash.cli.train_cmd",
    "spikinghash.cli.qat_cmd",
    "spikinghash.cli.eval_cmd",
    "spikinghash.cli.export_cmd",
    "spikinghash.cli.simulate_cmd",
    "spikinghash.cli.energy_cmd",
    "spikinghash.cli.report_cmd",
    "spikinghash.cli.demo_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (each subcommand sets ``func``)."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="spikinghash",
        description="Spiking neural networks for deep hashing: data, training, retrieval, "
        "deployment to a Loihi-like integer target, and energy.",
    )
    parser.add_argument("--version", action="version", version=f"spikinghash {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in _COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line to stderr and exit 2, with no traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
