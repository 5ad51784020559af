"""Spiking Self-Attention (Eqs. 13–14) against a direct einsum."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikinghash.errors import ConfigError
from spikinghash.models.lif import LIFParams, lif_multistep
from spikinghash.models.spiking_attention import SpikingSelfAttention, spiking_attention


@pytest.mark.parametrize(("n", "d"), [(10, 4), (3, 8)])  # both evaluation orders
def test_attention_product_equals_einsum(n: int, d: int) -> None:
    gen = torch.Generator().manual_seed(0)
    q, k, v = ((torch.rand(2, 3, 2, n, d, generator=gen) < 0.4).float() for _ in range(3))
    expected = torch.einsum("...nd,...md,...me->...ne", q, k, v) * 0.125
    assert expected.abs().sum() > 0
    assert torch.equal(spiking_attention(q, k, v, 0.125), expected)


def _conv_bn(seq: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    conv, bn = seq[0], seq[1]
    y = F.conv2d(x.flatten(0, 1), conv.weight)
    y = F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
    return y.unflatten(0, x.shape[:2])


def test_module_matches_direct_einsum() -> None:
    torch.manual_seed(0)
    T, B, C, H, W, heads, scale = 3, 2, 8, 4, 4, 2, 0.25
    neuron, attn_neuron = LIFParams(v_threshold=0.5), LIFParams(v_threshold=0.3)
    ssa = SpikingSelfAttention(C, heads, scale, neuron, attn_neuron).eval()
    with torch.no_grad():
        for m in ssa.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.8)
    x = 2.0 * torch.randn(T, B, C, H, W)

    s = lif_multistep(x, neuron).spikes
    d = C // heads
    # Channel c = head * d + i; tokens are the H·W positions.
    q, k, v = (
        lif_multistep(_conv_bn(seq, s), neuron).spikes.reshape(T, B, heads, d, H * W).transpose(-2, -1)
        for seq in (ssa.q, ssa.k, ssa.v)
    )
    attn = lif_multistep(torch.einsum("tbhnd,tbhmd,tbhme->tbhne", q, k, v) * scale, attn_neuron).spikes
    assert attn.sum() > 0
    merged = attn.transpose(-2, -1).reshape(T, B, C, H, W)
    expected = _conv_bn(ssa.proj, merged)

    torch.testing.assert_close(ssa(x), expected, rtol=1e-5, atol=1e-5)


def test_heads_must_divide_width() -> None:
    with pytest.raises(ConfigError, match="heads"):
        SpikingSelfAttention(10, 3)
