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
is simulated before its window. A recurrent path (a layer feeding itself, ``f`` steps late) is
held the same way on Lava (its buffer is zeroed when the window opens), so a recurrent layer
steps through its window one step at a time, its own spikes of step ``t - f`` added to its input
at step t. Samples are independent, as in Lava (see ``lava_net`` for
why a back-to-back Lava run gives the same windows).

Integer values travel as floats holding exact integers: float32 where bounds proved once per
network (:class:`_Plan`) keep every sum below 2**24, float64 otherwise; Lava's int32/24-bit
wrap-arounds are explicit (``synapses``) or part of the compiled LIF loop (``lif_kernel``).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from spikinghash.hw_sim.backends.result import BackendResult
from spikinghash.hw_sim.frontend.readout import hash_codes
from spikinghash.hw_sim.kinds.neurons import FixedTrace, IntNeuron
from spikinghash.hw_sim.kinds.synapses import F32_EXACT, WRAP_FREE
from spikinghash.hw_sim.target.int_net import IntNet, quantize_input
from spikinghash.hw_sim.threads import torch_threads

COUNTERS = ("v_saturations", "u_wraps", "synapse_wraps")


def _window(raster: Tensor, start: int, lo: int, hi: int) -> Tensor:
    """Steps ``[lo, hi)`` of a raster known from absolute step ``start`` on, as long as the raster itself (every
    raster spans the T steps of its window); zeros where unknown."""
    if lo == start:
        return raster
    out = torch.zeros_like(raster)  # keeps a channels-last layout
    a, b = max(lo, start), min(hi, start + raster.shape[0])
    if a < b:
        out[a - lo:b - lo] = raster[a - start:b - start]
    return out


@dataclass(frozen=True)
class _Plan:
    """Bounds proved once per network: ``sum_bound`` per path bounds ``|Σ w·x|`` (its synapse's gain times
    the largest value its source sends); ``a_in_float32`` per layer: whether the sum of its input ports
    (each at most ``sum_bound << weight_exp``, or what its realisation wraps to) stays exact in float32."""

    sum_bound: dict[str, float]
    a_in_float32: dict[str, bool]


# One plan per network, not per batch (an IntNet is validated once at construction and not changed after)
_PLANS: weakref.WeakKeyDictionary[IntNet, _Plan] = weakref.WeakKeyDictionary()


def _plan(int_net: IntNet) -> _Plan:
    if int_net in _PLANS:
        return _PLANS[int_net]
    net = int_net.net
    x_max = {net.input_name: float((1 << int_net.input_bits) - 1)}
    x_max.update({name: 1.0 for name in net.neurons})  # spikes
    sum_bound: dict[str, float] = {}
    a_in_float32: dict[str, bool] = {}
    for name in net.neurons:
        port_total = 0.0
        for path in net.paths[name]:
            q = int_net.synapses[path.key]
            bound = net.synapses[path.key].gain_bound(q.weight) * x_max[path.source]
            sum_bound[path.key] = bound
            port_total += min(bound * (1 << q.weight_exp), WRAP_FREE[q.kind])
        a_in_float32[name] = port_total < F32_EXACT
    _PLANS[int_net] = plan = _Plan(sum_bound, a_in_float32)
    return plan


