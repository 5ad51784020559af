"""Neuron layers: the float behaviour against NIR's Euler equations written out per neuron, the fixed-point
behaviour against Lava's bit-accurate LIF equations written out one Python int at a time."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds import KINDS
from spikinghash.hw_sim.kinds.neurons import IntNeuron

DT = 1e-3


def test_lif_float_run_is_nirs_euler_step() -> None:
    rng = np.random.default_rng(0)
    shape = (4,)
    node = nir.LIF(tau=rng.uniform(1.5, 5, shape) * DT, r=rng.uniform(0.5, 2, shape), v_leak=rng.normal(0, 0.3, shape),
                   v_threshold=rng.uniform(0.5, 1.5, shape), v_reset=np.zeros(shape))
    layer = KINDS[nir.LIF].build(node, "n", DT)
    current = rng.normal(0.5, 1.0, (20, 3, *shape))
    spikes, h, _ = layer.float_run(torch.as_tensor(current))
    for b in range(3):
        for i in range(shape[0]):
            v = 0.0
            for t in range(20):
                v = v + DT / node.tau[i] * (node.v_leak[i] - v + node.r[i] * current[t, b, i])
                assert h[t, b, i].item() == pytest.approx(v, rel=1e-12, abs=1e-12)
                fired = v > node.v_threshold[i]
                assert spikes[t, b, i].item() == fired
                v = 0.0 if fired else v
    assert 0 < spikes.float().mean() < 1


def test_if_float_run_integrates_without_leak() -> None:
    node = nir.IF(r=np.array([0.5, 2.0]), v_threshold=np.array([1.0, 1.0]), v_reset=np.zeros(2))
    layer = KINDS[nir.IF].build(node, "n", DT)
    spikes, h, _ = layer.float_run(torch.full((4, 1, 2), 0.6, dtype=torch.float64))
    # neuron 0: 0.3, 0.6, 0.9, 1.2 -> fires at t=3; neuron 1: 1.2 fires every step
    assert spikes[:, 0, 0].tolist() == [0, 0, 0, 1] and spikes[:, 0, 1].tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(h[:, 0, 0].numpy(), [0.3, 0.6, 0.9, 1.2])


def test_integrator_readout_never_fires_and_integrates_per_step() -> None:
    layer = KINDS[nir.I].build(nir.I(r=np.array([0.5, -2.0])), "n", DT)
    trace = layer.float_run(torch.full((4, 1, 2), 0.6, dtype=torch.float64))
    np.testing.assert_allclose(trace.h[:, 0].numpy(), [[0.3, -1.2], [0.6, -2.4], [0.9, -3.6], [1.2, -4.8]])
    assert trace.spikes.sum() == 0 and not layer.spiking and layer.voltage_decay_int() == 0


def test_current_decay_of_cubalif() -> None:
    def cuba(tau_syn):
        n = np.ones(2)
        return nir.CubaLIF(tau_syn=tau_syn * DT * n, tau_mem=2 * DT * n, r=n, v_leak=0 * n, v_threshold=n)
    assert KINDS[nir.CubaLIF].build(cuba(4.0), "n", DT).current_decay_int() == 1023  # round(4096 / 4) - 1
    assert KINDS[nir.CubaLIF].build(cuba(1.0), "n", DT).current_decay_int() == 4095  # no synaptic memory
    assert KINDS[nir.LIF].build(nir.LIF(tau=2 * DT * np.ones(2), r=np.ones(2), v_leak=np.zeros(2),
                                            v_threshold=np.ones(2)), "n", DT).current_decay_int() == 4095


def lava_lif_by_hand(hand, a_in: np.ndarray, du: int, dv: int, vth: int, bias: list[int], reset_step: int):
    """Lava's PyLifResetModelBitAcc per neuron over ``a_in [S, N]``; spikes, v, saturation and wrap counts."""
    steps, n = a_in.shape
    out, vs = np.zeros((steps, n), dtype=int), np.zeros((steps, n), dtype=int)
    sats = wraps = 0
    for i in range(n):
        u = v = 0
        for s in range(steps):
            if s == reset_step:
                u = v = 0
            u, v, out[s, i], sat, wrap = hand.lif_step(u, v, int(a_in[s, i]), du, dv, vth, bias[i])
            vs[s, i], sats, wraps = v, sats + sat, wraps + wrap
    return out, vs, sats, wraps


