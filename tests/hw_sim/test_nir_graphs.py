"""The field's reference graphs (``hw_sim.nir_examples``), as users bring them: the float reference against an
independent step-by-step computation written here from nir's docstring equations (Euler with the graph's dt, IF
per step), the integer run against Lava itself on every spike, and the readouts."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikinghash.hw_sim import nir_examples
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.frontend.readout import accuracy, choose_readout, predictions
from spikinghash.hw_sim.target.quantize import quantize
from spikinghash.hw_sim.verify.compare import bit_exactness


def cnn_oracle(g: nir.NIRGraph, x: np.ndarray) -> dict[str, np.ndarray]:
    """The Sinabs CNN node by node with torch's operators, IF as ``v[t] = v[t-1] + r·I[t]``, spike iff v > v_th,
    then v = v_reset (0). Returns each IF layer's spikes ``[T, B, *shape]``."""
    order = [n for n in g.nodes if n not in ("input", "output")]
    v: dict[str, torch.Tensor] = {}
    out: dict[str, list] = {n: [] for n in order if isinstance(g.nodes[n], nir.IF)}
    for t in range(x.shape[0]):
        a = torch.as_tensor(x[t])
        for name in order:
            node = g.nodes[name]
            if isinstance(node, nir.Conv2d):
                a = F.conv2d(a, torch.as_tensor(node.weight), torch.as_tensor(node.bias), stride=tuple(node.stride),
                             padding=tuple(node.padding))
            elif isinstance(node, nir.SumPool2d):
                a = F.avg_pool2d(a, 2, 2) * 4
            elif isinstance(node, nir.Flatten):
                a = a.reshape(a.shape[0], -1)
            elif isinstance(node, nir.Affine):
                a = a @ torch.as_tensor(node.weight).T + torch.as_tensor(node.bias)
            elif isinstance(node, nir.IF):
                h = v.get(name, torch.zeros_like(a)) + torch.as_tensor(node.r) * a
                s = h > torch.as_tensor(node.v_threshold)
                v[name] = torch.where(s, torch.as_tensor(node.v_reset).expand_as(h), h)
                out[name].append(s.numpy().astype(np.uint8))
                a = s.to(torch.float64)
    return {n: np.stack(s) for n, s in out.items()}


