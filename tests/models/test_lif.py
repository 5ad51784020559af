"""LIF neuron (Eqs. 1–3) against snnTorch's Leaky driven step by step, and by hand."""

from __future__ import annotations

from unittest import mock

import pytest
import snntorch as snn
import torch
from snntorch import surrogate

from spikinghash.errors import ConfigError
from spikinghash.models import create_model, lif
from spikinghash.models.lif import LIF, LIFParams, LIFTrace, initial_state, lif_multistep, lif_step

SNNTORCH_SURROGATES = {
    "atan": surrogate.atan,
    "fast_sigmoid": surrogate.fast_sigmoid,
    "straight_through": surrogate.straight_through_estimator,
}


def snntorch_run(x: torch.Tensor, p: LIFParams) -> tuple[torch.Tensor, torch.Tensor]:
    """snnTorch Leaky with beta = 1 - 1/tau, reset to zero, input scaled by 1/tau (Eq. 1)."""
    leaky = snn.Leaky(
        beta=1.0 - 1.0 / p.tau, threshold=p.v_threshold, reset_mechanism="zero",
        spike_grad=SNNTORCH_SURROGATES[p.surrogate](),
    )
    mem = torch.zeros_like(x[0])
    spikes, mems = [], []
    for t in range(x.shape[0]):
        spk, mem = leaky(x[t] * (1.0 / p.tau), mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


@pytest.mark.parametrize("tau", [2.0, 1.75, 4.0])
@pytest.mark.parametrize("surrogate_name", ["atan", "fast_sigmoid", "straight_through"])
def test_multistep_matches_snntorch(tau: float, surrogate_name: str) -> None:
    torch.manual_seed(0)
    p = LIFParams(tau=tau, v_threshold=0.7, surrogate=surrogate_name)
    x = (1.5 * torch.randn(8, 4, 33)).requires_grad_()
    w_spk, w_mem = torch.randn(8, 4, 33), torch.randn(8, 4, 33)

    ours = lif_multistep(x, p)
    (grad_ours,) = torch.autograd.grad((ours.spikes * w_spk + ours.membrane * w_mem).sum(), x)
    spk, mem = snntorch_run(x, p)
    (grad_ref,) = torch.autograd.grad((spk * w_spk + mem * w_mem).sum(), x)

    assert 0.05 < ours.spikes.mean() < 0.6  # the comparison covers both firing and silence
    assert torch.equal(ours.spikes, spk)
    assert torch.equal(ours.membrane, mem)
    # Only the order of summation of the gradient contributions differs.
    torch.testing.assert_close(grad_ours, grad_ref, rtol=1e-5, atol=1e-6)


def test_spike_only_gradient_matches_snntorch() -> None:
    torch.manual_seed(1)
    p = LIFParams()
    x = (2.0 * torch.randn(6, 50)).requires_grad_()
    (grad_ours,) = torch.autograd.grad(lif_multistep(x, p).spikes.sum(), x)
    spk, _ = snntorch_run(x, p)
    (grad_ref,) = torch.autograd.grad(spk.sum(), x)
    torch.testing.assert_close(grad_ours, grad_ref, rtol=1e-5, atol=1e-6)


def test_single_step_matches_snntorch() -> None:
    torch.manual_seed(2)
    p = LIFParams(tau=1.5, v_threshold=0.4)
    x = torch.randn(5, 3, 20).requires_grad_()
    state = initial_state(x[0], p)
    spikes = []
    for t in range(x.shape[0]):
        s, state = lif_step(x[t], state, p)
        spikes.append(s)
    ours = torch.stack(spikes)
    spk, _ = snntorch_run(x, p)
    assert torch.equal(ours, spk)
    (g_ours,) = torch.autograd.grad(ours.sum(), x)
    (g_ref,) = torch.autograd.grad(spk.sum(), x)
    torch.testing.assert_close(g_ours, g_ref, rtol=1e-5, atol=1e-6)


def test_hand_calculation_with_nonzero_reset() -> None:
    # tau = 2, v_th = 1, V_reset = -1, constant input 3:
    # H1 = -1 + (3 - 0)/2 = 0.5 (no spike);  H2 = 0.5 + (3 - 1.5)/2 = 1.25 (spike, V = -1);
    # H3 = -1 + (3 - 0)/2 = 0.5 again.
    p = LIFParams(tau=2.0, v_threshold=1.0, v_reset=-1.0)
    trace = lif_multistep(torch.full((4, 1), 3.0), p)
    assert trace.membrane.flatten().tolist() == [0.5, 1.25, 0.5, 1.25]
    assert trace.spikes.flatten().tolist() == [0.0, 1.0, 0.0, 1.0]


def test_threshold_is_strict() -> None:
    # With tau = 2 an input of exactly 2 brings H to exactly v_th = 1: no spike (Heaviside of 0 is 0,
    # as in snnTorch and Loihi's v > vth).
    trace = lif_multistep(torch.full((1, 1), 2.0), LIFParams())
    assert trace.membrane.item() == 1.0 and trace.spikes.item() == 0.0


def test_module_outputs_spikes_of_the_same_shape() -> None:
    x = torch.randn(3, 2, 4, 5, 5)
    out = LIF(LIFParams(v_threshold=0.1))(x)
    assert out.shape == x.shape
    assert set(out.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize(
    "kwargs", [{"tau": 0.5}, {"surrogate": "nope"}, {"v_reset": 1.0, "v_threshold": 1.0}]
)
def test_bad_parameters_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        LIFParams(**kwargs)


def test_whole_model_is_unchanged_with_snntorch_neurons() -> None:
    # Every neuron layer of a model (backbone, SWM, SSA, hash layer) swapped for snnTorch's
    # Leaky driven step by step: identical codes, membranes and logits.
    torch.manual_seed(0)
    model = create_model("spikinghash_ti", in_channels=2, img_size=16, T=4, bits=16).train()
    x = 2.0 * torch.randn(4, 2, 2, 16, 16)

    def snntorch_multistep(inp: torch.Tensor, p: LIFParams) -> LIFTrace:
        return LIFTrace(*snntorch_run(inp, p))

    with torch.no_grad():
        ours = model(x)
        with mock.patch.object(lif, "lif_multistep", snntorch_multistep):
            ref = model(x)
    assert ours.mem.abs().min() > 0  # the membranes carry the whole network's computation
    for a, b in zip(ours, ref):
        assert torch.equal(a, b)
