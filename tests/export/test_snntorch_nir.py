"""snntorch_to_nir (export/snntorch_nir.py): snnTorch's own forward == the NIR equations, spike for spike.

The reference is snnTorch 1.0.0 itself (its modules called once per step, spikes read by forward
hooks); the other side is the independent numpy oracle of NIR's equations (``nir_oracle.py``)
run on the exported graph, and hw_sim's float reference where hw_sim can load the graph.
"""

from __future__ import annotations

import nir
import numpy as np
import pytest
import snntorch as snn
import torch
from torch import Tensor, nn

from .nir_oracle import Oracle
from .snntorch_nets import ZERO, conv_net, event_frames, recurrent_net, snntorch_spikes
from spikinghash.export.snntorch_nir import snntorch_to_nir


def _compare(net: nn.Module, frames: Tensor, graph: nir.NIRGraph) -> dict[str, np.ndarray]:
    """Assert equal spikes in every neuron layer at every step; returns snnTorch's spikes."""
    ref = snntorch_spikes(net, frames)
    got = Oracle(graph).run(frames.numpy())
    for path, spikes in ref.items():
        assert 0.005 < spikes.mean() < 0.9, f"layer {path} fires at {spikes.mean():.4f}: the test would prove little"
        differ = np.argwhere(spikes != got[path])
        assert differ.size == 0, f"layer {path}: first difference at (t, b, ...) = {differ[0].tolist()}"
    return ref


def test_conv_net_equals_snntorch_in_every_layer_and_step() -> None:
    net = conv_net()
    graph = snntorch_to_nir(net, torch.zeros(1, 2, 34, 34))
    kinds = [type(graph.nodes[n]).__name__ for n in ["0", "1", "2", "3", "4", "5", "6", "7"]]
    assert kinds == ["Conv2d", "LIF", "AvgPool2d", "Conv2d", "LIF", "Flatten", "Affine", "LIF"]
    assert graph.metadata["dt"] == 1e-3
    _compare(net, event_frames(16, 3, (2, 34, 34), seed=1, rate=0.5), graph)


def test_recurrent_net_equals_snntorch_in_every_layer_and_step() -> None:
    net = recurrent_net()
    graph = snntorch_to_nir(net, torch.zeros(1, 16))
    sub = graph.nodes["1"]
    assert isinstance(sub, nir.NIRGraph) and isinstance(graph.nodes["3"], nir.CubaLIF)
    assert sorted(sub.edges) == [("input", "lif"), ("lif", "output"), ("lif", "w_rec"), ("w_rec", "lif")]
    # The recurrent layer's bias (added at every step, also the first) went into the Linear before it.
    expected = (net[0].bias + net[1].recurrent.bias).detach().numpy()
    np.testing.assert_array_equal(graph.nodes["0"].bias, expected)
    _compare(net, event_frames(24, 4, (16,), seed=2, rate=0.3), graph)


def _heaviside64(x: Tensor) -> Tensor:
    """snnTorch's spike forward (``x > 0``) in the input's dtype, so the neuron can run in float64."""
    return (x > 0).to(x.dtype)


LEAKY_CASES = {
    "scalar beta, reset_delay": dict(beta=0.9, threshold=1.0),
    "per-neuron learned beta and threshold": dict(beta=torch.rand(20) * 0.9, threshold=torch.rand(20) + 0.2,
                                                 learn_beta=True, learn_threshold=True, reset_delay=False),
    "beta above 1 is clamped": dict(beta=1.3, threshold=2.0),
    "beta 0": dict(beta=0.0, threshold=0.3),
}


