"""Lava's bit-accurate LIF (``PyLifResetModelBitAcc``) as one compiled loop (numba): the fixed-point step of
every neuron kind.

The widths it uses are the target's (``hw_sim.spec``, where every Loihi constant is defined once).
The update, per step::

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

from spikinghash.hw_sim.spec import ACT_SHIFT, DECAY_UNIT, DRIVE_BITS, UV_MAX, VTH_SHIFT, decay, wrap

BLOCK = 64  # neurons stepped together by the compiled loop (a few cache lines of a_in per step)


# The target's rules (``spec``), compiled into the loop.
_wrap = numba.njit(inline="always")(wrap)
_decay = numba.njit(inline="always")(decay)


@numba.njit(inline="always")
def _wrap32(x: int) -> int:
    return _wrap(x, DRIVE_BITS)


@numba.njit(cache=True, nogil=True)
def lif_steps(a_in: np.ndarray, bias: np.ndarray, du: int, dv: int, vth: int, reset_step: int, count_from: int,
              spikes: np.ndarray, v_out: np.ndarray, spikes_float: np.ndarray, u_state: np.ndarray,
              v_state: np.ndarray, from_state: bool = True) -> tuple[int, int]:
    """Run ``a_in [S, M, N]`` (integer values, any numeric dtype: the int32 sum of a layer's input ports; M
    samples of N neurons) through LIF neurons with ``bias [N]`` int64 (``bias_mant << bias_exp``), state
    zeroed at the start of step ``reset_step``.

    State: if ``u_state``/``v_state`` are ``[M, N]`` int64, the run leaves its final state there, and starts
    from them when ``from_state`` (a recurrent layer runs one step at a time), else from 0; if they have no
    rows, it starts from 0 and keeps no final state.
    Writes ``spikes [S, M, N]`` uint8; if ``v_out`` has S rows, v after each step (clipped, 0 where it
    fired) into ``v_out [S, M, N]`` int64; if ``spikes_float`` has S rows, the spikes again as 0.0/1.0
    (the next synapses' input). Returns (v saturations, u wraps) counted from step ``count_from``.

    A block of ``BLOCK`` neighbouring neurons at a time through all steps, their u and v in a small local
    array: each step then reads and writes a few contiguous cache lines (one neuron at a time touched one
    line per step, 3x slower on the N-MNIST CNN's 4096-neuron layers; sweeping all neurons step by step
    with u and v in full arrays ran 4x slower whenever the process had forked before, as Lava does).
    """
    steps, batch, n = a_in.shape
    u_factor = DECAY_UNIT - (du + 1)
    v_factor = DECAY_UNIT - dv
    vth_eff = vth << VTH_SHIFT
    keep_v = v_out.shape[0] == steps
    keep_float = spikes_float.shape[0] == steps
    stateful = u_state.shape[0] == batch
    start = stateful and from_state
    saturations = 0
    wraps = 0
    us = np.zeros(BLOCK, dtype=np.int64)
    vs = np.zeros(BLOCK, dtype=np.int64)
    for m in range(batch):
        for i0 in range(0, n, BLOCK):
            width = min(BLOCK, n - i0)
            for j in range(width):
                us[j] = u_state[m, i0 + j] if start else 0
                vs[j] = v_state[m, i0 + j] if start else 0
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
