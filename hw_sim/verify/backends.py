"""Lava vs the fast simulator on a few samples: every spike compared, and both timed
(``spikinghash simulate --backend lava``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from spikinghash.hw_sim.verify.compare import bit_exactness
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.frontend.readout import accuracy, predictions


def lava_vs_fast(int_net: IntNet, frames: np.ndarray, samples: int, run_lava: Any = None,
                 timing_frames: np.ndarray | None = None, labels: np.ndarray | None = None) -> dict[str, Any]:
    """Run the first ``samples`` of ``frames [T, B, ...]`` on Lava and on the fast simulator; compare every
    spike of every layer at every step (``compare.bit_exactness``).

    Speed, per sample: Lava's with its start-up (build, compile, processes) and after it; the fast
    simulator's on ``timing_frames`` (default: the compared samples) after a warm-up call on them, as
    ``benchmarks/bench_hw_sim.py`` measures it. ``speedup``: fast samples/s over Lava's after start-up.
    ``run_lava``: the Lava runner (default ``lava_net.run_lava``; tests may pass another). ``labels`` (the
    samples' classes, for a classifying readout): adds ``accuracy_lava`` and ``accuracy_fast`` on them.
    """
    if run_lava is None:
        from spikinghash.hw_sim.backends.lava.run import run_lava
    x = np.asarray(frames)[:, :samples]
    lava = run_lava(int_net, x)
    fast = simulate_int(int_net, x, batch_size=max(x.shape[1], 1))
    diff = bit_exactness(fast, lava)
    layers = {k: v for k, v in diff.items() if k not in ("v_hash", "codes")}
    n = x.shape[1]
    timing = x if timing_frames is None else np.asarray(timing_frames)
    for _ in range(2):  # the first call warms up (the compiled loop, the heap for this batch size)
        timed = simulate_int(int_net, timing, batch_size=max(timing.shape[1], 1))
    fast_rate = timing.shape[1] / max(timed.seconds, 1e-9)
    after_startup = (lava.seconds - getattr(lava, "setup_seconds", 0.0)) / max(n, 1)
    out: dict[str, Any] = {}
    if labels is not None:
        net = int_net.net
        out["accuracy_lava"] = accuracy(predictions(net, lava.spikes[net.output], lava.v_hash), labels[:n])
        out["accuracy_fast"] = accuracy(predictions(net, fast.spikes[net.output], fast.v_hash), labels[:n])
    return {**out, "samples": n, "bit_exact": not any(diff.values()), "mismatched_spikes": int(sum(layers.values())),
            "mismatched_v_hash": diff["v_hash"], "mismatched_code_bits": diff["codes"],
            "mismatched_spikes_per_layer": layers, "reset": getattr(lava, "reset", None),
            "seconds_per_sample": lava.seconds / max(n, 1),
            "seconds_per_sample_after_startup": after_startup,
            "fast_samples_per_s": fast_rate, "fast_timing_samples": int(timing.shape[1]),
            "speedup": fast_rate * after_startup}
