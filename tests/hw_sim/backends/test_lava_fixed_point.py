"""Lava runs on Python 3.11 (through spikinghash.hw_sim's import fix) and its fixed-point
Dense → LIF behaves exactly as Loihi's documented integer equations, computed by hand here."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import spikinghash.hw_sim.backends.lava  # noqa: F401  (installs the Lava 3.11 fix)


def _trunc_shift12(x: int) -> int:
    """Loihi's decay product rescaling: divide by 4096, truncating toward zero."""
    return -((-x) >> 12) if x < 0 else x >> 12


def hand_dense_lif(spikes: np.ndarray, w: np.ndarray, du: int, dv: int, vth: int, bias_mant: int,
                   bias_exp: int) -> tuple[np.ndarray, list[int], list[int]]:
    """Loihi's integer Dense → LIF, one Python int at a time.

    - Mixed-sign 8-bit weights: clipped to [-256, 255], lowest bit dropped (even values).
    - A synapse layer delivers its sum one time step later.
    - u ← trunc(u·(4096 − (du+1)) / 4096) + (a_in << 6), wrapping at 24 bits.
    - v ← trunc(v·(4096 − dv) / 4096) + u + (bias_mant << bias_exp), clipped to ±(2²³ − 1).
    - spike when v > vth << 6, then v ← 0 (u keeps its value).
    """
    n_out, n_in = w.shape
    steps = spikes.shape[1]
    weff = [[(max(-256, min(255, int(w[i, j]))) >> 1) << 1 for j in range(n_in)] for i in range(n_out)]
    u, v = [0] * n_out, [0] * n_out
    out = np.zeros((n_out, steps), dtype=int)
    for t in range(steps):
        for i in range(n_out):
            a_in = sum(weff[i][j] for j in range(n_in) if t >= 1 and spikes[j, t - 1]) if t >= 1 else 0
            x = _trunc_shift12(u[i] * (4096 - (du + 1))) + (a_in << 6)
            if x > 2**23:
                x -= 2**24
            elif x <= -(2**23):
                x += 2**24
            u[i] = x
            v[i] = max(-(2**23) + 1, min(2**23 - 1, _trunc_shift12(v[i] * (4096 - dv)) + u[i] + (bias_mant << bias_exp)))
            if v[i] > (vth << 6):
                out[i, t] = 1
                v[i] = 0
    return out, u, v


def run_lava(spikes: np.ndarray, w: np.ndarray, **lif: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF

    steps = spikes.shape[1]
    src, dense = Source(data=spikes.astype(float)), Dense(weights=w, num_weight_bits=8)
    neuron, sink = LIF(shape=(w.shape[0],), **lif), Sink(shape=(w.shape[0],), buffer=steps)
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(neuron.a_in)
    neuron.s_out.connect(sink.a_in)
    neuron.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        return sink.data.get().astype(int), neuron.u.get().astype(int), neuron.v.get().astype(int)
    finally:
        neuron.stop()


def test_lava_compiler_imports_on_this_python() -> None:
    import lava.magma.compiler.var_model as vm

    assert hash(vm.ByteEncoder()) == hash(vm.ByteEncoder())  # hashable: the 3.11 fix is in place


def test_lava_imports_after_multiprocessing_was_used() -> None:
    # A fresh interpreter in which tqdm has already taken a multiprocessing lock (which
    # fixes the default start context) must still import and use Lava.
    code = ("import tqdm, multiprocessing as mp; tqdm.tqdm(range(1)).close(); mp.RLock(); "
            "import spikinghash.hw_sim.backends.lava; from lava.proc.dense.process import Dense; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


@pytest.mark.parametrize("seed", [0, 1])
def test_dense_lif_fixed_point_matches_hand_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_in, n_out, steps = 5, 4, 12
    spikes = (rng.random((n_in, steps)) < 0.5).astype(int)
    # Odd weights and one beyond 8 bits exercise the truncation and the clipping.
    w = rng.integers(-120, 121, (n_out, n_in))
    w[0, 0] = 301
    lif = dict(du=409, dv=1024, vth=90, bias_mant=5, bias_exp=3)
    s_lava, u_lava, v_lava = run_lava(spikes, w, **lif)
    s_hand, u_hand, v_hand = hand_dense_lif(spikes, w, **lif)
    assert s_hand.sum() > 0 and (s_hand == 0).sum() > 0  # the case really exercises firing and silence
    np.testing.assert_array_equal(s_lava, s_hand)
    np.testing.assert_array_equal(u_lava, u_hand)
    np.testing.assert_array_equal(v_lava, v_hand)


def test_current_wraps_at_24_bits_and_voltage_saturates() -> None:
    # 8 inputs × 254 << 6 = 130,048 per step with almost no current decay: u passes 2**23
    # after ~65 steps and wraps to negative; v saturates at 2**23 - 1 long before.
    spikes = np.ones((8, 70), dtype=int)
    w = np.full((1, 8), 254)
    lif = dict(du=0, dv=0, vth=131071, bias_mant=0, bias_exp=0)
    s_lava, u_lava, v_lava = run_lava(spikes, w, **lif)
    s_hand, u_hand, v_hand = hand_dense_lif(spikes, w, **lif)
    assert u_hand[0] < 0  # the wrap-around really happened
    np.testing.assert_array_equal(s_lava, s_hand)
    np.testing.assert_array_equal(u_lava, u_hand)
    np.testing.assert_array_equal(v_lava, v_hand)
