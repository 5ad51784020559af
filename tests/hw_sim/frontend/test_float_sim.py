"""The float simulation of a NIR graph against the rich test graph's equations written out with torch
operators and NIR's neuron equations, and the Delay semantics against a hand calculation."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikinghash.errors import DataError
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import parse

DT = 1e-3


def nir_neurons(node, current: torch.Tensor) -> torch.Tensor:
    """NIR LIF / IF with reset to 0, vectorised over neurons, straight from the node's parameters."""
    p = {k: torch.as_tensor(getattr(node, k)) for k in ("r", "v_threshold")}
    v, out = torch.zeros(current.shape[1:], dtype=torch.float64), []
    for t in range(current.shape[0]):
        if isinstance(node, nir.LIF):
            v = v + DT / torch.as_tensor(node.tau) * (torch.as_tensor(node.v_leak) - v + p["r"] * current[t])
        else:
            v = v + p["r"] * current[t]
        s = v > p["v_threshold"]
        out.append(s)
        v = torch.where(s, 0.0, v)
    return torch.stack(out).to(torch.uint8)


def rich_reference(g: nir.NIRGraph, x: torch.Tensor) -> dict[str, torch.Tensor]:
    n = g.nodes
    t = lambda a: torch.as_tensor(a)  # noqa: E731
    steps = x.shape[0]

    def over_time(fn, seq):
        return torch.stack([fn(seq[i]) for i in range(steps)])

    s1 = nir_neurons(n["n1"], over_time(lambda f: F.conv2d(f, t(n["c1"].weight), t(n["c1"].bias), padding=1), x))
    s1f = s1.to(torch.float64)
    i2 = over_time(lambda f: F.conv2d(f, t(n["c2"].weight), t(n["c2"].bias), stride=2, padding=1)
                   + F.avg_pool2d(f, 2) * 4, s1f)
    s2 = nir_neurons(n["n2"], i2)
    x_late = torch.cat([torch.zeros_like(x[:1]), x[:-1]])  # Delay of one step
    i3 = s2.to(torch.float64) * t(n["sc"].scale) + over_time(
        lambda f: F.conv2d(f, t(n["c3"].weight), t(n["c3"].bias), stride=2, padding=1), x_late)
    s3 = nir_neurons(n["n3"], i3)
    flat = lambda s: s.to(torch.float64).reshape(steps, x.shape[1], -1)  # noqa: E731
    i4 = flat(s3) @ t(n["a1"].weight).T + t(n["a1"].bias) + flat(s2) @ t(n["lin"].weight).T
    return {"n1": s1, "n2": s2, "n3": s3, "n4": nir_neurons(n["n4"], i4)}


def test_rich_graph_matches_its_equations(graphs, count_frames) -> None:
    for seed in (0, 1):
        g = graphs.rich(seed)
        x = count_frames(5, 6, seed)
        run = simulate_float(parse(g), x)
        ref = rich_reference(g, torch.as_tensor(x))
        for name, spikes in ref.items():
            assert spikes.float().mean() > 0.02  # the layer really fires
            np.testing.assert_array_equal(run.spikes[name], spikes.numpy(), err_msg=name)
        np.testing.assert_array_equal(run.codes, ref["n4"].numpy().all(axis=0))
        assert set(run.stats) == {"n1", "n2", "n3", "n4"}


def test_delay_shifts_the_input_and_the_bias_arrives_every_step() -> None:
    nodes = {"in": nir.Input(input_type={"input": np.array([3])}), "d": nir.Delay(delay=np.full(3, 2 * DT)),
             "a": nir.Affine(weight=np.eye(3), bias=np.full(3, 0.125)),
             "n": nir.IF(r=np.ones(3), v_threshold=np.full(3, 0.5), v_reset=np.zeros(3)),
             "out": nir.Output(output_type={"output": np.array([3])})}
    g = nir.NIRGraph(nodes=nodes, edges=[("in", "d"), ("d", "a"), ("a", "n"), ("n", "out")],
                     metadata={"dt": DT}, type_check=False)
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=float)[:, None]
    run = simulate_float(parse(g), x)
    # input arrives 2 steps late; 0.125 bias per step; strict threshold 0.5
    expected_h = [[0.125, 0.125, 0.125], [0.25, 0.25, 0.25], [1.375, 0.375, 0.375], [0.125, 1.5, 0.5],
                  [0.25, 0.125, 0.625]]
    np.testing.assert_array_equal(run.h_hash[:, 0], expected_h)
    np.testing.assert_array_equal(run.spikes["n"][:, 0], [[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_batches_are_independent(graphs, count_frames) -> None:
    net, x = parse(graphs.rich(2)), count_frames(4, 5, 3)
    whole, pieces = simulate_float(net, x), simulate_float(net, x, batch_size=2)
    for name in net.neurons:
        np.testing.assert_array_equal(whole.spikes[name], pieces.spikes[name])


def test_frames_of_the_wrong_shape_are_a_data_error(graphs) -> None:
    with pytest.raises(DataError, match=r"\[T, B, 2, 6, 6\]"):
        simulate_float(parse(graphs.rich(0)), np.zeros((4, 2, 2, 6, 5)))
    with pytest.raises(DataError, match="NaN"):
        simulate_float(parse(graphs.rich(0)), np.full((4, 2, 2, 6, 6), np.nan))
