"""Small hand-built NIR graphs in the deployment contract's canonical form, shared by the hw_sim tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import nir
import numpy as np
import pytest

DT = 1e-3


def lif(shape: tuple[int, ...], gamma: float = 2.0, vth: float = 1.0) -> nir.LIF:
    return nir.LIF(tau=np.full(shape, gamma * DT), r=np.ones(shape), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, vth), v_reset=np.zeros(shape))


def if_neuron(shape: tuple[int, ...], r: float = 0.5, vth: float = 1.0) -> nir.IF:
    return nir.IF(r=np.full(shape, r), v_threshold=np.full(shape, vth), v_reset=np.zeros(shape))


def conv(rng: np.random.Generator, cin: int, cout: int, hw: tuple[int, int], k: int = 3, stride: int = 1,
         pad: int = 1, std: float = 0.6) -> nir.Conv2d:
    return nir.Conv2d(input_shape=hw, weight=rng.normal(0.0, std, (cout, cin, k, k)), stride=stride,
                      padding=pad, dilation=1, groups=1, bias=rng.normal(0.1, 0.2, cout))


def affine(rng: np.random.Generator, n_in: int, n_out: int, std: float = 0.6, bias: float = 0.1) -> nir.Affine:
    return nir.Affine(weight=rng.normal(0.0, std, (n_out, n_in)), bias=rng.normal(bias, 0.2, n_out))


def flatten(shape: tuple[int, ...]) -> nir.Flatten:
    return nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)


def delay(shape: tuple[int, ...], steps: int) -> nir.Delay:
    return nir.Delay(delay=np.full(shape, steps * DT))


def rich_graph(seed: int) -> nir.NIRGraph:
    """Every node type and both alignment mechanisms; Delays only from the Input.

    in[2,6,6] -c1 conv-> n1[4,6,6] -c2 conv s2-> n2[4,3,3] -sc scale-> n3 (IF)[4,3,3] -fl1,a1-> n4[8] -> out
    n1 -pool sumpool 2x2-> n2 (fan-in);  in -d0 delay 1, c3 conv s2-> n3 (fan-in, Lava delay 3);
    n2 -fl2, lin linear-> n4 (fan-in, Lava delay 1)
    """
    rng = np.random.default_rng(seed)
    nodes = {
        "in": nir.Input(input_type={"input": np.array([2, 6, 6])}),
        "c1": conv(rng, 2, 4, (6, 6), std=0.5),
        "n1": lif((4, 6, 6)),
        "c2": conv(rng, 4, 4, (6, 6), stride=2, std=0.6),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "n2": lif((4, 3, 3), gamma=3.0),
        "sc": nir.Scale(scale=rng.uniform(0.5, 2.5, (4, 3, 3))),
        "d0": delay((2, 6, 6), 1),
        "c3": conv(rng, 2, 4, (6, 6), stride=2, std=0.4),
        "n3": if_neuron((4, 3, 3)),
        "fl1": flatten((4, 3, 3)),
        "a1": affine(rng, 36, 8, std=0.3, bias=2.1),
        "fl2": flatten((4, 3, 3)),
        "lin": nir.Linear(weight=rng.normal(0.0, 0.4, (8, 36))),
        "n4": lif((8,), gamma=4.0, vth=0.5),
        "out": nir.Output(output_type={"output": np.array([8])}),
    }
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "c2"), ("c2", "n2"), ("n1", "pool"), ("pool", "n2"),
             ("n2", "sc"), ("sc", "n3"), ("in", "d0"), ("d0", "c3"), ("c3", "n3"), ("n3", "fl1"),
             ("fl1", "a1"), ("a1", "n4"), ("n2", "fl2"), ("fl2", "lin"), ("lin", "n4"), ("n4", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT, "T": 5}, type_check=False)


def neuron_delay_graph(seed: int) -> nir.NIRGraph:
    """A Delay path from a neuron layer (Lava zeroes its buffer when n1's window opens).

    in[6] -a0-> n0[5] -a1-> n1[5] -{d1 delay 2, a2 | a3}-> n2[4] -> out; n1 has biases above threshold,
    so it fires before its own step 0 on Lava (spikes the delayed path must not deliver).
    """
    rng = np.random.default_rng(seed)
    a1 = affine(rng, 5, 5)
    a1.bias[:2] = 3.0  # gain 1/2 · 3 > v_th: fires from bias alone
    nodes = {"in": nir.Input(input_type={"input": np.array([6])}), "a0": affine(rng, 6, 5, std=1.0),
             "n0": lif((5,)), "a1": a1, "n1": lif((5,)), "d1": delay((5,), 2), "a2": affine(rng, 5, 4),
             "a3": affine(rng, 5, 4), "n2": lif((4,)), "out": nir.Output(output_type={"output": np.array([4])})}
    edges = [("in", "a0"), ("a0", "n0"), ("n0", "a1"), ("a1", "n1"), ("n1", "d1"), ("d1", "a2"), ("a2", "n2"),
             ("n1", "a3"), ("a3", "n2"), ("n2", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT}, type_check=False)


def chain_graph(n_in: int = 4, n_hidden: int = 3, n_out: int = 2) -> nir.NIRGraph:
    """in[n_in] -a0-> n1[n_hidden] -a1-> n2[n_out] -> out, weights of ones (integer parameters set by tests)."""
    nodes = {"in": nir.Input(input_type={"input": np.array([n_in])}),
             "a0": nir.Affine(weight=np.ones((n_hidden, n_in)), bias=np.zeros(n_hidden)), "n1": lif((n_hidden,)),
             "a1": nir.Affine(weight=np.ones((n_out, n_hidden)), bias=np.zeros(n_out)), "n2": lif((n_out,)),
             "out": nir.Output(output_type={"output": np.array([n_out])})}
    edges = [("in", "a0"), ("a0", "n1"), ("n1", "a1"), ("a1", "n2"), ("n2", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT}, type_check=False)


@pytest.fixture
def graphs() -> SimpleNamespace:
    """The graph builders above, plus node helpers for tests that build their own graphs."""
    return SimpleNamespace(rich=rich_graph, neuron_delay=neuron_delay_graph, chain=chain_graph, lif=lif,
                           if_neuron=if_neuron, conv=conv, affine=affine, flatten=flatten, delay=delay, dt=DT)


@pytest.fixture
def count_frames() -> Callable[..., np.ndarray]:
    """Event-count frames ``[T, B, 2, 6, 6]`` (Poisson, integers >= 0) for the rich graph."""
    def make(steps: int, batch: int, seed: int, rate: float = 0.8) -> np.ndarray:
        return np.random.default_rng(seed).poisson(rate, (steps, batch, 2, 6, 6)).astype(np.float64)
    return make


def _trunc12(x: int) -> int:
    return -((-x) >> 12) if x < 0 else x >> 12


def wrap32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def lif_step_by_hand(u: int, v: int, a_in: int, du: int, dv: int, vth: int,
                     bias: int) -> tuple[int, int, int, bool, bool]:
    """One step of one Lava bit-accurate LIF neuron, from its documented equations, one Python int at a time
    (numpy's silent int32 overflow included). Returns (u, v, spike, v saturated, u wrapped)."""
    x = wrap32(_trunc12(u * (4096 - du - 1)) + wrap32(a_in * 64))
    wrapped = x > 2**23 or x <= -(2**23)
    u = x - 2**24 if x > 2**23 else x + 2**24 if x <= -(2**23) else x
    h = wrap32(_trunc12(v * (4096 - dv)) + u + bias)
    v = min(max(h, -(2**23) + 1), 2**23 - 1)
    spike = int(v > vth * 64)
    return u, 0 if spike else v, spike, v != h, wrapped


@pytest.fixture
def hand() -> SimpleNamespace:
    """Lava's integer equations written out per neuron (independent of hw_sim's vectorised code)."""
    return SimpleNamespace(lif_step=lif_step_by_hand, wrap32=wrap32)