@pytest.mark.parametrize("du, dv, reset_step", [(4095, 2048, 0), (0, 0, 3), (409, 100, 5)])
def test_fixed_run_matches_lavas_equations_by_hand(hand, du: int, dv: int, reset_step: int) -> None:
    rng = np.random.default_rng(du + dv)
    a_in = rng.integers(-30_000, 60_000, (12, 5))
    a_in[4, 0] = 2**26  # a_in << 6 overflows int32
    a_in[6, 1] = 140_000  # u passes 2**23 and wraps
    mant, exp = np.array([4095, -7, 0, 300, -4096]), np.array([7, 0, 0, 0, 7])
    bias = (mant << exp).tolist()  # [4095 << 7, -7, 0, 300, -(4096 << 7)]
    expected = lava_lif_by_hand(hand, a_in, du, dv, 5000, bias, reset_step)
    trace = IntNeuron(du, dv, 5000, mant, exp).run(torch.as_tensor(a_in), reset_step, 0)
    np.testing.assert_array_equal(trace.spikes.numpy(), expected[0])
    np.testing.assert_array_equal(trace.v.numpy(), expected[1])
    assert (trace.v_saturations, trace.u_wraps) == (expected[2], expected[3])
    assert expected[2] > 0 and expected[3] > 0 and 0 < expected[0].mean() < 1


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
def test_fixed_run_of_a_batched_conv_layer_in_either_memory_layout(hand, layout: str) -> None:
    rng = np.random.default_rng(7)
    steps, batch, shape = 6, 2, (3, 2, 2)
    a_in = rng.integers(-40_000, 90_000, (steps, batch, *shape))
    mant = rng.integers(-2000, 2000, shape)  # a different bias per neuron: tiling and order matter
    bias = mant << 3
    x = torch.as_tensor(a_in)
    if layout == "channels_last":  # what the fast simulator hands over: same values, [S, B, H, W, C] in memory
        x = torch.as_tensor(np.ascontiguousarray(a_in.transpose(0, 1, 3, 4, 2))).permute(0, 1, 4, 2, 3)
        assert not x.is_contiguous()
    trace = IntNeuron(4095, 1365, 700, mant, np.full(shape, 3)).run(x, 0, 0, float_spikes=True)
    flat_bias = np.tile(bias.reshape(-1), batch).tolist()
    spikes, v, sats, wraps = lava_lif_by_hand(hand, a_in.reshape(steps, -1), 4095, 1365, 700, flat_bias, 0)
    np.testing.assert_array_equal(trace.spikes.numpy().reshape(steps, -1), spikes)
    np.testing.assert_array_equal(trace.spikes_float.numpy().reshape(steps, -1), spikes)
    np.testing.assert_array_equal(trace.v.numpy().reshape(steps, -1), v)
    assert (trace.v_saturations, trace.u_wraps) == (sats, wraps)
    assert 0.05 < spikes.mean() < 0.95


def test_voltage_decay_of_lif_and_if() -> None:
    shape = (3,)
    def lif(gamma):
        return nir.LIF(tau=np.asarray(gamma, dtype=float) * DT * np.ones(shape), r=np.ones(shape),
                       v_leak=np.zeros(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))
    assert KINDS[nir.LIF].build(lif(2.0), "n", DT).voltage_decay_int() == 2048  # round(4096 / 2)
    assert KINDS[nir.LIF].build(lif(3.0), "n", DT).voltage_decay_int() == 1365  # round(4096 / 3)
    assert KINDS[nir.LIF].build(lif(1.0), "n", DT).voltage_decay_int() == 4095  # 4096 does not fit 12 bits
    node = nir.IF(r=np.ones(shape), v_threshold=np.ones(shape), v_reset=np.zeros(shape))
    assert KINDS[nir.IF].build(node, "n", DT).voltage_decay_int() == 0
    with pytest.raises(ConfigError, match="'n'.*tau"):
        KINDS[nir.LIF].build(lif([2.0, 2.0, 3.0]), "n", DT).voltage_decay_int()
