"""Every registered model honours the shared contract (input [T, B, C, H, W] -> HashOutput)."""

from __future__ import annotations

import pytest
import torch

from spikinghash.models import HashOutput, UnknownModelError, create_model, list_models

# Models whose defaults cannot run at the tiny test settings get shrunk here; their full
# size is checked elsewhere (transhash_paper: built on the meta device in test_transhash.py).
SHRINK = {"transhash_paper": dict(patch_size=8, dim=32, depth=2, heads=2)}


def _build(name: str, settings: dict) -> torch.nn.Module:
    """Build ``name`` at the tiny test settings (every registered model must build)."""
    return create_model(name, **{**settings, **SHRINK.get(name, {})})


@pytest.mark.parametrize("name", list_models())
def test_forward_backward_contract(name: str, tiny_settings: dict, tiny_input: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = _build(name, tiny_settings).train()
    x = tiny_input.clone().requires_grad_()
    out = model(x)

    assert isinstance(out, HashOutput)
    batch, bits, classes = x.shape[1], tiny_settings["bits"], tiny_settings["num_classes"]
    assert out.code.shape == (batch, bits) and out.mem.shape == (batch, bits)
    assert out.logits.shape == (batch, classes)
    assert set(out.code.unique().tolist()) <= {0.0, 1.0}

    (out.logits.square().mean() + out.mem.square().mean() + out.code.mean()).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} is not connected to the outputs"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
    # The gradient crossed the whole network, down to the input frames.
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", list_models())
def test_deterministic_under_seed_and_binary_in_eval(name: str, tiny_settings: dict, tiny_input: torch.Tensor) -> None:
    outputs = []
    for _ in range(2):
        torch.manual_seed(7)
        model = _build(name, tiny_settings).eval()
        with torch.no_grad():
            outputs.append((model.state_dict(), model(tiny_input)))
    (sd1, out1), (sd2, out2) = outputs
    assert sd1.keys() == sd2.keys()
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    for a, b in zip(out1, out2):
        assert torch.equal(a, b)
    assert set(out1.code.unique().tolist()) <= {0.0, 1.0}
    assert torch.isfinite(out1.mem).all() and torch.isfinite(out1.logits).all()


def test_unknown_model_name() -> None:
    with pytest.raises(UnknownModelError, match="spikinghash_s"):
        create_model("spikinghash_z")
