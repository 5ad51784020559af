"""Keep freed memory in the process heap, so that the simulators' large tensors reuse mapped pages.

glibc hands every allocation above ``M_MMAP_THRESHOLD`` (at most 32 MiB by its own dynamic rule)
to ``mmap`` and returns it to the OS on ``free``; the next tensor of that size then pays a page
fault per 4 KiB page the first time it is written. The fast simulator allocates such tensors
for every layer of every batch (convolution outputs, input currents, spike rasters), and on
this project's 2-core machine those page faults took a third of its time: the untrained
``spikinghash_ti_nir`` ran at 40 samples/s with glibc's defaults and 58 samples/s with freed
memory kept (``benchmarks/bench_hw_sim.py --ti``).

:func:`keep_freed_memory` is a process-wide setting (it changes what the whole process
does with freed memory), so library calls never make it; the ``simulate`` job and the
benchmark do. Peak memory is unchanged; the process just does not give memory back to the
OS while it runs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # glibc <malloc.h>
MMAP_THRESHOLD = 1 << 30  # bytes: allocations below this come from the heap
TOP_PAD = 256 << 20  # bytes: extra heap grown (and kept) at each extension
TRIM_THRESHOLD = (1 << 31) - 1  # bytes (the largest C int): keep the heap top


def keep_freed_memory() -> bool:
    """Set glibc's malloc to serve allocations below 1 GiB from the heap and keep freed memory;
    True if it was set, False where there is no glibc (the setting is an optimisation only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TOP_PAD, TOP_PAD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return all(mallopt(option, value) == 1 for option, value in settings)