@pytest.mark.parametrize("case", LEAKY_CASES, ids=list(LEAKY_CASES))
@pytest.mark.parametrize("dt", [1e-3, 1e-4, 0.37])
def test_leaky_mapping_on_random_parameters(case: str, dt: float) -> None:
    torch.manual_seed(len(case))
    lif = snn.Leaky(spike_grad=_heaviside64, **ZERO, **LEAKY_CASES[case])
    net = nn.Sequential(nn.Linear(7, 20), lif).double().eval()
    graph = snntorch_to_nir(net, torch.zeros(1, 7, dtype=torch.float64), dt=dt)
    node = graph.nodes["1"]
    beta = lif.beta.detach().clamp(0, 1).double().numpy()
    kind = nir.IF if np.all(beta == 1) else nir.LIF
    assert isinstance(node, kind)
    if kind is nir.LIF:
        np.testing.assert_allclose(1 - dt / node.tau, np.broadcast_to(beta, (20,)), rtol=0, atol=1e-12)
        np.testing.assert_allclose(node.r * dt / node.tau, 1.0, rtol=1e-12)
    frames = torch.randn(30, 5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    _compare(net, frames, graph)


def test_beta_one_is_if() -> None:
    net = nn.Sequential(nn.Linear(4, 6), snn.Leaky(beta=1.0, threshold=1.5, spike_grad=_heaviside64, **ZERO))
    net = net.double().eval()
    graph = snntorch_to_nir(net, torch.zeros(1, 4, dtype=torch.float64))
    assert isinstance(graph.nodes["1"], nir.IF)
    _compare(net, torch.rand(20, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)), graph)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.9), (0.0, 0.3), (0.95, 0.6)])
def test_synaptic_mapping_on_random_parameters(alpha: float, beta: float) -> None:
    torch.manual_seed(4)
    syn = snn.Synaptic(alpha=alpha, beta=beta, threshold=0.8, reset_delay=False, spike_grad=_heaviside64, **ZERO)
    net = nn.Sequential(nn.Linear(5, 9), syn).double().eval()
    dt = 2e-3
    graph = snntorch_to_nir(net, torch.zeros(1, 5, dtype=torch.float64), dt=dt)
    node = graph.nodes["1"]
    np.testing.assert_allclose(1 - dt / node.tau_syn, alpha, atol=1e-12)
    np.testing.assert_allclose(node.w_in * dt / node.tau_syn, 1.0, rtol=1e-12)
    np.testing.assert_allclose(1 - dt / node.tau_mem, beta, atol=1e-12)
    frames = torch.randn(40, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    _compare(net, frames, graph)


@pytest.mark.parametrize("recurrent", ["linear", "one-to-one", "conv"])
def test_rleaky_recurrent_forms(recurrent: str) -> None:
    torch.manual_seed(6)
    common = dict(beta=0.8, threshold=0.5, reset_delay=False, spike_grad=_heaviside64, **ZERO)
    if recurrent == "linear":
        feed, rleaky, shape = nn.Linear(6, 10), snn.RLeaky(linear_features=10, **common), (6,)
    elif recurrent == "one-to-one":
        feed, rleaky, shape = nn.Linear(6, 10), snn.RLeaky(all_to_all=False, V=torch.randn(10), **common), (6,)
    else:
        feed, shape = nn.Conv2d(2, 3, 3, padding=1), (2, 6, 6)
        rleaky = snn.RLeaky(conv2d_channels=3, kernel_size=3, **common)
    net = nn.Sequential(feed, rleaky).double().eval()
    graph = snntorch_to_nir(net, torch.zeros(1, *shape, dtype=torch.float64))
    frames = torch.rand(25, 3, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(7)) * 1.5
    _compare(net, frames, graph)


def test_batch_norm_is_folded_exactly() -> None:
    torch.manual_seed(8)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), nn.BatchNorm2d(4), snn.Leaky(beta=0.7, spike_grad=_heaviside64, **ZERO),
                        nn.Flatten(), nn.Linear(4 * 6 * 6, 5), nn.BatchNorm1d(5), nn.Identity(),
                        snn.Leaky(beta=0.6, spike_grad=_heaviside64, **ZERO)).double()
    with torch.no_grad():
        for bn in (net[1], net[5]):
            bn.running_mean.normal_()
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.normal_(1.0, 0.3)
            bn.bias.normal_(0.5, 0.3)
    net.eval()
    graph = snntorch_to_nir(net, torch.zeros(1, 2, 8, 8, dtype=torch.float64))
    assert "1" not in graph.nodes and "5" not in graph.nodes and "6" not in graph.nodes
    assert ("4", "7") in graph.edges
    frames = torch.poisson(torch.ones(20, 3, 2, 8, 8, dtype=torch.float64), generator=torch.Generator().manual_seed(9))
    _compare(net, frames, graph)


