"""Float vs integer over whole data splits (``spikinghash simulate --backend fast``).

Input: an :class:`IntNet` (its canonical graph inside) and frames ``[T, B, *input_shape]``
in batches; never a torch module. Per batch, the float reference (``float_sim``) and the
fast integer simulation (``fast_sim``) run on the same frames, and a :class:`Tally` keeps
what the report needs without holding any raster: per-neuron spike totals of both runs,
per-layer counts of equal spike entries, saturations and wrap-arounds.

Rates are spikes per neuron per step: ``total / (neurons · T · samples)``. Spike agreement
of a layer is the fraction of its (step, sample, neuron) entries where float and integer
agree (both runs aligned to the float model's steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.readout import predictions
from spikinghash.hw_sim.target.int_net import IntNet


@dataclass
class Tally:
    """Running sums over simulated samples; ``spikes_*[layer]`` has the layer's neuron shape."""

    steps: int = 0
    samples: int = 0
    spikes_float: dict[str, np.ndarray] = field(default_factory=dict)
    spikes_int: dict[str, np.ndarray] = field(default_factory=dict)
    agree: dict[str, int] = field(default_factory=dict)
    saturations: dict[str, int] = field(default_factory=dict)
    wraps: dict[str, int] = field(default_factory=dict)
    input_clipped: int = 0

    def add(self, float_spikes: dict[str, np.ndarray], int_spikes: dict[str, np.ndarray],
            counts: dict[str, dict[str, int]]) -> None:
        """Add one batch: rasters ``[T, B, *shape]`` per layer and fast_sim's event counters."""
        for name, f in float_spikes.items():
            i = int_spikes[name]
            self.steps = f.shape[0]
            self.spikes_float[name] = self.spikes_float.get(name, 0) + f.sum(axis=(0, 1), dtype=np.int64)
            self.spikes_int[name] = self.spikes_int.get(name, 0) + i.sum(axis=(0, 1), dtype=np.int64)
            self.agree[name] = self.agree.get(name, 0) + int(np.count_nonzero(f == i))
            self.saturations[name] = self.saturations.get(name, 0) + counts[name]["v_saturations"]
            self.wraps[name] = self.wraps.get(name, 0) + counts[name]["u_wraps"] + counts[name]["synapse_wraps"]
        self.samples += next(iter(float_spikes.values())).shape[1]
        self.input_clipped += counts["input"]["clipped"]

    def layers(self, int_net: IntNet) -> list[dict[str, Any]]:
        """The report's per-layer rows (order of the graph), see the module docstring."""
        rows = []
        for name, layer in int_net.net.neurons.items():
            neurons = int(np.prod(layer.shape))
            entries = max(neurons * self.steps * self.samples, 1)
            rows.append({"name": name, "kind": layer.kind, "neurons": neurons,
                         "rate_float": float(self.spikes_float[name].sum() / entries),
                         "rate_integer": float(self.spikes_int[name].sum() / entries),
                         "spike_agreement": self.agree[name] / entries,
                         "saturations": int(self.saturations[name]), "wraps": int(self.wraps[name])})
        return rows

    def mean_rates(self) -> tuple[float, float]:
        """Spikes per neuron per step over all layers together: (float, integer)."""
        neurons = sum(a.size for a in self.spikes_float.values())
        entries = max(neurons * self.steps * self.samples, 1)
        return (sum(float(a.sum()) for a in self.spikes_float.values()) / entries,
                sum(float(a.sum()) for a in self.spikes_int.values()) / entries)

    def counts_arrays(self) -> dict[str, np.ndarray]:
        """``hw_sim_counts.npz`` content: ``float/L``, ``integer/L`` (int64, neuron shape), ``samples``, ``T``."""
        out = {f"float/{n}": np.asarray(a, dtype=np.int64) for n, a in self.spikes_float.items()}
        out.update({f"integer/{n}": np.asarray(a, dtype=np.int64) for n, a in self.spikes_int.items()})
        out["samples"], out["T"] = np.asarray(self.samples, np.int64), np.asarray(self.steps, np.int64)
        return out


@dataclass
class SplitCodes:
    """One split from both simulations: hash codes ``[N, L]`` uint8 (Eq. 18) and, for a classifying readout,
    predicted classes ``[N]`` int64 (``readout.predictions``; None otherwise)."""

    float_codes: np.ndarray
    int_codes: np.ndarray
    float_pred: np.ndarray | None = None
    int_pred: np.ndarray | None = None


def simulate_split(int_net: IntNet, batches: Iterable[np.ndarray], tally: Tally, threads: int = 1,
                   progress: Any = None, classify: bool = False) -> SplitCodes:
    """Float and integer simulation of every batch ``[T, B, *input_shape]``; sums go into ``tally``.

    ``progress``: a tqdm-like object whose ``update(n)`` is called with each batch's size. ``classify``: also
    predict each sample's class from the output layer (spike counts, or the final membrane of a readout).
    """
    net = int_net.net
    float_codes, int_codes, float_pred, int_pred = [], [], [], []
    for x in batches:
        fr = simulate_float(net, x, batch_size=x.shape[1], threads=threads)
        ir = simulate_int(int_net, x, batch_size=x.shape[1], threads=threads)
        tally.add(fr.spikes, ir.spikes, ir.counts)
        float_codes.append(fr.codes)
        int_codes.append(ir.codes)
        if classify:
            float_pred.append(predictions(net, fr.spikes[net.output], fr.h_hash))
            int_pred.append(predictions(net, ir.spikes[net.output], ir.v_hash))
        if progress is not None:
            progress.update(x.shape[1])
    bits = int(np.prod(net.neurons[net.output].shape))
    empty = np.zeros((0, bits), np.uint8)
    join = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)) if classify else (lambda _: None)
    return SplitCodes(np.concatenate(float_codes) if float_codes else empty,
                      np.concatenate(int_codes) if int_codes else empty, join(float_pred), join(int_pred))
