"""Every refusal of snntorch_to_nir: one ConfigError line per offending module path, with the fix.

Where a refusal is about exactness, the test also shows it is needed: snnTorch's forward in the
refused configuration differs from the NIR graph of the nearest supported one.
"""

from __future__ import annotations

import numpy as np
import pytest
import snntorch as snn
import torch
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.export.snntorch_nir import snntorch_to_nir

from .nir_oracle import Oracle
from .snntorch_nets import ZERO, snntorch_spikes

HIDDEN = {"init_hidden": True}
pytestmark = pytest.mark.filterwarnings("ignore:Inhibition is an unstable feature")


def _refusal(net: nn.Module, shape: tuple[int, ...]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        snntorch_to_nir(net, torch.zeros(1, *shape))
    first, *lines = str(info.value).split("\n")
    return [line.strip() for line in lines] if lines else [first]


CASES = {
    "max-pool": (lambda: nn.Sequential(nn.Conv2d(2, 2, 3), nn.MaxPool2d(2), snn.Leaky(beta=0.5, **ZERO)),
                 (2, 8, 8), "1 (MaxPool2d): max-pool has no NIR node; use nn.AvgPool2d"),
    "subtract reset (snnTorch's default)": (lambda: nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5, **HIDDEN)),
                                            (3,), "reset_mechanism='zero'"),
    "no reset": (lambda: nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5, reset_mechanism="none", **HIDDEN)),
                 (3,), "reset_mechanism='none'"),
    "Synaptic reset_delay=True": (lambda: nn.Sequential(nn.Linear(3, 4), snn.Synaptic(alpha=0.5, beta=0.5, **ZERO)),
                                  (3,), "set reset_delay=False"),
    "RLeaky reset_delay=True": (lambda: nn.Sequential(nn.Linear(3, 4), snn.RLeaky(beta=0.5, linear_features=4, **ZERO)),
                                (3,), "set reset_delay=False"),
    "RSynaptic": (lambda: nn.Sequential(nn.Linear(3, 4), snn.RSynaptic(alpha=0.5, beta=0.5, linear_features=4, **ZERO)),
                  (3,), "RSynaptic has no exact NIR form in snnTorch 1.0.0"),
    "inhibition": (lambda: nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5, inhibition=True, **ZERO)),
                   (3,), "inhibition=True"),
    "graded spikes": (lambda: nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5, graded_spikes_factor=2.0, **ZERO)),
                      (3,), "graded_spikes_factor != 1"),
    "other neuron": (lambda: nn.Sequential(nn.Linear(3, 4), snn.Lapicque(beta=0.5, **ZERO)),
                     (3,), "Lapicque is not supported"),
    "activation": (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU()), (3,), "1 (ReLU)"),
    "conv padding 'same'": (lambda: nn.Sequential(nn.Conv2d(2, 2, 3, padding="same"), snn.Leaky(beta=0.5, **ZERO)),
                            (2, 6, 6), "padding='same'"),
    "avg-pool padding": (lambda: nn.Sequential(nn.AvgPool2d(2, padding=1), snn.Leaky(beta=0.5, **ZERO)),
                         (2, 6, 6), "AvgPool2d with padding"),
    "flatten over the batch": (lambda: nn.Sequential(nn.Flatten(0), snn.Leaky(beta=0.5, **ZERO)),
                               (4,), "Flatten(start_dim=0)"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_refusal_names_the_module_and_the_fix(case: str) -> None:
    build, shape, needle = CASES[case]
    lines = _refusal(build(), shape)
    assert len(lines) == 1 and needle in lines[0], lines


def test_one_line_per_offending_module() -> None:
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.MaxPool2d(2), snn.Leaky(beta=0.9, **HIDDEN), nn.Flatten(),
                        nn.Linear(36, 3), snn.RSynaptic(alpha=0.5, beta=0.5, linear_features=3, **ZERO))
    lines = _refusal(net, (2, 8, 8))
    assert [line.split(" ")[0] for line in lines] == ["1", "2", "5"], lines


