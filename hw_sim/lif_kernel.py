"""Lava's bit-accurate LIF (``PyLifResetModelBitAcc``) as one compiled loop over time (numba).

The update is the one written out in ``neurons`` (the fixed-point behaviour of a neuron
layer); this module is only its fast realisation: every neuron's u, v, spike, wrap and
saturation in a single pass over memory, in int64 arithmetic, instead of a dozen tensor
passes per step. ``tests/hw_sim/test_neurons.py`` checks it against Lava's equations written
out one Python int at a time, and the Lava tests check it against Lava itself.
"""

from __future__ import annotations

import numba
import numpy as np

from spikinghash.hw_sim.neurons import ACT_SHIFT, DECAY_BITS, UV_MAX, VTH_SHIFT


@numba.njit(inline="always")
def _wrap32(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


@numba.njit(inline="always")
def _decay(x: int, factor: int) -> int:
    """``trunc(x · factor / 4096)`` toward zero, as Lava's ``sign(p) · (|p| >> 12)``."""
    p = x * factor
    return (p >> DECAY_BITS) if p >= 0 else -((-p) >> DECAY_BITS)


@numba.njit(cache=True, nogil=True)
def lif_steps(a_in: np.ndarray, bias: np.ndarray, du: int, dv: int, vth: int, reset_step: int, count_from: int,
              spikes: np.ndarray, v_out: np.ndarray, spikes_float: np.ndarray) -> tuple[int, int]:
    """Run ``a_in [S, M, N]`` (integer values, any numeric dtype: the int32 sum of a layer's input ports; M
    samples of N neurons) through LIF neurons with ``bias [N]`` int64 (``bias_mant << bias_exp``), state 0
    at step 0 and zeroed at the start of step ``reset_step``.

    Writes ``spikes [S, M, N]`` uint8; if ``v_out`` has S rows, v after each step (clipped, 0 where it
    fired) into ``v_out [S, M, N]`` int64; if ``spikes_float`` has S rows, the spikes again as 0.0/1.0
    (the next synapses' input). Returns (v saturations, u wraps) counted from step ``count_from``.

    One neuron at a time through all its steps, its u and v in registers: a variant that kept u and v
    in arrays and swept all neurons step by step ran 4x slower whenever the process had forked
    before (Lava does), with the same arrays; this one runs at the same speed either way.
    """
    steps, batch, n = a_in.shape
    u_factor = (1 << DECAY_BITS) - (du + 1)
    v_factor = (1 << DECAY_BITS) - dv
    vth_eff = vth << VTH_SHIFT
    keep_v = v_out.shape[0] == steps
    keep_float = spikes_float.shape[0] == steps
    saturations = 0
    wraps = 0
    for m in range(batch):
        for i in range(n):
            b = bias[i]
            u = 0
            v = 0
            for s in range(steps):
                if s == reset_step:
                    u = 0
                    v = 0
                x = _wrap32(_wrap32(np.int64(a_in[s, m, i])) << ACT_SHIFT)  # int32 port sum; a_in << 6, int32
                x = _wrap32(_decay(u, u_factor) + x)  # u <- decayed u + input
                if x > UV_MAX or x <= -UV_MAX:  # u is 24 bit: one subtraction or addition of 2**24
                    if s >= count_from:
                        wraps += 1
                    x = x - 2 * UV_MAX if x > UV_MAX else x + 2 * UV_MAX
                u = x
                h = _wrap32(_decay(v, v_factor) + x + b)  # v <- decayed v + u + bias, int32
                if h > UV_MAX - 1 or h < -UV_MAX + 1:
                    if s >= count_from:
                        saturations += 1
                    h = UV_MAX - 1 if h > 0 else -UV_MAX + 1
                fired = h > vth_eff
                if fired:
                    h = 0
                spikes[s, m, i] = fired
                if keep_float:
                    spikes_float[s, m, i] = fired
                v = h
                if keep_v:
                    v_out[s, m, i] = h
    return saturations, wraps
