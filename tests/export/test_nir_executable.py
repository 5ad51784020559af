"""The NIR interpreter (export/nir_executable.py) against hand computations and loops."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikinghash.export.nir_executable import NIRExecutable, grouped_conv2d
from spikinghash.models.lif import LIFParams, lif_multistep

DT = 1e-3


def _run(nodes: dict, edges: list, x: torch.Tensor) -> NIRExecutable:
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT}, type_check=False)
    return NIRExecutable(graph, dtype=torch.float64)(x)


def _module(executable: NIRExecutable, node: str) -> torch.nn.Module:
    key = next(k for k, name in executable.names.items() if name == node)
    return getattr(executable.module, key)


def _lif(shape: tuple[int, ...], gamma: float, v_th: float) -> nir.LIF:
    ones = np.ones(shape)
    return nir.LIF(tau=gamma * DT * ones, r=ones, v_leak=0 * ones, v_threshold=v_th * ones, v_reset=0 * ones)


@pytest.mark.parametrize(("gamma", "v_th"), [(1.0, 0.5), (2.0, 1.0), (1.75, 0.8), (4.0, 0.25)])
def test_nir_lif_with_tau_gamma_dt_is_our_lif(gamma: float, v_th: float) -> None:
    """The contract's mapping tau = γ·dt, r = 1, v_leak = v_reset = 0 reproduces Eqs. 1–3."""
    gen = torch.Generator().manual_seed(0)
    current = torch.randn(12, 3, 50, generator=gen, dtype=torch.float64) * 1.5
    nodes = {"input": nir.Input(np.array([50])), "w": nir.Scale(scale=np.ones(50)), "sn": _lif((50,), gamma, v_th),
             "output": nir.Output(np.array([50]))}
    run = _run(nodes, [("input", "w"), ("w", "sn"), ("sn", "output")], current)
    ours = lif_multistep(current, LIFParams(tau=gamma, v_threshold=v_th)).spikes
    assert torch.equal(run.output, ours) and 0 < ours.mean() < 1
    assert torch.equal(run.code, ours.prod(dim=0))


def test_if_neuron_integrates_without_leak() -> None:
    current = torch.tensor([[0.4], [0.4], [0.4], [-0.2], [0.9], [0.1]], dtype=torch.float64)
    ones = np.ones(1)
    nodes = {"input": nir.Input(np.array([1])), "w": nir.Scale(scale=ones),
             "sn": nir.IF(r=2 * ones, v_threshold=ones, v_reset=0 * ones), "output": nir.Output(np.array([1]))}
    run = _run(nodes, [("input", "w"), ("w", "sn"), ("sn", "output")], current.unsqueeze(1))
    # v: 0.8, 1.6 -> spike, reset 0; 0.8, 0.4, 2.2 -> spike; 0.2
    assert run.output.flatten().tolist() == [0, 1, 0, 0, 1, 0]


def test_fan_in_delay_flatten_affine_by_hand() -> None:
    """Two paths into one neuron (one of them delayed 2 steps), then Flatten -> Affine -> neuron."""
    x = torch.zeros(5, 1, 1, 2, 2, dtype=torch.float64)
    x[0, 0, 0, 0, 0] = 1.0
    x[1, 0, 0, 1, 1] = 1.0
    ones = np.ones((1, 2, 2))
    nodes = {
        "input": nir.Input(np.array([1, 2, 2])),
        "now": nir.Scale(scale=0.5 * ones), "late": nir.Delay(delay=2 * DT * ones), "past": nir.Scale(scale=3.0 * ones),
        "a": nir.IF(r=ones, v_threshold=0.25 * ones, v_reset=0 * ones),
        "flat": nir.Flatten(input_type={"input": np.array([1, 2, 2])}, start_dim=0),
        "fc": nir.Affine(weight=np.array([[1.0, 0, 0, 0], [0, 0, 0, 1.0]]), bias=np.array([0.0, -0.5])),
        "code": nir.IF(r=np.ones(2), v_threshold=0.5 * np.ones(2), v_reset=np.zeros(2)),
        "output": nir.Output(np.array([2])),
    }
    edges = [("input", "now"), ("now", "a"), ("input", "late"), ("late", "past"), ("past", "a"),
             ("a", "flat"), ("flat", "fc"), ("fc", "code"), ("code", "output")]
    run = _run(nodes, edges, x)
    a = run.spikes["a"][:, 0, 0]
    # pixel (0,0): 0.5 at t=0 -> spike; 3.0 at t=2 -> spike. pixel (1,1): 0.5 at t=1, 3.0 at t=3.
    assert a[:, 0, 0].tolist() == [1, 0, 1, 0, 0] and a[:, 1, 1].tolist() == [0, 1, 0, 1, 0]
    assert a.sum() == 4
    # bit 0 reads pixel (0,0) (fires when it does); bit 1 reads pixel (1,1) minus 0.5 every step.
    assert run.output[:, 0, 0].tolist() == [1, 0, 1, 0, 0]
    assert run.output[:, 0, 1].tolist() == [0, 0, 0, 0, 0]