class LoopNet(nn.Module):
    """The tutorial style: init_hidden=False and a loop over time inside forward."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.lif = nn.Linear(3, 4), snn.Leaky(beta=0.5, reset_mechanism="zero")

    def forward(self, x: Tensor) -> Tensor:
        mem = self.lif.init_leaky()
        spikes = []
        for step in range(4):
            spk, mem = self.lif(self.fc(x), mem)
            spikes.append(spk)
        return torch.stack(spikes)


class TensorOpNet(nn.Module):
    """A tensor operation between layers (x.view instead of nn.Flatten)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(2, 2, 3), nn.Linear(8, 3)
        self.lif1, self.lif2 = snn.Leaky(beta=0.5, **ZERO), snn.Leaky(beta=0.5, **ZERO)

    def forward(self, x: Tensor) -> Tensor:
        s = self.lif1(self.conv(x))
        return self.lif2(self.fc(s.view(s.shape[0], -1)))


def test_untraceable_forwards_are_refused() -> None:
    lines = _refusal(LoopNet(), (3,))
    assert any(line.startswith("fc (Linear): called 4 times") for line in lines), lines
    assert any(line.startswith("lif (Leaky): receives its state") for line in lines), lines
    assert any(line.startswith("(model output)") for line in lines), lines
    lines = _refusal(TensorOpNet(), (2, 4, 4))
    assert lines == [line for line in lines if line.startswith("fc (Linear): its input comes from a tensor operation")]


def test_batch_norm_without_a_layer_before_it_and_bad_dt() -> None:
    net = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2), snn.Leaky(beta=0.5, **ZERO)).eval()
    assert "0 (BatchNorm1d): a batch norm is folded into the Conv2d or Linear" in _refusal(net, (3,))[0]
    with pytest.raises(ConfigError, match="dt > 0"):
        snntorch_to_nir(nn.Sequential(nn.Linear(3, 2), snn.Leaky(beta=0.5, **ZERO)), torch.zeros(1, 3), dt=0.0)
    with pytest.raises(ConfigError, match="cannot be called"):
        snntorch_to_nir(nn.Sequential(nn.Linear(3, 2), snn.Leaky(beta=0.5, **ZERO)), torch.zeros(1, 5))


def test_state_dict_with_another_reset_is_refused() -> None:
    net = nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5, **ZERO))
    net.load_state_dict(nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.5, **HIDDEN)).state_dict())
    assert "reset_mechanism_val buffer" in _refusal(net, (3,))[0]


def test_recurrent_bias_needs_a_layer_to_go_into() -> None:
    net = nn.Sequential(snn.RLeaky(beta=0.5, linear_features=3, reset_delay=False, **ZERO))
    assert "its recurrent layer's bias" in _refusal(net, (3,))[0]


# -- the exactness refusals are needed: the refused configuration is not the nearest NIR graph -------------
def _heaviside64(x: Tensor) -> Tensor:
    return (x > 0).to(x.dtype)


NEAREST = {
    "Leaky subtract": (lambda **k: snn.Leaky(beta=0.8, threshold=0.5, **k), {"reset_mechanism": "subtract"}),
    "Synaptic reset_delay=True": (lambda **k: snn.Synaptic(alpha=0.6, beta=0.8, threshold=0.5, **k), {"reset_delay": True}),
    "RLeaky reset_delay=True": (lambda **k: snn.RLeaky(beta=0.8, threshold=0.5, linear_features=6, **k),
                                {"reset_delay": True}),
}


@pytest.mark.parametrize("case", NEAREST, ids=list(NEAREST))
def test_refused_configurations_really_differ(case: str) -> None:
    build, refused = NEAREST[case]
    supported = {"reset_mechanism": "zero", "reset_delay": False}
    torch.manual_seed(12)
    good = nn.Sequential(nn.Linear(4, 6, bias=False), build(spike_grad=_heaviside64, init_hidden=True, **supported))
    bad = nn.Sequential(nn.Linear(4, 6, bias=False), build(spike_grad=_heaviside64, init_hidden=True,
                                                           **{**supported, **refused}))
    bad[0].load_state_dict(good[0].state_dict())  # the whole state dict would carry reset_mechanism_val
    good, bad = good.double().eval(), bad.double().eval()
    graph = snntorch_to_nir(good, torch.zeros(1, 4, dtype=torch.float64))
    frames = torch.rand(60, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(13)) * 0.8
    oracle = Oracle(graph).run(frames.numpy())["1"]
    assert np.array_equal(snntorch_spikes(good, frames)["1"], oracle)
    assert not np.array_equal(snntorch_spikes(bad, frames)["1"], oracle)
