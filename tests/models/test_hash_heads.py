"""Hash layers: AND over time (Eq. 18) by hand, sgn(tanh) (Eq. 17)."""

from __future__ import annotations

import torch

from spikinghash.models.hash_heads import SignHashHead, SpikingHashHead
from spikinghash.models.lif import LIFParams

# Per-bit drives over T = 4 steps (tau = 2, v_th = 0.2: a step fires iff H > 0.2).
DRIVES = [
    [1.0, 1.0, 1.0, 1.0],  # fires at every step -> bit 1
    [1.0, 1.0, 1.0, 0.0],  # silent at the last step -> bit 0
    [0.0, 1.0, 1.0, 1.0],  # silent at the first step -> bit 0
    [0.3, 0.3, 0.3, 0.3],  # H = 0.15, 0.225 (fires), 0.15, 0.225 -> bit 0
    [0.5, 0.5, 0.5, 0.5],  # H = 0.25 every step after each reset -> bit 1
]


def brute_force_lif(drive: list[float], tau: float, v_th: float) -> tuple[list[int], list[float]]:
    """Eqs. 1–3 with Python floats, V_reset = 0."""
    v, spikes, hs = 0.0, [], []
    for i in drive:
        h = v + (i - v) / tau
        s = int(h > v_th)
        v = 0.0 if s else h
        spikes.append(s)
        hs.append(h)
    return spikes, hs


def _identity_head() -> SpikingHashHead:
    head = SpikingHashHead(len(DRIVES), len(DRIVES), LIFParams(tau=2.0, v_threshold=0.2), normalize=False)
    with torch.no_grad():
        head.linear.weight.copy_(torch.eye(len(DRIVES)))
        head.linear.bias.zero_()
    return head


def test_bit_is_one_only_if_the_neuron_fired_at_every_step() -> None:
    f = torch.tensor(DRIVES).T.unsqueeze(1)  # [T=4, B=1, C=5]
    code, mem = _identity_head()(f)
    for bit, drive in enumerate(DRIVES):
        spikes, hs = brute_force_lif(drive, 2.0, 0.2)
        assert code[0, bit].item() == float(all(spikes)), (bit, spikes)
        assert abs(mem[0, bit].item() - sum(hs) / len(hs)) < 1e-6
    assert code[0].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_and_passes_gradient_only_where_the_other_steps_fired() -> None:
    f = torch.tensor(DRIVES).T.unsqueeze(1).requires_grad_()
    code, _ = _identity_head()(f)
    code.sum().backward()
    grad = f.grad[:, 0]  # [T, bits]
    # Bit 1 fired at steps 0-2 only: the surrogate gradient reaches step 3 (the one that
    # would complete the AND) and, through the membrane, the earlier steps.
    assert grad[3, 1] != 0
    # Bit 3 was silent at two steps: the product of the other steps is 0 for every step.
    assert torch.all(grad[:, 3] == 0)


def test_sign_head_is_sgn_of_tanh_with_straight_through_gradient() -> None:
    torch.manual_seed(0)
    head = SignHashHead(6, 8)
    f = torch.randn(4, 3, 6)
    code, mem = head(f)
    z = head.linear(f.mean(dim=0))
    assert torch.equal(code, (z > 0).float())
    torch.testing.assert_close(mem, torch.tanh(z))
    code.sum().backward()
    expected = ((1 - torch.tanh(z) ** 2) / 2).sum(dim=0)  # d/dz of (tanh(z) + 1) / 2
    torch.testing.assert_close(head.linear.bias.grad, expected.detach())
