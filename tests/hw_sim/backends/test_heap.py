"""keep_freed_memory: a freed 64 MiB buffer stays in the process (resident, ready for the next tensor) instead
of going back to the OS; each case runs in a fresh process, since the setting is process-wide."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import os, sys
import numpy as np
from spikinghash.hw_sim.backends.heap import keep_freed_memory

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

applied = keep_freed_memory() if sys.argv[1] == "keep" else None
before = resident()
buffer = np.ones(64 << 17)  # 64 MiB of float64, written
del buffer
print(applied, resident() - before)
"""
MIB = 1 << 20


def _run(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True).stdout
    applied, kept = out.split()
    return applied, int(kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt, /proc")
def test_freed_memory_stays_in_the_process() -> None:
    applied, kept = _run("keep")
    _, default = _run("default")
    assert applied == "True"
    assert default < 8 * MIB  # glibc's default: the buffer was mmapped and given back on free
    assert kept > 60 * MIB
