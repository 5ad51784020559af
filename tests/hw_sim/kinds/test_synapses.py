"""Synapse layers: the matrix form (built by index arithmetic, used for Lava's Dense/Sparse) equals the
torch operator, convolution geometry matches torch, and the fixed-point outputs wrap as Lava's models do
(hand-computed values)."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds import KINDS
from spikinghash.hw_sim.spec import wrap as wrap_signed


def _build(node, in_shape):
    return KINDS[type(node)].build(node, "s", in_shape)


def _nodes(rng):
    return {
        "conv_odd": (nir.Conv2d(input_shape=(5, 7), weight=rng.normal(size=(4, 1, 3, 2)), stride=(2, 1),
                                padding=(1, 0), dilation=(1, 2), groups=2, bias=rng.normal(size=4)), (2, 5, 7)),
        "conv_same": (nir.Conv2d(input_shape=(4, 4), weight=rng.normal(size=(3, 2, 3, 3)), stride=1,
                                 padding="same", dilation=1, groups=1, bias=np.zeros(3)), (2, 4, 4)),
        "sumpool": (nir.SumPool2d(kernel_size=np.array([2, 3]), stride=np.array([2, 1]), padding=np.array([1, 1])),
                    (3, 4, 5)),
        "scale": (nir.Scale(scale=rng.normal(size=(2, 3, 3))), (2, 3, 3)),
        "affine": (nir.Affine(weight=rng.normal(size=(5, 7)), bias=rng.normal(size=5)), (7,)),
    }


@pytest.mark.parametrize("name", ["conv_odd", "conv_same", "sumpool", "scale", "affine"])
def test_matrix_form_equals_the_operator(name: str) -> None:
    rng = np.random.default_rng(0)
    node, in_shape = _nodes(rng)[name]
    syn = _build(node, in_shape)
    x = torch.as_tensor(rng.normal(size=(3, *in_shape)))
    via_op = syn.float_drive(x).reshape(3, -1).numpy()
    via_matrix = (syn.matrix(syn.weight) @ x.reshape(3, -1).numpy().T).T
    np.testing.assert_allclose(via_matrix, via_op, rtol=1e-12, atol=1e-12)


def test_conv_and_pool_geometry_match_torch_modules() -> None:
    rng = np.random.default_rng(1)
    nodes = _nodes(rng)
    node, in_shape = nodes["conv_odd"]
    x = torch.as_tensor(rng.normal(size=(2, *in_shape)))
    ref = F.conv2d(x, torch.as_tensor(node.weight), torch.as_tensor(node.bias), stride=(2, 1), padding=(1, 0),
                   dilation=(1, 2), groups=2)
    np.testing.assert_allclose(_build(node, in_shape).float_forward(x).numpy(), ref.numpy(), rtol=1e-12)
    node, in_shape = nodes["sumpool"]
    x = torch.as_tensor(rng.normal(size=(2, *in_shape)))
    ref = F.avg_pool2d(x, (2, 3), (2, 1), (1, 1), count_include_pad=True) * 6  # sum = mean · window
    np.testing.assert_allclose(_build(node, in_shape).float_forward(x).numpy(), ref.numpy(), rtol=1e-12)


def test_same_padding_keeps_the_size_and_asymmetric_same_is_rejected() -> None:
    rng = np.random.default_rng(2)
    node, in_shape = _nodes(rng)["conv_same"]
    assert _build(node, in_shape).out_shape == (3, 4, 4)
    even = nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 2, 2)), stride=1, padding="same", dilation=1,
                      groups=1, bias=np.zeros(1))
    with pytest.raises(ConfigError, match="'s'.*same"):
        _build(even, (1, 4, 4))


def test_wrap_signed_is_twos_complement() -> None:
    x = torch.tensor([2**31, 2**31 - 1, -(2**31) - 1, 2**23, -(2**23), 5])
    assert wrap_signed(x, 32).tolist() == [-(2**31), 2**31 - 1, 2**31 - 1, 2**23, -(2**23), 5]
    assert wrap_signed(x, 24).tolist() == [0, -1, -1, -(2**23), -(2**23), 5]


def test_fixed_forward_conv_wraps_at_24_bits_and_matrix_at_32() -> None:
    # 1x1 conv, two input channels of graded value 255, weights 254 << 7:
    # sum = 2 · 255 · 254 · 128 = 16,581,120 > 2**23 -> Lava's Conv sends 16,581,120 - 2**24 = -196,096
    conv = nir.Conv2d(input_shape=(1, 1), weight=np.ones((1, 2, 1, 1)), stride=1, padding=0, dilation=1, groups=1,
                      bias=np.zeros(1))
    syn = _build(conv, (2, 1, 1))
    x = torch.full((1, 2, 1, 1), 255, dtype=torch.int64)
    w = np.full((1, 2, 1, 1), 254)
    bound = syn.gain_bound(w) * 255
    assert bound == 2 * 254 * 255
    out, wrapped = syn.fixed_forward(x, w, 7, "conv", bound)
    assert out.item() == -196_096 and wrapped == 1
    # The same sum through Dense/Sparse stays within int32: no wrap
    out, wrapped = syn.fixed_forward(x, w, 7, "matrix", bound)
    assert out.item() == 16_581_120 and wrapped == 0
    # 16-bit graded input: 2 · 65,535 · 254 · 128 = 4,261,347,840 -> int32 channel: -33,619,456
    x = torch.full((1, 2, 1, 1), 65_535, dtype=torch.int64)
    out, wrapped = syn.fixed_forward(x, w, 7, "matrix", syn.gain_bound(w) * 65_535)
    assert out.item() == -33_619_456 and wrapped == 1


@pytest.mark.parametrize("kind", ["conv_odd", "sumpool", "scale", "affine"])
def test_gain_bound_is_the_largest_absolute_row_sum(kind: str) -> None:
    rng = np.random.default_rng(3)
    node, in_shape = _nodes(rng)[kind]
    syn = _build(node, in_shape)
    weight = np.rint(syn.weight * 50) if syn.weight.ndim else syn.weight
    rows = np.abs(syn.matrix(weight)).sum(axis=1)
    assert syn.gain_bound(weight) == pytest.approx(rows.max(), rel=1e-12)


def test_fixed_forward_sums_exactly_in_float32_up_to_its_bound() -> None:
    # 1x1 conv over 256 channels of 8-bit graded input with weights 254: the bound 256·255·254 = 16,581,120 is
    # just below 2**24, so the sum runs in float32; every output must equal the int64 sum.
    rng = np.random.default_rng(4)
    conv = nir.Conv2d(input_shape=(3, 3), weight=np.ones((4, 256, 1, 1)), stride=1, padding=0, dilation=1,
                      groups=1, bias=np.zeros(4))
    syn = _build(conv, (256, 3, 3))
    w = rng.choice([-254, 254], (4, 256, 1, 1))
    w[0] = 254  # one output reaches the bound itself
    x = torch.as_tensor(rng.integers(200, 256, (5, 256, 3, 3)))
    x[0] = 255
    bound = syn.gain_bound(w) * 255
    assert bound < 2**24
    out, _ = syn.fixed_forward(x, w, 0, "matrix", bound)
    exact = torch.einsum("bchw,oc->bohw", x, torch.as_tensor(w[:, :, 0, 0]))
    assert out.dtype == torch.float32 and torch.equal(out.to(torch.int64), exact)
    assert exact.abs().max() == 256 * 255 * 254
    # shifted by 2, the bound passes 2**24: the sum runs in float64, still exact
    out, _ = syn.fixed_forward(x, w, 2, "matrix", bound)
    assert out.dtype == torch.float64 and torch.equal(out.to(torch.int64), exact * 4)
