"""The field's reference NIR graphs, built with nir's own constructors and random weights.

They stand for the graphs users bring (tests and ``benchmarks/bench_nir_graphs.py`` run them):

- :func:`nmnist_cnn`: the NIR paper's N-MNIST CNN as Sinabs exports it (``Conv2d → IF → Conv2d → IF →
  SumPool2d → Conv2d → IF → SumPool2d → Flatten → Affine → IF → Affine → IF``, 2×34×34 input, no
  biases, ``r = 1``, no ``dt`` in the metadata);
- :func:`braille_rnn`: the NIR paper's braille network as snnTorch exports ``RSynaptic``: 12 inputs,
  a nested subgraph (``lif`` CubaLIF + ``w_rec``) of 38 neurons (some with ``v_leak`` above threshold:
  they fire on their own, also before their window on Lava), a CubaLIF output layer;
- :func:`lif_li`: a LIF hidden layer and a non-spiking LI readout (Norse/Rockpool style).
"""

from __future__ import annotations

import nir
import numpy as np


def _if(shape: tuple[int, ...], vth: float = 1.0) -> nir.IF:
    return nir.IF(r=np.ones(shape), v_threshold=np.full(shape, vth), v_reset=np.zeros(shape))


def _conv(rng: np.random.Generator, cin: int, cout: int, hw: tuple[int, int], k: int, stride: int, pad: int,
          std: float) -> nir.Conv2d:
    return nir.Conv2d(input_shape=hw, weight=rng.normal(0.0, std, (cout, cin, k, k)), stride=stride, padding=pad,
                      dilation=1, groups=1, bias=np.zeros(cout))


def _pool() -> nir.SumPool2d:
    return nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))


def nmnist_cnn(seed: int = 0, hidden: int = 128, classes: int = 10) -> nir.NIRGraph:
    """The NIR paper's Sinabs CNN: [2, 34, 34] -> 16@16x16 -> 16@16x16 -> pool -> 8@8x8 -> pool -> hidden -> classes."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 34, 34])}),
        "0": _conv(rng, 2, 16, (34, 34), 5, 2, 1, 0.35), "1": _if((16, 16, 16)),
        "2": _conv(rng, 16, 16, (16, 16), 3, 1, 1, 0.25), "3": _if((16, 16, 16)),
        "4": _pool(),
        "5": _conv(rng, 16, 8, (8, 8), 3, 1, 1, 0.2), "6": _if((8, 8, 8)),
        "7": _pool(),
        "8": nir.Flatten(input_type={"input": np.array([8, 4, 4])}, start_dim=0, end_dim=-1),
        "9": nir.Affine(weight=rng.normal(0.0, 0.3, (hidden, 128)), bias=np.zeros(hidden)), "10": _if((hidden,)),
        "11": nir.Affine(weight=rng.normal(0.0, 0.35, (classes, hidden)), bias=np.zeros(classes)),
        "12": _if((classes,)),
        "output": nir.Output(output_type={"output": np.array([classes])}),
    }
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:])), metadata={}, type_check=False)


def _cuba(n: int, alpha: float, beta: float, dt: float, vth: float = 1.0,
          v_leak: np.ndarray | None = None) -> nir.CubaLIF:
    """snnTorch's Synaptic export: ``tau = dt / (1 − decay)``, ``r = tau_mem/dt``, ``w_in = tau_syn/dt``."""
    tau_syn, tau_mem = dt / (1 - alpha), dt / (1 - beta)
    return nir.CubaLIF(tau_syn=np.full(n, tau_syn), tau_mem=np.full(n, tau_mem), r=np.full(n, tau_mem / dt),
                       v_leak=np.zeros(n) if v_leak is None else v_leak, v_threshold=np.full(n, vth), w_in=np.full(n, tau_syn / dt))


def braille_rnn(seed: int = 0, inputs: int = 12, hidden: int = 38, classes: int = 7,
                dt: float = 1e-3) -> nir.NIRGraph:
    """12 inputs -> Linear -> [subgraph ``rsyn``: CubaLIF(38) with ``w_rec`` back to itself] -> Linear -> CubaLIF(7)."""
    rng = np.random.default_rng(seed)
    sub = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([hidden])}),
                              "lif": _cuba(hidden, 0.8, 0.9, dt, v_leak=rng.uniform(0.0, 1.3, hidden)),
                              "w_rec": nir.Linear(weight=rng.normal(0.0, 0.12, (hidden, hidden))),
                              "output": nir.Output(output_type={"output": np.array([hidden])})},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                       type_check=False)
    nodes = {"input": nir.Input(input_type={"input": np.array([inputs])}),
             "fc1": nir.Linear(weight=rng.normal(0.05, 0.12, (hidden, inputs))),
             "rsyn": sub,
             "fc2": nir.Linear(weight=rng.normal(0.02, 0.15, (classes, hidden))),
             "lif2": _cuba(classes, 0.8, 0.9, dt),
             "output": nir.Output(output_type={"output": np.array([classes])})}
    edges = [("input", "fc1"), ("fc1", "rsyn.input"), ("rsyn.output", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt}, type_check=False)


def lif_li(seed: int = 0, inputs: int = 20, hidden: int = 30, classes: int = 5, dt: float = 1e-4) -> nir.NIRGraph:
    """inputs -> Affine -> LIF(hidden) -> Affine -> LI(classes) (a membrane readout); biases and v_leak nonzero."""
    rng = np.random.default_rng(seed)
    tau = np.full(hidden, 4 * dt)
    nodes = {"input": nir.Input(input_type={"input": np.array([inputs])}),
             "fc1": nir.Affine(weight=rng.normal(0.1, 0.5, (hidden, inputs)), bias=rng.normal(0.05, 0.05, hidden)),
             "lif": nir.LIF(tau=tau, r=np.full(hidden, 1.5), v_leak=np.full(hidden, 0.05),
                            v_threshold=np.ones(hidden), v_reset=np.zeros(hidden)),
             "fc2": nir.Affine(weight=rng.normal(0.0, 0.8, (classes, hidden)), bias=rng.normal(0.0, 0.05, classes)),
             "li": nir.LI(tau=np.full(classes, 8 * dt), r=np.ones(classes), v_leak=np.zeros(classes)),
             "output": nir.Output(output_type={"output": np.array([classes])})}
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:])), metadata={"dt": dt}, type_check=False)