class StepNet(nn.Module):
    """A user's module whose forward calls each layer once per step (tutorial style, init_hidden=True)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(8, 12), snn.Leaky(beta=0.9, threshold=0.5, **ZERO)
        self.fc2, self.lif2 = nn.Linear(12, 4), snn.Leaky(beta=0.8, threshold=0.3, output=True, **ZERO)
        self.fc_skip = nn.Linear(8, 4)  # built but unused: not exported

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        spk, mem = self.lif2(self.fc2(self.lif1(self.fc1(x))))
        return spk, mem


def test_custom_forward_is_traced() -> None:
    torch.manual_seed(10)
    net = StepNet().eval()
    with torch.no_grad():
        net.fc1.weight.mul_(3)
        net.fc2.weight.mul_(3)
    graph = snntorch_to_nir(net, torch.zeros(1, 8), T=30)
    assert set(graph.nodes) == {"input", "fc1", "lif1", "fc2", "lif2", "output"}
    assert graph.metadata["T"] == 30
    _compare(net, torch.rand(30, 4, 8, generator=torch.Generator().manual_seed(11)), graph)


def test_nir_file_round_trip(tmp_path) -> None:
    net = recurrent_net()
    graph = snntorch_to_nir(net, torch.zeros(1, 16))
    nir.write(tmp_path / "r.nir", graph)
    back = nir.read(tmp_path / "r.nir", type_check=False)
    frames = event_frames(10, 2, (16,), seed=3, rate=0.3)
    a, b = Oracle(graph).run(frames.numpy()), Oracle(back).run(frames.numpy())
    for name in ("1", "3"):
        np.testing.assert_array_equal(a[name], b[name])
    assert back.metadata["dt"] == 1e-3


HW_SIM_NETS = {
    "conv": (conv_net, (2, 34, 34), 0.5),
    # Without a bias into the Synaptic: hw_sim maps CubaLIF to Loihi's CUBA neuron, whose bias enters
    # v, not the synaptic current, and refuses that case (the consumer probe records it).
    "recurrent": (lambda: recurrent_net(synaptic_bias=False), (16,), 0.3),
}


@pytest.mark.parametrize("name", HW_SIM_NETS, ids=list(HW_SIM_NETS))
def test_hw_sim_float_reference_equals_snntorch(name: str) -> None:
    """hw_sim's float reference (its lowering of the standard graph) == snnTorch, in every layer."""
    from spikinghash.hw_sim.frontend.float_sim import simulate_float
    from spikinghash.hw_sim.frontend.read import load

    build, shape, rate = HW_SIM_NETS[name]
    net = build()
    canonical = load(snntorch_to_nir(net, torch.zeros(1, *shape)))
    frames = event_frames(12, 2, shape, seed=4, rate=rate)
    ref = snntorch_spikes(net, frames)
    run = simulate_float(canonical, frames.numpy())
    # hw_sim names a nested graph's neuron by its path inside (an RLeaky "1" is "1.lif").
    names = {p: [n for n in run.spikes if n == p or n.startswith(f"{p}.")] for p in ref}
    assert all(len(n) == 1 for n in names.values()), f"hw_sim layers {sorted(run.spikes)} vs snnTorch's {sorted(ref)}"
    for path, (name,) in names.items():
        np.testing.assert_array_equal(run.spikes[name].astype(np.float32), ref[path], err_msg=path)
