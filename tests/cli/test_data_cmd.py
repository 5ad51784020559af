"""`spikinghash data ...` as a user runs it: output, files, and one-line errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = ["-o", "digits_per_class=3", "-o", "temporal_per_class=3", "-o", "batch=64"]


def cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPIKINGHASH_CACHE": str(cache), "SPIKINGHASH_DATA_ROOT": str(cache / "no-data")}
    return subprocess.run([sys.executable, "-m", "spikinghash.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_help_lists_only_working_commands(tmp_path: Path) -> None:
    r = cli("--help", cache=tmp_path)
    assert r.returncode == 0 and "data" in r.stdout


def test_list_shows_builtin_and_real_datasets(tmp_path: Path) -> None:
    r = cli("data", "list", cache=tmp_path)
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert {"dvs-digits", "nmnist", "dvs-gesture", "cifar10-dvs", "digits"} <= set(names)


def test_generate_then_inspect_writes_png_and_stats(tmp_path: Path) -> None:
    r = cli("data", "generate", "dvs-digits", *SMALL, cache=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "dvs-digits").glob("*.npz"))) == 1
    png, js = tmp_path / "out" / "s.png", tmp_path / "out" / "s.json"
    r = cli("data", "inspect", "dvs-digits", *SMALL, "-T", "4", "--out", str(png), "--json", str(js), cache=tmp_path)
    assert r.returncode == 0, r.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stats = json.loads(js.read_text())
    assert stats["query"]["samples"] + stats["database"]["samples"] == 3 * 10 + 3 * 6
    assert stats["train"]["per_class"] == stats["database"]["per_class"]
    assert "events/sample" in r.stdout and "sweep-R-L-R" in r.stdout


@pytest.mark.parametrize("args, needle", [
    (["data", "inspect", "dvs-digitz"], "unknown dataset 'dvs-digitz'; did you mean dvs-digits"),
    (["data", "generate", "nmnist"], "nothing to generate"),
    (["data", "inspect", "nmnist"], "NMNIST"),
    (["data", "inspect", "dvs-digits", "-T", "0"], "T=0"),
    (["data", "inspect", "dvs-digits", "--split", "tran"], "unknown split 'tran'"),
    (["data", "generate", "dvs-digits", "-o", "sensor_px=8"], "sensor_px=8"),
    (["data", "generate", "dvs-digits", "-o", "seed"], "KEY=VALUE"),
])
def test_bad_input_is_one_line_exit_2_no_traceback(args: list[str], needle: str, tmp_path: Path) -> None:
    r = cli(*args, cache=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