def _laid_out(shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
    """Zeros ``[T, B, *shape]``; channels-last for ``[C, H, W]`` layers: oneDNN's grouped and depthwise
    convolutions (the Haar filters) run 2-6x faster on it, and the spikes keep the layout (``fixed_run``)."""
    if len(shape) != 5:
        return torch.zeros(shape, dtype=dtype)
    steps, batch, c, h, w = shape
    return torch.zeros((steps, batch, h, w, c), dtype=dtype).permute(0, 1, 4, 2, 3)


Part = tuple[dict[str, Tensor], Tensor, dict[str, dict[str, int]], dict[str, tuple[Tensor, Tensor]]]


def _simulate(int_net: IntNet, plan: _Plan, x: Tensor) -> Part:
    """One batch: per layer spikes ``[T, B, *shape]``, the output layer's v, counters and final (u, v)."""
    net = int_net.net
    steps, batch = x.shape[:2]
    rasters: dict[str, tuple[Tensor, int]] = {net.input_name: (_laid_out(x.shape, x.dtype).copy_(x), 0)}
    windows: dict[str, Tensor] = {}
    counts: dict[str, dict[str, int]] = {}
    states: dict[str, tuple[Tensor, Tensor]] = {}
    v_hash = torch.empty(0)
    for name, layer in net.neurons.items():
        lag = net.lags[name]
        a_in: Tensor | None = None
        a_in_dtype = torch.float32 if plan.a_in_float32[name] else torch.float64
        syn_wraps = 0
        for path in net.paths[name]:
            if path.recurrent:
                continue
            syn, q = net.synapses[path.key], int_net.synapses[path.key]
            arrive = 1 + net.lava_delay(path)
            src = _window(*rasters[path.source], lag - arrive, lag + steps - arrive)  # zeros before its window
            out, wrapped = syn.fixed_forward(src.reshape(steps * batch, *syn.in_shape), q.weight, q.weight_exp,
                                             q.kind, plan.sum_bound[path.key])
            out = out.reshape(steps, batch, *layer.shape)
            if a_in is None:  # a fresh tensor: the other ports add into it
                a_in = out.to(a_in_dtype)
            else:
                a_in += out
            syn_wraps += wrapped
        qn = int_net.neurons[name]
        if a_in is None:
            a_in = torch.zeros((steps, batch, *layer.shape), dtype=a_in_dtype)
        keep_v = name == net.output
        if any(p.recurrent for p in net.paths[name]):
            trace, rec_wraps = _recurrent_run(int_net, plan, name, qn, a_in, keep_v)
            syn_wraps += rec_wraps
        else:
            trace = qn.run(a_in, reset_step=0, count_from=0, keep_v=keep_v, float_spikes=True, final=True)
        rasters[name] = (trace.spikes_float, lag)
        states[name] = trace.final
        windows[name] = trace.spikes
        counts[name] = {"v_saturations": trace.v_saturations, "u_wraps": trace.u_wraps, "synapse_wraps": syn_wraps}
        if name == net.output:
            v_hash = trace.v
    return windows, v_hash, counts, states


def _recurrent_run(int_net: IntNet, plan: _Plan, name: str, qn: IntNeuron, a_in: Tensor,
                   keep_v: bool) -> tuple[FixedTrace, int]:
    """A layer feeding itself, one step at a time: at step t its own spikes of step ``t - f`` pass through each
    recurrent synapse (Lava's bits, wraps counted) into ``a_in[t]``. Returns the window's trace and the wraps."""
    net = int_net.net
    steps, batch = a_in.shape[:2]
    shape = net.neurons[name].shape
    loops = [(net.synapses[p.key], int_net.synapses[p.key], p) for p in net.paths[name] if p.recurrent]
    state = (np.zeros(batch * int(np.prod(shape)), np.int64), np.zeros(batch * int(np.prod(shape)), np.int64))
    spikes = torch.zeros((steps, batch, *shape), dtype=torch.uint8)
    as_float = torch.zeros((steps, batch, *shape), dtype=torch.float32)
    v = torch.zeros((steps, batch, *shape), dtype=torch.int64) if keep_v else None
    saturations = u_wraps = wraps = 0
    for t in range(steps):
        a_t = a_in[t:t + 1].to(torch.float64)
        for syn, q, path in loops:
            if t >= path.delay:
                out, wrapped = syn.fixed_forward(as_float[t - path.delay].reshape(batch, *syn.in_shape), q.weight,
                                                 q.weight_exp, q.kind, plan.sum_bound[path.key])
                a_t = a_t + out.reshape(1, batch, *shape).to(torch.float64)
                wraps += wrapped
        step = qn.run(a_t, reset_step=-1, count_from=0, keep_v=keep_v, float_spikes=True, state=state)
        spikes[t], as_float[t] = step.spikes[0], step.spikes_float[0]
        if v is not None:
            v[t] = step.v[0]
        saturations, u_wraps = saturations + step.v_saturations, u_wraps + step.u_wraps
    final = tuple(torch.from_numpy(s.reshape(batch, *shape)) for s in state)
    return FixedTrace(spikes, v, saturations, u_wraps, as_float, final), wraps


def _joined(parts: list[Tensor]) -> Tensor:
    """The batches' rasters along dim 1, C-contiguous (one batch: no copy when it already is)."""
    return parts[0].contiguous() if len(parts) == 1 else torch.cat(parts, dim=1).contiguous()


def simulate_int(int_net: IntNet, frames: Any, batch_size: int = 64, threads: int = 1) -> BackendResult:
    """The ``fast`` backend: ``frames [T, B, *input_shape]`` through the integer network, ``batch_size`` samples
    at a time on ``threads`` torch threads; final u and v of every layer in ``states``."""
    start = time.perf_counter()
    x, clipped = quantize_input(int_net, frames, torch.float32)  # exact: at most 16 bits
    plan = _plan(int_net)
    with torch_threads(threads):
        parts = [_simulate(int_net, plan, x[:, i:i + batch_size]) for i in range(0, x.shape[1], batch_size)]
    names = int_net.net.neurons
    spikes = {n: _joined([p[0][n] for p in parts]).numpy() for n in names}
    counts = {n: {c: sum(p[2][n][c] for p in parts) for c in COUNTERS} for n in names}
    counts["input"] = {"clipped": clipped}
    states = {n: {var: (parts[0][3][n][k] if len(parts) == 1 else torch.cat([p[3][n][k] for p in parts])).numpy()
                  for k, var in enumerate("uv")} for n in names}
    v_hash = _joined([p[1] for p in parts]).numpy()
    return BackendResult("fast", spikes, hash_codes(spikes[int_net.net.output]), v_hash, states, counts,
                         time.perf_counter() - start)
