"""Any backend against the fast simulator on a few samples: every spike compared, both timed
(``spikinghash simulate --backend lava``; ``verify.netx`` adds netx's own checks for ``--backend netx``)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from spikinghash.hw_sim.backends import run
from spikinghash.hw_sim.backends.result import BackendResult
from spikinghash.hw_sim.frontend.readout import accuracy, predictions
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.verify.compare import bit_exactness

#: Keys of :func:`~.compare.bit_exactness`'s result that are not layers.
NOT_LAYERS = ("v_hash", "codes", "states")


def differences(diff: dict[str, int]) -> dict[str, Any]:
    """A :func:`~.compare.bit_exactness` count as ``hw_sim.json`` reports it."""
    layers = {k: v for k, v in diff.items() if k not in NOT_LAYERS}
    return {"bit_exact": not any(diff.values()), "mismatched_spikes": int(sum(layers.values())),
            "mismatched_v_hash": diff["v_hash"], "mismatched_code_bits": diff["codes"],
            "mismatched_states": diff["states"], "mismatched_spikes_per_layer": layers}


def fast_samples_per_s(int_net: IntNet, frames: np.ndarray) -> float:
    """The fast simulator's samples per second on ``frames [T, B, ...]`` (one batch), after a warm-up call on the
    same frames (the compiled loop, the heap for this batch size), as ``benchmarks/bench_hw_sim.py`` measures it."""
    for _ in range(2):
        timed = run("fast", int_net, frames, batch_size=max(frames.shape[1], 1))
    return frames.shape[1] / max(timed.seconds, 1e-9)


def compare_with_fast(int_net: IntNet, frames: np.ndarray, samples: int, backend: str = "lava", *,
                      runner: Callable[..., BackendResult] | None = None, timing_frames: np.ndarray | None = None,
                      labels: np.ndarray | None = None) -> dict[str, Any]:
    """Run the first ``samples`` of ``frames [T, B, ...]`` on ``backend`` and on the fast simulator; compare every
    spike of every layer at every step, the output layer's v and the final states both observe
    (``compare.bit_exactness``).

    Speed, per sample: the backend's with its start-up (build, compile, processes) and after it; the fast
    simulator's on ``timing_frames`` (default: the compared samples, :func:`fast_samples_per_s`). ``speedup``:
    fast samples/s over the backend's after start-up. ``runner``: the backend's runner (default: the registry's;
    tests may pass another). ``labels`` (the samples' classes, for a classifying readout): adds
    ``accuracy_<backend>`` and ``accuracy_fast`` on them.
    """
    x = np.asarray(frames)[:, :samples]
    other = (runner or (lambda q, f: run(backend, q, f)))(int_net, x)
    fast = run("fast", int_net, x, batch_size=max(x.shape[1], 1))
    n = x.shape[1]
    timing = x if timing_frames is None else np.asarray(timing_frames)
    fast_rate = fast_samples_per_s(int_net, timing)
    after_startup = (other.seconds - other.setup_seconds) / max(n, 1)
    out: dict[str, Any] = {}
    if labels is not None:
        net = int_net.net
        out[f"accuracy_{backend}"] = accuracy(predictions(net, other.spikes[net.output], other.v_hash), labels[:n])
        out["accuracy_fast"] = accuracy(predictions(net, fast.spikes[net.output], fast.v_hash), labels[:n])
    return {**out, "samples": n, **differences(bit_exactness(fast, other)), "reset": other.info.get("reset"),
            "seconds_per_sample": other.seconds / max(n, 1), "seconds_per_sample_after_startup": after_startup,
            "fast_samples_per_s": fast_rate, "fast_timing_samples": int(timing.shape[1]),
            "speedup": fast_rate * after_startup}
