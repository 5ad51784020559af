"""Tests for models/transhash.py: shapes, gradients, branch layout, grouping, bad configs."""

from __future__ import annotations

import re

import pytest
import torch

from spikinghash.errors import ConfigError
from spikinghash.models import HashOutput, create_model, list_models

TINY = dict(in_channels=2, img_size=16, T=3, bits=16, num_classes=5,
            patch_size=4, dim=32, depth=2, heads=4)


def tiny(**overrides: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("transhash", **{**TINY, **overrides})


def test_registered() -> None:
    assert {"transhash", "transhash_paper"} <= set(list_models())


@pytest.mark.parametrize("groups, bits", [(1, 8), (2, 16), (4, 32)])
def test_shapes_and_binary_code(groups: int, bits: int) -> None:
    model = tiny(groups=groups, bits=bits).eval()
    out = model(torch.randn(3, 5, 2, 16, 16))
    assert isinstance(out, HashOutput)
    assert out.code.shape == out.mem.shape == (5, bits)
    assert out.logits.shape == (5, 5)
    assert set(out.code.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out.code, (torch.sign(out.mem) > 0).float())
    assert out.mem.abs().max() < 1


def test_branch_slices_cover_every_bit_once_with_paper_sizes() -> None:
    model = tiny(groups=2, bits=16)
    owners = torch.zeros(16, dtype=torch.long)
    for s in model.hash_branches:
        owners[s] += 1
    assert owners.tolist() == [1] * 16
    # K ablation: 16 bits, K=2 -> 8 global bits first, then 4 + 4 local bits.
    assert [(s.start, s.stop) for s in model.hash_branches] == [(0, 8), (8, 12), (12, 16)]


def test_each_slice_is_driven_by_its_own_head() -> None:
    model = tiny(groups=2, bits=16).eval()
    with torch.no_grad():
        model.local_hash[1].weight.zero_()
        model.local_hash[1].bias.zero_()
        out = model(torch.randn(3, 4, 2, 16, 16))
    g, l1, l2 = model.hash_branches
    assert torch.all(out.mem[:, l2] == 0)  # tanh(0) of the silenced head
    assert torch.all(out.mem[:, g] != 0) and torch.all(out.mem[:, l1] != 0)


def test_local_groups_are_contiguous_raster_halves() -> None:
    # depth=1: no shared block, so local group k sees only the class token and its
    # own patches; 16x16 with 4x4 patches -> 16 tokens, K=2 -> rows 0-1 / rows 2-3.
    model = tiny(depth=1, groups=2).eval()
    x = torch.randn(3, 2, 2, 16, 16)
    y = x.clone()
    y[:, :, :, 12:, :] += 1.0  # only the bottom patch row changes
    with torch.no_grad():
        a, b = model(x).mem, model(y).mem
    g, top, bottom = model.hash_branches
    assert torch.equal(a[:, top], b[:, top])
    assert not torch.allclose(a[:, bottom], b[:, bottom])
    assert not torch.allclose(a[:, g], b[:, g])


def test_uneven_groups_keep_every_patch() -> None:
    # 12x12 with 4x4 patches -> 9 tokens, K=2 -> 5 + 4: the last patch is used.
    model = tiny(depth=1, img_size=12, groups=2).eval()
    x = torch.randn(3, 1, 2, 12, 12)
    y = x.clone()
    y[:, :, :, 8:, 8:] += 1.0  # the ninth (last) patch
    with torch.no_grad():
        a, b = model(x).mem, model(y).mem
    _, first, second = model.hash_branches
    assert torch.equal(a[:, first], b[:, first])
    assert not torch.allclose(a[:, second], b[:, second])


def test_frame_order_matters() -> None:
    model = tiny().eval()
    x = torch.randn(3, 2, 2, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(model(x).mem, model(x.flip(0)).mem)


def test_gradient_reaches_every_parameter() -> None:
    model = tiny().train()
    out = model(torch.randn(3, 4, 2, 16, 16))
    loss = out.logits.pow(2).sum() + out.code.sum() + out.mem.pow(2).sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_straight_through_gradient_of_code() -> None:
    # d(sum code)/d(bias of a hash head) = sum_i 0.5 * (1 - tanh^2): ST identity on +-1.
    model = tiny().train()
    out = model(torch.randn(3, 4, 2, 16, 16))
    out.code.sum().backward()
    g = model.hash_branches[0]
    expected = (0.5 * (1 - out.mem[:, g].detach() ** 2)).sum(0)
    assert torch.allclose(model.global_hash.bias.grad, expected, atol=1e-6)


def test_deterministic() -> None:
    x = torch.randn(3, 2, 2, 16, 16)
    with torch.no_grad():
        a = tiny().eval()(x)
        b = tiny().eval()(x)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


@pytest.mark.parametrize("overrides, fragment", [
    (dict(bits=18), "multiple of 2*groups=4"),
    (dict(bits=16, groups=3), "multiple of 2*groups=6"),
    (dict(img_size=18), "not divisible by patch_size"),
    (dict(dim=30), "not divisible by heads"),
    (dict(groups=17, bits=68), "exceeds the 16 patches"),
    (dict(T=0), "T=0"),
    (dict(depth=0), "depth=0"),
    (dict(widht=3), "does not take widht"),
])
def test_bad_config(overrides: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        tiny(**overrides)


def test_bad_input_shape() -> None:
    model = tiny()
    with pytest.raises(ConfigError, match="expects input"):
        model(torch.randn(2, 1, 2, 16, 16))  # T=2 where the model was built for 3


def _vit_parameter_count(c: int, t: int, img: int, p: int, d: int, blocks: int,
                         bits: int, k: int, classes: int) -> int:
    """Hand count: patch conv, class token, positions, blocks, 2 final norms, heads, classifier."""
    n = (img // p) ** 2
    block = (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (2 * d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    heads = (d * bits // 2 + bits // 2) + k * (d * bits // (2 * k) + bits // (2 * k))
    return (t * c * p * p * d + d) + d + (n + 1) * d + blocks * block + 2 * 2 * d + heads + (bits * classes + classes)


def test_paper_configuration_counted_on_meta_device() -> None:
    with torch.device("meta"):
        model = create_model("transhash_paper", bits=64, num_classes=100)
        out = model(torch.empty(1, 2, 3, 224, 224))
    count = sum(p.numel() for p in model.parameters())
    # 23 shared blocks + the global and the local block = 25 blocks of width 1024.
    assert count == _vit_parameter_count(3, 1, 224, 32, 1024, 25, 64, 2, 100)
    assert 310e6 < count < 320e6  # ViT-L/32 scale (~306 M for 24 blocks) plus one block
    assert out.code.shape == (2, 64) and out.logits.shape == (2, 100)
    assert len(model.encoder) == 23 and model.config.num_patches == 49
