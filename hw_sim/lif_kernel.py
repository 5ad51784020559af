"""Loihi's fixed-point widths and Lava's bit-accurate LIF (``PyLifResetModelBitAcc``) as one compiled loop (numba).

Every Loihi constant of the neuron (state, decay, threshold and bias widths) is defined here,
once; ``neurons`` (the integer neuron that holds a layer's parameters), ``int_net`` and
``quantize`` import them from this module. The update, per step, with Lava's widths::

    u ← trunc(u·(4096 − (du + 1)) / 4096) + wrap32(a_in << 6)     u: 24 bit, one wrap ±2**24
    v ← clip(wrap32(trunc(v·(4096 − dv)) / 4096) + u + (bias_mant << bias_exp)), ±(2**23 − 1))
    spike iff v > vth << 6; then v ← 0                            vth: 17 bit unsigned

``trunc`` rounds toward zero; ``a_in`` is the int32 sum of all incoming synapse outputs.
``tests/hw_sim/test_neurons.py`` checks the loop against these equations written out one
Python int at a time, and the Lava tests check it against Lava itself.
"""

from __future__ import annotations

import numba
import numpy as np

UV_BITS = 24  # u, v: signed 24 bit
UV_MAX = 1 << (UV_BITS - 1)
DECAY_BITS = 12  # du, dv: unsigned 12 bit; decays are MSB-aligned to 2**12
DECAY_UNIT = 1 << DECAY_BITS
VTH_MAX = (1 << 17) - 1  # vth: unsigned 17 bit
VTH_SHIFT = 6  # vth and a_in are MSB-aligned by 6 bits
ACT_SHIFT = 6
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << 12), (1 << 12) - 1  # bias_mant: signed 13 bit
BIAS_EXP_MAX = 7  # bias_exp: unsigned 3 bit
BLOCK = 64  # neurons stepped together by the compiled loop (a few cache lines of a_in per step)


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
              spikes: np.ndarray, v_out: np.ndarray, spikes_float: np.ndarray, u_state: np.ndarray,
              v_state: np.ndarray) -> tuple[int, int]:
    """Run ``a_in [S, M, N]`` (integer values, any numeric dtype: the int32 sum of a layer's input ports; M
    samples of N neurons) through LIF neurons with ``bias [N]`` int64 (``bias_mant << bias_exp``), state
    zeroed at the start of step ``reset_step``.

    State: if ``u_state``/``v_state`` are ``[M, N]`` int64, the run starts from them and leaves the final
    state there (a recurrent layer runs one step at a time); if they have no rows, it starts from 0.
    Writes ``spikes [S, M, N]`` uint8; if ``v_out`` has S rows, v after each step (clipped, 0 where it
    fired) into ``v_out [S, M, N]`` int64; if ``spikes_float`` has S rows, the spikes again as 0.0/1.0
    (the next synapses' input). Returns (v saturations, u wraps) counted from step ``count_from``.

    A block of ``BLOCK`` neighbouring neurons at a time through all steps, their u and v in a small local
    array: each step then reads and writes a few contiguous cache lines (one neuron at a time touched one
    line per step, 3x slower on the N-MNIST CNN's 4096-neuron layers; sweeping all neurons step by step
    with u and v in full arrays ran 4x slower whenever the process had forked before, as Lava does).
    """
    steps, batch, n = a_in.shape
    u_factor = (1 << DECAY_BITS) - (du + 1)
    v_factor = (1 << DECAY_BITS) - dv
    vth_eff = vth << VTH_SHIFT
    keep_v = v_out.shape[0] == steps
    keep_float = spikes_float.shape[0] == steps
    stateful = u_state.shape[0] == batch
    saturations = 0
    wraps = 0
    us = np.zeros(BLOCK, dtype=np.int64)
    vs = np.zeros(BLOCK, dtype=np.int64)
    for m in range(batch):
        for i0 in range(0, n, BLOCK):
            width = min(BLOCK, n - i0)
            for j in range(width):
                us[j] = u_state[m, i0 + j] if stateful else 0
                vs[j] = v_state[m, i0 + j] if stateful else 0
            for s in range(steps):
                for j in range(width):
                    i = i0 + j
                    u = us[j]
                    v = vs[j]
                    if s == reset_step:
                        u = 0
                        v = 0
                    x = _wrap32(_wrap32(np.int64(a_in[s, m, i])) << ACT_SHIFT)  # int32 port sum; a_in << 6, int32
                    x = _wrap32(_decay(u, u_factor) + x)  # u <- decayed u + input
                    if x > UV_MAX or x <= -UV_MAX:  # u is 24 bit: one subtraction or addition of 2**24
                        if s >= count_from:
                            wraps += 1
                        x = x - 2 * UV_MAX if x > UV_MAX else x + 2 * UV_MAX
                    h = _wrap32(_decay(v, v_factor) + x + bias[i])  # v <- decayed v + u + bias, int32
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
                    if keep_v:
                        v_out[s, m, i] = h
                    us[j] = x
                    vs[j] = h
            if stateful:
                for j in range(width):
                    u_state[m, i0 + j] = us[j]
                    v_state[m, i0 + j] = vs[j]
    return saturations, wraps