def braille_oracle(g: nir.NIRGraph, x: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """CubaLIF per nir: ``I += dt/tau_syn (−I + w_in·S)``, ``v += dt/tau_mem (v_leak − v + r·I)`` (the new I), spike
    iff v > v_th, v = 0; the recurrent ``w_rec`` adds the previous step's spikes. Spikes per layer, v of lif2."""
    dt = g.metadata["dt"]
    sub, lif2 = g.nodes["rsyn"], g.nodes["lif2"]
    lif, w_rec = sub.nodes["lif"], sub.nodes["w_rec"].weight
    w1, w2 = g.nodes["fc1"].weight, g.nodes["fc2"].weight
    steps, batch = x.shape[:2]
    spikes = {"rsyn.lif": np.zeros((steps, batch, w1.shape[0]), np.uint8), "lif2": np.zeros((steps, batch, w2.shape[0]), np.uint8)}
    v_out = np.zeros((steps, batch, w2.shape[0]))
    for b in range(batch):
        i1 = v1 = np.zeros(w1.shape[0])
        i2 = v2 = np.zeros(w2.shape[0])
        s1 = np.zeros(w1.shape[0])
        for t in range(steps):
            inp = w1 @ x[t, b] + w_rec @ s1
            i1 = i1 + dt / lif.tau_syn * (-i1 + lif.w_in * inp)
            v1 = v1 + dt / lif.tau_mem * (lif.v_leak - v1 + lif.r * i1)
            s1 = (v1 > lif.v_threshold).astype(float)
            v1 = np.where(s1 > 0, 0.0, v1)
            i2 = i2 + dt / lif2.tau_syn * (-i2 + lif2.w_in * (w2 @ s1))
            v2 = v2 + dt / lif2.tau_mem * (lif2.v_leak - v2 + lif2.r * i2)
            s2 = v2 > lif2.v_threshold
            v_out[t, b] = v2
            v2 = np.where(s2, 0.0, v2)
            spikes["rsyn.lif"][t, b], spikes["lif2"][t, b] = s1, s2
    return spikes, v_out


def lif_li_oracle(g: nir.NIRGraph, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LIF ``v += dt/tau (v_leak − v + r·I)``, spike iff v > v_th, v = 0; LI the same without spikes. Returns the LIF
    spikes and the LI membrane ``[T, B, classes]``."""
    dt, lif, li = g.metadata["dt"], g.nodes["lif"], g.nodes["li"]
    a1, a2 = g.nodes["fc1"], g.nodes["fc2"]
    steps, batch = x.shape[:2]
    s_out = np.zeros((steps, batch, lif.tau.size), np.uint8)
    v_li = np.zeros((steps, batch, li.tau.size))
    v, u = np.zeros((batch, lif.tau.size)), np.zeros((batch, li.tau.size))
    for t in range(steps):
        v = v + dt / lif.tau * (lif.v_leak - v + lif.r * (x[t] @ a1.weight.T + a1.bias))
        s = v > lif.v_threshold
        v = np.where(s, 0.0, v)
        u = u + dt / li.tau * (li.v_leak - u + li.r * (s @ a2.weight.T + a2.bias))
        s_out[t], v_li[t] = s, u
    return s_out, v_li


def _frames(shape: tuple[int, ...], rate: float, steps: int = 10, batch: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate, (steps, batch, *shape)).astype(np.float64)


def test_nir_papers_cnn_float_equals_the_node_by_node_oracle() -> None:
    g = nir_examples.nmnist_cnn()
    x = _frames((2, 34, 34), 0.3, steps=8, batch=3)
    run = simulate_float(load(g), x)
    expected = cnn_oracle(g, x)
    for name, s in expected.items():
        np.testing.assert_array_equal(run.spikes[name], s, err_msg=name)
        assert 0.01 < s.mean() < 0.9, name  # every layer is active: the comparison is not between zeros


def test_recurrent_cubalif_float_equals_nirs_equations() -> None:
    g = nir_examples.braille_rnn()
    x = _frames((12,), 0.5)
    run = simulate_float(load(g), x)
    spikes, v = braille_oracle(g, x)
    for name, s in spikes.items():
        np.testing.assert_array_equal(run.spikes[name], s, err_msg=name)
        assert 0.05 < s.mean() < 0.9
    np.testing.assert_allclose(run.h_hash, v, rtol=1e-9, atol=1e-9)


def test_lif_to_li_readout_float_equals_nirs_equations() -> None:
    g = nir_examples.lif_li()
    x = _frames((20,), 0.5)
    run = simulate_float(load(g), x)
    s, v = lif_li_oracle(g, x)
    np.testing.assert_array_equal(run.spikes["lif"], s)
    np.testing.assert_allclose(run.h_hash, v, rtol=1e-9, atol=1e-12)
    assert run.spikes["li"].sum() == 0 and 0.05 < s.mean() < 0.9


def test_readout_choice_and_predictions() -> None:
    cnn, li = load(nir_examples.nmnist_cnn()), load(nir_examples.lif_li())
    assert choose_readout(cnn, 10) == "classify" and choose_readout(cnn, 7) == "rates"
    assert choose_readout(cnn, None) == "rates" and choose_readout(li, 5) == "classify"
    spikes = np.zeros((3, 2, 10), np.uint8)
    spikes[:, 0, 4], spikes[0, 1, 7], spikes[:2, 1, 2] = 1, 1, 1
    assert predictions(cnn, spikes, np.zeros(spikes.shape)).tolist() == [4, 2]
    membrane = np.zeros((3, 2, 5))
    membrane[0, 0, 1], membrane[-1, 0, 3], membrane[-1, 1, 0] = 9.0, 1.0, 0.5
    assert predictions(li, np.zeros((3, 2, 5)), membrane).tolist() == [3, 0]  # the final membrane, not the peak
    assert accuracy(np.array([3, 0]), np.array([3, 1, 2])) == 0.5


def test_integer_readout_follows_the_float_one() -> None:
    """Quantized LI readout: integer predictions agree with the float ones on most samples."""
    g = nir_examples.lif_li()
    net, x = load(g), _frames((20,), 0.5, steps=20, batch=64)
    fr, ir = simulate_float(net, x), simulate_int(quantize(net, x), x)
    pf = predictions(net, fr.spikes[net.output], fr.h_hash)
    pi = predictions(net, ir.spikes[net.output], ir.v_hash)
    assert accuracy(pi, pf) > 0.9 and len(set(pf.tolist())) > 1


CASES = {"nmnist_cnn": (nir_examples.nmnist_cnn, (2, 34, 34), 0.3),
         "braille_rnn": (nir_examples.braille_rnn, (12,), 0.5),
         "lif_li": (nir_examples.lif_li, (20,), 0.5)}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_lava_is_bit_exact_with_the_fast_simulator(case: str) -> None:
    from spikinghash.hw_sim.backends.lava.run import run_lava

    build, shape, rate = CASES[case]
    net = load(build())
    x = _frames(shape, rate, steps=8, batch=3, seed=2)
    int_net = quantize(net, x)
    fast = simulate_int(int_net, x)
    resets = ("interval", "fresh") if case == "braille_rnn" else ("interval",)
    for reset in resets:
        lava = run_lava(int_net, x, samples=2, reset=reset)
        diff = bit_exactness(fast, lava)
        assert not any(diff.values()), (reset, diff)
    assert all(0 < lava.spikes[n].mean() < 1 for n in net.neurons if net.neurons[n].spiking)


def kinds_graph(seed: int = 0) -> nir.NIRGraph:
    """Input -> Threshold (stateless) -> LIF with a self-loop through a Delay of 2 steps -> CubaLI readout."""
    rng = np.random.default_rng(seed)
    n = 9
    nodes = {"input": nir.Input(input_type={"input": np.array([6])}),
             "a": nir.Affine(weight=rng.normal(0.2, 0.6, (n, 6)), bias=rng.normal(0, 0.1, n)),
             "th": nir.Threshold(threshold=np.full(n, 0.5)),
             "b": nir.Linear(weight=rng.normal(0.3, 0.5, (n, n))),
             "lif": nir.LIF(tau=np.full(n, 3e-3), r=np.ones(n), v_leak=rng.uniform(0, 1.4, n),
                            v_threshold=np.ones(n), v_reset=np.zeros(n)),
             "d": nir.Delay(delay=np.full(n, 2e-3)),
             "rec": nir.Linear(weight=rng.normal(0.0, 0.4, (n, n))),
             "c": nir.Linear(weight=rng.normal(0.1, 0.5, (4, n))),
             "cli": nir.CubaLI(tau_syn=np.full(4, 2e-3), tau_mem=np.full(4, 4e-3), r=np.ones(4), v_leak=np.zeros(4)),
             "output": nir.Output(output_type={"output": np.array([4])})}
    edges = [("input", "a"), ("a", "th"), ("th", "b"), ("b", "lif"), ("lif", "d"), ("d", "rec"), ("rec", "lif"),
             ("lif", "c"), ("c", "cli"), ("cli", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": 1e-3}, type_check=False)


def kinds_oracle(g: nir.NIRGraph, x: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Threshold: z = I > θ; LIF (dt/tau Euler) fed by ``rec`` with its spikes of step t − 2; CubaLI as CubaLIF
    without spikes. Spikes of th and lif, and the CubaLI membrane."""
    dt, nd = 1e-3, g.nodes
    steps, batch = x.shape[:2]
    n = nd["lif"].tau.size
    out = {"th": np.zeros((steps, batch, n), np.uint8), "lif": np.zeros((steps, batch, n), np.uint8)}
    mem = np.zeros((steps, batch, 4))
    v, i2, v2 = np.zeros((batch, n)), np.zeros((batch, 4)), np.zeros((batch, 4))
    lif, cli = nd["lif"], nd["cli"]
    for t in range(steps):
        z = (x[t] @ nd["a"].weight.T + nd["a"].bias) > nd["th"].threshold
        rec = out["lif"][t - 2] @ nd["rec"].weight.T if t >= 2 else 0.0
        v = v + dt / lif.tau * (lif.v_leak - v + lif.r * (z @ nd["b"].weight.T + rec))
        s = v > lif.v_threshold
        v = np.where(s, 0.0, v)
        i2 = i2 + dt / cli.tau_syn * (-i2 + cli.w_in * (s @ nd["c"].weight.T))
        v2 = v2 + dt / cli.tau_mem * (cli.v_leak - v2 + cli.r * i2)
        out["th"][t], out["lif"][t], mem[t] = z, s, v2
    return out, mem


def test_threshold_delayed_self_loop_and_cubali_float_equal_nirs_equations() -> None:
    g = kinds_graph()
    x = _frames((6,), 0.6, steps=12)
    net = load(g)
    assert [(p.source, p.delay) for p in net.paths["lif"] if p.recurrent] == [("lif", 2)]
    run = simulate_float(net, x)
    spikes, mem = kinds_oracle(g, x)
    for name, s in spikes.items():
        np.testing.assert_array_equal(run.spikes[name], s, err_msg=name)
        assert 0.05 < s.mean() < 0.95
    np.testing.assert_allclose(run.h_hash, mem, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_lava_is_bit_exact_on_threshold_delayed_self_loop_and_cubali() -> None:
    from spikinghash.hw_sim.backends.lava.run import run_lava

    net = load(kinds_graph())
    x = _frames((6,), 0.6, steps=10, batch=3, seed=4)
    int_net = quantize(net, x)
    fast = simulate_int(int_net, x)
    diff = bit_exactness(fast, run_lava(int_net, x, samples=3))
    assert not any(diff.values()), diff
    assert int_net.neurons["cli"].du == 2047 and int_net.neurons["th"].dv == 4095  # round(4096/2) - 1; no memory


@pytest.mark.parametrize("case", list(CASES))
def test_files_as_exported_load_through_the_same_door(case: str, tmp_path) -> None:
    """nir.write, then graph.load: NIR's own type check rejects edges into ``rsyn.input``; ours checks the lowered form."""
    graph = CASES[case][0]()
    path = tmp_path / f"{case}.nir"
    nir.write(path, graph)
    from_file, in_memory = load(path), load(graph)
    assert list(from_file.neurons) == list(in_memory.neurons) and from_file.lags == in_memory.lags
    for key, syn in in_memory.synapses.items():
        np.testing.assert_array_equal(from_file.synapses[key].weight, syn.weight)
