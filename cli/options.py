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
