"""The fast integer simulator against Lava's schedule written out step by step (synapses send last step's
sum, LIFReset zeroes each layer when its window opens), one sample and one neuron at a time.
Bit-exactness against Lava itself is in test_lava_net.py."""

from __future__ import annotations

import numpy as np

from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.kinds.neurons import IntNeuron
from spikinghash.hw_sim.target.int_net import IntNet, IntSynapse
from spikinghash.hw_sim.target.quantize import quantize

W0 = np.array([[254, -256, 6, 2], [100, 0, -40, 8], [2, 2, 2, 2]])
W1 = np.array([[200, -100, 50], [0, 254, 254]])
N1 = dict(du=4095, dv=1024, vth=900, bias=[40, -3000, 4095 << 3])
N2 = dict(du=0, dv=2048, vth=2000, bias=[0, 77])


def _chain_int_net(graphs) -> IntNet:
    n1 = IntNeuron(N1["du"], N1["dv"], N1["vth"], np.array([40, -3000, 4095]), np.array([0, 0, 3]))
    n2 = IntNeuron(N2["du"], N2["dv"], N2["vth"], np.array([0, 77]), np.array([0, 0]))
    return IntNet(parse(graphs.chain()), {"a0->n1": IntSynapse(W0, 2, "matrix"), "a1->n2": IntSynapse(W1, 6, "matrix")},
                  {"n1": n1, "n2": n2}, input_bits=8)


def lava_schedule_by_hand(hand, x: np.ndarray):
    """Lava steps of the chain for one sample ``x [T, 4]``: windows of n1 (steps 1..T) and n2 (2..T+1)."""
    steps = x.shape[0]
    buf0, buf1 = [0] * 3, [0] * 2
    state = {"n1": [[0, 0] for _ in range(3)], "n2": [[0, 0] for _ in range(2)]}
    s1_all, s2_all, v2_all, sats, final = [], [], [], 0, {}
    for s in range(steps + 2):
        frame = x[s] if s < steps else np.zeros(4, dtype=int)
        a1, buf0 = buf0, [hand.wrap32(int(W0[i] @ frame) << 2) for i in range(3)]  # send, then accumulate
        if s == 1:
            state["n1"] = [[0, 0] for _ in range(3)]  # LIFReset at lag 1
        s1 = []
        for i, uv in enumerate(state["n1"]):
            u, v, spike, sat, _ = hand.lif_step(*uv, a1[i], N1["du"], N1["dv"], N1["vth"], N1["bias"][i])
            state["n1"][i], sats = [u, v], sats + (sat and 1 <= s <= steps)
            s1.append(spike)
        a2, buf1 = buf1, [hand.wrap32(int(W1[i] @ np.array(s1)) << 6) for i in range(2)]
        if s == 2:
            state["n2"] = [[0, 0] for _ in range(2)]
        s2, v2 = [], []
        for i, uv in enumerate(state["n2"]):
            u, v, spike, _, _ = hand.lif_step(*uv, a2[i], N2["du"], N2["dv"], N2["vth"], N2["bias"][i])
            state["n2"][i] = [u, v]
            s2.append(spike)
            v2.append(v)
        s1_all.append(s1)
        s2_all.append(s2)
        v2_all.append(v2)
        if s == steps:  # the last step of n1's window (Lava steps 1..T)
            final["n1"] = np.array(state["n1"]).T  # [u, v] rows
    final["n2"] = np.array(state["n2"]).T  # n2's window ends at Lava step T + 1
    return np.array(s1_all[1:steps + 1]), np.array(s2_all[2:]), np.array(v2_all[2:]), sats, final


def test_chain_matches_lavas_schedule_by_hand(graphs, hand) -> None:
    q = _chain_int_net(graphs)
    x = np.random.default_rng(0).integers(0, 256, (9, 5, 4)).astype(float)
    run = simulate_int(q, x)
    total_sats = 0
    for b in range(5):
        s1, s2, v2, sats, final = lava_schedule_by_hand(hand, x[:, b].astype(int))
        np.testing.assert_array_equal(run.spikes["n1"][:, b], s1)
        np.testing.assert_array_equal(run.spikes["n2"][:, b], s2)
        np.testing.assert_array_equal(run.v_hash[:, b], v2)
        for layer in ("n1", "n2"):  # the final state of each window, u and v
            np.testing.assert_array_equal(run.states[layer]["u"][b], final[layer][0])
            np.testing.assert_array_equal(run.states[layer]["v"][b], final[layer][1])
        total_sats += sats
    assert run.counts["n1"]["v_saturations"] == total_sats > 0  # the case really saturates
    assert 0 < run.spikes["n2"].mean() < 1 and 0 < run.spikes["n1"].mean() < 1
    np.testing.assert_array_equal(run.codes, run.spikes["n2"].all(axis=0))


def test_samples_are_independent(graphs, count_frames) -> None:
    net, x = parse(graphs.rich(1)), count_frames(4, 6, 2)
    q = quantize(net, x)
    whole, single = simulate_int(q, x), simulate_int(q, x, batch_size=1)
    for name in net.neurons:
        np.testing.assert_array_equal(whole.spikes[name], single.spikes[name])
    np.testing.assert_array_equal(whole.v_hash, single.v_hash)
