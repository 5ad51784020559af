"""Compare simulations: float vs integer (quality of the deployment) and backend vs backend (bit-exactness).

All runs hand over spikes already aligned to the float model's steps (``[T, B, *shape]``;
the integer runs have cut Lava's per-layer latency away), so comparisons are elementwise.
Results are plain dicts of floats/ints and arrays, ready for JSON reports.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from spikinghash.errors import DataError
from spikinghash.hw_sim.backends.result import BackendResult


class Spiking(Protocol):
    """What a float run (``frontend.float_sim.FloatRun``) and a backend's run (``BackendResult``) share."""

    spikes: dict[str, np.ndarray]
    codes: np.ndarray


def _common(a: Spiking, b: Spiking) -> list[str]:
    layers = [n for n in a.spikes if n in b.spikes]
    for n in layers:
        if a.spikes[n].shape != b.spikes[n].shape:
            raise DataError(f"layer {n!r}: spike rasters of shapes {a.spikes[n].shape} and {b.spikes[n].shape}; "
                            "compare runs of the same graph on the same samples")
    return layers


def layer_agreement(a: Spiking, b: Spiking) -> dict[str, dict[str, float]]:
    """Per layer: fraction of (step, sample, neuron) entries with equal spikes, and both firing rates
    (spikes per neuron per step)."""
    return {n: {"agreement": float(np.mean(a.spikes[n] == b.spikes[n])),
                "rate_a": float(np.mean(a.spikes[n])), "rate_b": float(np.mean(b.spikes[n]))}
            for n in _common(a, b)}


def code_agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """For two code matrices ``[N, L]``: fraction of equal bits, of samples with identical codes, and the
    mean Hamming distance (1, 1, 0 for no samples)."""
    if a.shape != b.shape:
        raise DataError(f"codes of shapes {a.shape} and {b.shape}; compare the same samples")
    if not a.size:
        return {"bit_agreement": 1.0, "code_agreement": 1.0, "mean_hamming": 0.0}
    diff = a != b
    return {"bit_agreement": float(1.0 - diff.mean()), "code_agreement": float(np.mean(~diff.any(axis=1))),
            "mean_hamming": float(diff.sum(axis=1).mean())}


def hash_agreement(a: Spiking, b: Spiking) -> dict[str, float]:
    """:func:`code_agreement` of two runs' codes."""
    return code_agreement(a.codes, b.codes)


def compare_float_int(float_run: Spiking, int_run: Spiking) -> dict[str, Any]:
    """Float vs integer: per-layer agreement and rates (``rate_a`` = float, ``rate_b`` = integer),
    hash-bit agreement, and both code matrices ``[B, L]`` (for mAP: ``pipeline.simulate.codes_map``)."""
    return {"layers": layer_agreement(float_run, int_run), "hash": hash_agreement(float_run, int_run),
            "codes_float": float_run.codes, "codes_int": int_run.codes}


def bit_exactness(a: BackendResult, b: BackendResult) -> dict[str, int]:
    """Counts of differences between two backends' runs over the samples both ran (the first ``N`` of the longer
    one): spikes per layer both recorded, ``"v_hash"`` (the output layer's v at every step), ``"codes"`` bits,
    and ``"states"`` (final u/v entries both observed). All 0 = bit-exact. Either order gives the same counts."""
    n = min(a.samples, b.samples)
    out = {}
    for layer in [name for name in b.spikes if name in a.spikes]:
        mine, theirs = a.spikes[layer][:, :n], b.spikes[layer][:, :n]
        if mine.shape != theirs.shape:
            raise DataError(f"layer {layer!r}: rasters {mine.shape} vs {theirs.shape}; run the same graph and frames")
        out[layer] = int(np.count_nonzero(mine != theirs))
    out["v_hash"] = int(np.count_nonzero(a.v_hash[:, :n] != b.v_hash[:, :n]))
    out["codes"] = int(np.count_nonzero(a.codes[:n] != b.codes[:n]))
    out["states"] = sum(int(np.count_nonzero(a.states[layer][var][:n] != values[:n]))
                        for layer, held in b.states.items() if layer in a.states
                        for var, values in held.items() if var in a.states[layer])
    return out
