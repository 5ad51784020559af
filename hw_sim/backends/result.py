"""What every backend returns: one type, so that any two backends compare with one function (``verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class BackendResult:
    """One backend's run of ``B`` samples of an integer network, aligned to the float model's steps.

    Attributes:
        backend: the registry name ("fast", "lava", "netx").
        spikes: per recorded neuron layer, ``[T, B, *shape]`` uint8 (each backend has removed its own latency:
            Lava's one step per synapse layer).
        codes: ``[B, L]`` uint8, Eq. 18 of the output layer's spikes.
        v_hash: ``[T, B, *out_shape]`` int64, the output layer's v after each step (what a Lava ``Monitor`` of
            ``v`` reads; for a non-spiking readout, the value it is read by).
        states: final state per layer where the backend observes it: ``{layer: {"u": [B, *shape], "v": ...}}``
            int64 (the fast simulator: every layer, u and v; Lava: the output layer's v).
        counts: event counters per layer (``{"v_saturations", "u_wraps", "synapse_wraps"}``, the fast simulator's)
            and ``{"input": {"clipped": n}}`` (graded input values clipped to the input bits).
        seconds: wall time of the whole call (s); ``setup_seconds`` of it before the first step (building,
            compiling, starting processes; 0 for the fast simulator).
        info: the backend's own facts (Lava: the reset schedule, processes, each path's realisation; netx: the
            parameters it built, its whole rasters).
    """

    backend: str
    spikes: dict[str, np.ndarray]
    codes: np.ndarray
    v_hash: np.ndarray
    states: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    setup_seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.codes.shape[0])
