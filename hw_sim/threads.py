"""Run a block with a given number of torch CPU threads, then restore the previous number."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """The simulators step through time on tensors of a few MB; on a shared 2-core machine one thread ran
    them 5-10x faster than two (measured: 660 vs 40-100 samples/s on benchmarks/bench_hw_sim.py)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
