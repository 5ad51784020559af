"""The integer network's contract: range checks against the target's widths, and the graded input coding computed
by hand."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.kinds.neurons import IntNeuron
from spikinghash.hw_sim.target.int_net import IntNet, IntSynapse, quantize_input


def _net(graphs, **changes) -> IntNet:
    syn = {"a0->n1": IntSynapse(np.full((3, 4), 2), 0, "matrix"), "a1->n2": IntSynapse(np.full((2, 3), 2), 0, "matrix")}
    neu = {"n1": IntNeuron(4095, 0, 10, np.zeros(3, dtype=int), np.zeros(3, dtype=int)),
           "n2": IntNeuron(4095, 0, 10, np.zeros(2, dtype=int), np.zeros(2, dtype=int))}
    for key, value in changes.items():
        (syn if "->" in key else neu)[key] = value
    return IntNet(parse(graphs.chain()), syn, neu)


@pytest.mark.parametrize("change, message", [
    ({"a0->n1": IntSynapse(np.array([[3, -2, 0, 0]] * 3), 0, "matrix")}, "8-bit mantissas"),
    ({"a0->n1": IntSynapse(np.full((3, 4), 2), 8, "matrix")}, "weight_exp"),
    ({"a0->n1": IntSynapse(np.full((3, 4), 2), 0, "conv")}, "kind='conv'"),
    ({"n1": IntNeuron(4095, 0, 1 << 17, np.zeros(3, dtype=int), np.zeros(3, dtype=int))}, "vth"),
    ({"n1": IntNeuron(4095, 0, 10, np.full(3, 5000), np.zeros(3, dtype=int))}, "bias_mant"),
    ({"n1": IntNeuron(4096, 0, 10, np.zeros(3, dtype=int), np.zeros(3, dtype=int))}, "du"),
])
def test_out_of_range_integers_are_rejected(graphs, change: dict, message: str) -> None:
    _net(graphs)  # the unchanged network is valid
    with pytest.raises(ConfigError, match=message):
        _net(graphs, **change)


def test_graded_input_coding_by_hand(graphs) -> None:
    q = _net(graphs)
    q = IntNet(q.net, q.synapses, q.neurons, input_quantum=0.5, input_bits=3)
    frames = np.array([[[0.2, 0.3, 3.4, 9.0]], [[-1.0, 0.74, 1.25, 3.5]]])  # [T=2, B=1, 4]
    x, clipped = quantize_input(q, frames)
    # x / 0.5, rounded half to even, clipped to [0, 7]: 0.4->0, 0.6->1, 6.8->7, 18->7; -2->0, 1.48->1, 2.5->2, 7
    assert x[:, 0].tolist() == [[0, 1, 7, 7], [0, 1, 2, 7]] and clipped == 2