def test_per_element_delays_shift_each_element() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(6, 2, 3, generator=gen, dtype=torch.float64)
    steps = np.array([0, 1, 3])
    nodes = {"input": nir.Input(np.array([3])), "d": nir.Delay(delay=steps * DT), "w": nir.Scale(scale=np.ones(3)),
             "sn": nir.IF(r=np.ones(3), v_threshold=np.full(3, 1e9), v_reset=np.zeros(3)),
             "output": nir.Output(np.array([3]))}
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "d"), ("d", "w"), ("w", "sn"), ("sn", "output")],
                         metadata={"dt": DT}, type_check=False)
    executable = NIRExecutable(graph, dtype=torch.float64)
    seen = []
    _module(executable, "d").register_forward_hook(lambda m, i, o: seen.append(o[0]))
    executable(x)
    delayed = torch.stack(seen)
    for t in range(6):
        for i, k in enumerate(steps):
            expected = x[t - k, :, i] if t >= k else torch.zeros(2, dtype=torch.float64)
            assert torch.equal(delayed[t, :, i], expected)


@pytest.mark.parametrize(("groups", "stride", "padding", "dilation", "kernel"),
                         [(1, 1, 0, 1, 1), (4, 1, 2, 2, 3), (2, 2, 1, 1, 3), (4, 1, 0, 1, 1), (1, 1, 1, 3, 3)])
def test_grouped_conv2d_equals_torch_conv(groups: int, stride: int, padding: int, dilation: int, kernel: int) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 8, 7, 6, generator=gen, dtype=torch.float64)
    w = torch.randn(12, 8 // groups, kernel, kernel, generator=gen, dtype=torch.float64)
    b = torch.randn(12, generator=gen, dtype=torch.float64)
    pair = lambda v: (v, v)  # noqa: E731
    got = grouped_conv2d(x, w, b, pair(stride), pair(padding), pair(dilation), groups)
    torch.testing.assert_close(got, F.conv2d(x, w, b, stride, padding, dilation, groups), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", [nir.SumPool2d, nir.AvgPool2d])
def test_pooling_nodes_against_a_loop(kind: type) -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, 1, 2, 4, 4, generator=gen, dtype=torch.float64)
    nodes = {"input": nir.Input(np.array([2, 4, 4])),
             "pool": kind(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
             "sn": nir.IF(r=np.ones((2, 2, 2)), v_threshold=np.full((2, 2, 2), 1e9), v_reset=np.zeros((2, 2, 2))),
             "output": nir.Output(np.array([2, 2, 2]))}
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "pool"), ("pool", "sn"), ("sn", "output")],
                         metadata={"dt": DT}, type_check=False)
    executable = NIRExecutable(graph, dtype=torch.float64)
    seen = []
    _module(executable, "pool").register_forward_hook(lambda m, i, o: seen.append(o))
    executable(x)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                total = x[0, 0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2].sum().item()
                expected = total if kind is nir.SumPool2d else total / 4
                assert seen[0][0, c, i, j].item() == pytest.approx(expected, rel=1e-12)
