"""Spike counts of a NIR graph's neuron layers: the dict every NIR-side energy figure is counted from.

The deploy step writes it to ``RUN_DIR/hw_sim_counts.npz``: for every neuron layer ``L`` the keys
``"float/L"`` and/or ``"integer/L"`` = per-neuron spike totals over all samples and steps (the
layer's neuron shape), and the scalars ``"samples"`` and ``"T"``. :func:`spike_counts` builds the
same dict from simulator rasters; :mod:`.activity` counts a graph's activity from it.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from spikinghash.errors import DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet


def spike_counts(rasters: Mapping[str, Mapping[str, np.ndarray]], steps: int) -> dict[str, np.ndarray]:
    """The ``hw_sim_counts.npz`` dict from spike rasters: ``rasters`` maps a view ("float" / "integer") to
    per-layer spikes ``[T, B, *shape]`` (the ``spikes`` of a ``FloatRun`` / ``IntRun``), same B in all."""
    out: dict[str, np.ndarray] = {}
    samples = 0
    for view, layers in rasters.items():
        for layer, raster in layers.items():
            out[f"{view}/{layer}"] = np.asarray(raster, dtype=np.int64).sum(axis=(0, 1))
            samples = raster.shape[1]
    out["samples"], out["T"] = np.array(samples), np.array(steps)
    return out


def load_spike_counts(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a spike-count file; :class:`DataError` if it is missing or lacks ``samples``/``T``."""
    if not os.path.isfile(path):
        raise DataError(f"spike-count file {os.fspath(path)!r} not found; run `spikinghash simulate RUN_DIR "
                        "--backend fast` first")
    with np.load(path) as f:
        counts = {k: f[k] for k in f.files}
    if "samples" not in counts or "T" not in counts or int(counts["samples"]) < 1:
        raise DataError(f"{os.fspath(path)} lacks the scalars 'samples' (>= 1) and 'T'; write it again")
    return counts


def has_view(counts: Mapping[str, np.ndarray], net: CanonicalNet, view: str) -> bool:
    """Whether ``counts`` hold ``view``'s spikes for every neuron layer of ``net``."""
    return all(f"{view}/{n}" in counts for n in net.neurons)
