"""Batched integer simulation of an :class:`IntNet`, bit-exact with the Lava run of ``lava_net``.

It reproduces the Lava schedule, not just the arithmetic: Lava step s of a sample is the
float step ``s - lag[n]`` of neuron layer n; a path delivers its source's step s' at Lava
step ``s' + 1 + lava_delay``; LIFReset zeroes u and v at the start of Lava step ``lag[n]``.
Every source raster is zero before the source's window (float step < 0): a layer's window
then sees exactly what the float model sees, a float ``Delay`` of k steps included (NIR:
``y[t] = x[t - k]``, zeros before step 0). What a layer fires before its window on Lava (it
runs on its bias, from zeros or the previous sample's state, until its LIFReset) reaches a later window only through a path whose
float Delay holds it in flight when the source's window opens; Lava discards it there
(``lava_build.build_graph``: a ``Reset`` zeroes that path's activation buffer), so no layer
is simulated before its window. Samples are independent, as in Lava (see ``lava_net`` for
why a back-to-back Lava run gives the same windows).

Integer values travel as float64 holding exact integers (far below 2**53), with Lava's
int32/24-bit wrap-arounds made explicit (``neurons``, ``synapses``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from spikinghash.hw_sim.int_net import IntNet, quantize_input
from spikinghash.hw_sim.neurons import NeuronLayer, wrap32
from spikinghash.hw_sim.readout import hash_codes
from spikinghash.hw_sim.synapses import reaches
from spikinghash.hw_sim.threads import torch_threads

COUNTERS = ("v_saturations", "u_wraps", "synapse_wraps")


@dataclass(frozen=True)
class IntRun:
    """``spikes``: per neuron layer ``[T, B, *shape]`` uint8, aligned to float steps (Lava's latency removed);
    ``codes`` ``[B, L]`` (Eq. 18); ``v_hash`` ``[T, B, L]`` int64: the hash layer's v after each step (what a
    Lava Monitor of ``v`` reads); ``counts``: per layer ``COUNTERS`` and ``{"input": {"clipped": n}}``."""

    spikes: dict[str, np.ndarray]
    codes: np.ndarray
    v_hash: np.ndarray
    counts: dict[str, dict[str, int]]
    seconds: float


def _window(raster: Tensor, start: int, lo: int, hi: int) -> Tensor:
    """Steps ``[lo, hi)`` of a raster known from absolute step ``start`` on, as float64 (exact integers); zeros
    where unknown."""
    out = torch.zeros((hi - lo, *raster.shape[1:]), dtype=torch.float64)
    a, b = max(lo, start), min(hi, start + raster.shape[0])
    if a < b:
        out[a - lo:b - lo] = raster[a - start:b - start]
    return out


def _simulate(int_net: IntNet, x: Tensor) -> tuple[dict[str, Tensor], Tensor, dict[str, dict[str, int]]]:
    net = int_net.net
    steps, batch = x.shape[:2]
    rasters: dict[str, tuple[Tensor, int]] = {net.input_name: (x, 0)}
    windows: dict[str, Tensor] = {}
    counts: dict[str, dict[str, int]] = {}
    v_hash = torch.empty(0)
    for name, layer in net.neurons.items():
        lag = net.lags[name]
        a_in = torch.zeros((steps, batch, *layer.shape), dtype=torch.float64)
        syn_wraps = 0
        for path in net.paths[name]:
            syn, q = net.synapses[path.key], int_net.synapses[path.key]
            arrive = 1 + net.lava_delay(path)
            src = _window(*rasters[path.source], lag - arrive, lag + steps - arrive)  # zeros before its window
            out, wrapped = syn.fixed_forward(src.reshape(steps * batch, *syn.in_shape), q.weight, q.weight_exp, q.kind)
            a_in += out.reshape(a_in.shape)
            syn_wraps += int(wrapped.sum())
        qn = int_net.neurons[name]
        if reaches(a_in, 1 << 31):  # Lava sums its input ports in int32
            a_in = wrap32(a_in.to(torch.int64)).to(torch.float64)
        trace = NeuronLayer.fixed_run(a_in, qn.du, qn.dv, qn.vth, torch.as_tensor(qn.bias()),
                                      reset_step=0, count_from=0)
        rasters[name] = (trace.spikes, lag)
        windows[name] = trace.spikes
        counts[name] = {"v_saturations": trace.v_saturations, "u_wraps": trace.u_wraps, "synapse_wraps": syn_wraps}
        if name == net.output:
            v_hash = trace.v()
    return windows, v_hash, counts


def simulate_int(int_net: IntNet, frames: Any, batch_size: int = 64, threads: int = 1) -> IntRun:
    """Run ``frames [T, B, *input_shape]`` through the integer network, ``batch_size`` samples at a time
    on ``threads`` torch threads."""
    start = time.perf_counter()
    x, clipped = quantize_input(int_net, frames)
    with torch_threads(threads):
        parts = [_simulate(int_net, x[:, i:i + batch_size]) for i in range(0, x.shape[1], batch_size)]
    names = int_net.net.neurons
    spikes = {n: torch.cat([p[0][n] for p in parts], dim=1).numpy() for n in names}
    counts = {n: {c: sum(p[2][n][c] for p in parts) for c in COUNTERS} for n in names}
    counts["input"] = {"clipped": clipped}
    v_hash = torch.cat([p[1] for p in parts], dim=1).numpy()
    return IntRun(spikes, hash_codes(spikes[int_net.net.output]), v_hash, counts, time.perf_counter() - start)
