"""Reference float simulation of a canonical NIR graph (the contract's float semantics), batched.

Within a time step every weighted node passes its output to its neuron layer at once (no
synaptic delay); a ``Delay`` of k steps shifts its input by k steps (zeros before; the
weighted node's bias still arrives every step); a recurrent path (a layer feeding itself)
delivers the spikes of step ``t - f`` (``graph.Path``). Layers are simulated one after the
other in topological order over all T steps at once; a recurrent layer steps through time
with its own spikes fed back (``neurons.NeuronLayer.float_run``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from spikinghash.hw_sim.frontend.graph import CanonicalNet, Path, as_frames
from spikinghash.hw_sim.frontend.readout import hash_codes
from spikinghash.hw_sim.threads import torch_threads


@dataclass(frozen=True)
class LayerStats:
    """What calibration needs of one neuron layer, maxima over all steps, samples and neurons.

    ``max_drive``: max |u| (the synaptic term of H, bias excluded: gain · Σ W·x, filtered for CubaLIF; Loihi's u).
    ``min_h`` / ``max_h``: extremes of the charged potential H (Eq. 1). ``max_bias``: max |gain·Σb + leak|.
    """

    max_drive: float
    min_h: float
    max_h: float
    max_bias: float


@dataclass(frozen=True)
class FloatRun:
    """``spikes``: per neuron layer ``[T, B, *shape]`` uint8; ``codes`` ``[B, L]`` (Eq. 18); ``h_hash``
    ``[T, B, L]`` float64 (the output layer's H: for a readout LI/I/CubaLI its membrane v, ``h_hash[-1]`` the
    final one); ``stats`` per layer; ``seconds`` wall time."""

    spikes: dict[str, np.ndarray]
    codes: np.ndarray
    h_hash: np.ndarray
    stats: dict[str, LayerStats]
    seconds: float


def shift_time(x: Tensor, k: int) -> Tensor:
    """``y[t] = x[t - k]`` along dim 0, zeros for t < k."""
    if k == 0:
        return x
    out = torch.zeros_like(x)
    if k < x.shape[0]:
        out[k:] = x[:-k]
    return out


def _path_drive(net: CanonicalNet, path: Path, source: Tensor) -> Tensor:
    syn = net.synapses[path.key]
    x = shift_time(source, path.delay)
    t, b = x.shape[:2]
    y = syn.float_drive(x.reshape(t * b, *syn.in_shape))
    return y.reshape(t, b, *syn.out_shape)


def _feedback(net: CanonicalNet, path: Path) -> tuple[Any, int]:
    """A recurrent path as (spikes ``[B, *shape]`` -> current ``[B, *shape]``, delay steps)."""
    syn = net.synapses[path.key]

    def drive(spikes: Tensor) -> Tensor:
        return syn.float_drive(spikes.reshape(spikes.shape[0], *syn.in_shape)).reshape(spikes.shape)

    return drive, path.delay


def _simulate(net: CanonicalNet, x: Tensor) -> tuple[dict[str, Tensor], Tensor, dict[str, LayerStats]]:
    rasters: dict[str, Tensor] = {net.input_name: x}
    stats: dict[str, LayerStats] = {}
    h_hash = torch.empty(0)
    for name, layer in net.neurons.items():
        forward = [p for p in net.paths[name] if not p.recurrent]
        drive = sum(_path_drive(net, p, rasters[p.source]) for p in forward)
        bias = sum(torch.as_tensor(net.synapses[p.key].bias) for p in net.paths[name])
        trace = layer.float_run(drive, bias, [_feedback(net, p) for p in net.paths[name] if p.recurrent])
        step_bias = torch.as_tensor(layer.gain) * bias + torch.as_tensor(layer.leak)
        stats[name] = LayerStats(float(trace.u.abs().max()), float(trace.h.min()), float(trace.h.max()),
                                 float(step_bias.abs().max()))
        rasters[name] = trace.spikes
        if name == net.output:
            h_hash = trace.h
    del rasters[net.input_name]
    return rasters, h_hash, stats


def simulate_float(net: CanonicalNet, frames: Any, batch_size: int = 64, threads: int = 1) -> FloatRun:
    """Run ``frames [T, B, *input_shape]`` (numpy or torch) through ``net`` in float64, ``batch_size``
    samples at a time on ``threads`` torch threads."""
    start = time.perf_counter()
    x = as_frames(frames, net)
    with torch_threads(threads):
        parts = [_simulate(net, x[:, i:i + batch_size]) for i in range(0, x.shape[1], batch_size)]
    spikes = {n: torch.cat([p[0][n] for p in parts], dim=1).numpy() for n in net.neurons}
    stats = {n: LayerStats(max(p[2][n].max_drive for p in parts), min(p[2][n].min_h for p in parts),
                           max(p[2][n].max_h for p in parts), max(p[2][n].max_bias for p in parts))
             for n in net.neurons}
    h_hash = torch.cat([p[1] for p in parts], dim=1).numpy()
    return FloatRun(spikes, hash_codes(spikes[net.output]), h_hash, stats, time.perf_counter() - start)
