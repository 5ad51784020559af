"""Tests for train/loss_transhash.py against hand computations with explicit pair loops."""

from __future__ import annotations

import math

import torch

from spikinghash.models import create_model
from spikinghash.train.loss_pairwise import hard_similarity
from spikinghash.train.loss_transhash import (
    cauchy_pair_loss,
    cauchy_quantization_loss,
    pair_weights,
    transhash_loss,
)

H = [
    [0.9, -0.2, 0.4, 0.7, -0.5, 0.3, 0.8, -0.6],
    [0.8, -0.4, 0.1, 0.6, 0.2, 0.5, -0.7, -0.3],
    [-0.5, 0.6, -0.9, 0.2, 0.4, -0.8, 0.3, 0.9],
    [0.3, 0.7, -0.2, -0.6, -0.1, 0.4, 0.5, 0.2],
]
LABELS = [1, 1, 0, 2]
BRANCHES = [slice(0, 4), slice(4, 6), slice(6, 8)]  # 8 bits, K=2: 4 global + 2 + 2


def unit(v: list[float]) -> list[float]:
    n = math.sqrt(sum(a * a for a in v))
    return [a / n for a in v]


def distance(u: list[float], v: list[float]) -> float:
    """TransHash Eq. 7, first form: bits/4 * || u/|u| - v/|v| ||^2."""
    return len(u) / 4 * sum((a - b) ** 2 for a, b in zip(unit(u), unit(v)))


def hand_pair_loss(h: list[list[float]], labels: list[int], gamma: float) -> float:
    n = len(h)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    n1 = sum(labels[i] == labels[j] for i, j in pairs)
    n0 = len(pairs) - n1
    total = 0.0
    for i, j in pairs:
        s = 1.0 if labels[i] == labels[j] else 0.0
        w = len(pairs) / n1 if s else len(pairs) / n0
        d = distance(h[i], h[j])
        total += w * (s * math.log(d / gamma) + math.log(1 + gamma / d))  # Eq. 9 as printed
    return total / len(pairs)


def hand_quantization(h: list[list[float]], gamma: float) -> float:
    return sum(math.log(1 + distance([abs(a) for a in v], [1.0] * len(v)) / gamma) for v in h) / len(h)


def cols(s: slice) -> list[list[float]]:
    return [row[s] for row in H]


def test_pair_weights_match_counts() -> None:
    w = pair_weights(hard_similarity(torch.tensor(LABELS)))
    # 12 ordered pairs: 2 similar (0-1, 1-0) and 10 dissimilar.
    expected = [[0.0 if i == j else (12 / 2 if LABELS[i] == LABELS[j] else 12 / 10) for j in range(4)]
                for i in range(4)]
    assert torch.allclose(w, torch.tensor(expected))


def test_pair_loss_matches_hand_computation() -> None:
    for s in BRANCHES:
        got = cauchy_pair_loss(torch.tensor(cols(s), dtype=torch.float64),
                               hard_similarity(torch.tensor(LABELS)).double(), gamma=2.0)
        assert math.isclose(got.item(), hand_pair_loss(cols(s), LABELS, 2.0), rel_tol=1e-9)


def test_quantization_loss_matches_hand_computation() -> None:
    got = cauchy_quantization_loss(torch.tensor(H, dtype=torch.float64), gamma=3.0)
    assert math.isclose(got.item(), hand_quantization(H, 3.0), rel_tol=1e-9)
    assert cauchy_quantization_loss(torch.tensor([[0.5, -0.5, 0.5, -0.5]]), gamma=1.0).abs() < 1e-6


def test_total_sums_every_head() -> None:
    gamma, lam = 2.0, 0.3
    expected = sum(hand_pair_loss(cols(s), LABELS, gamma) + lam * hand_quantization(cols(s), gamma)
                   for s in BRANCHES)
    got = transhash_loss(torch.tensor(H, dtype=torch.float64), hard_similarity(torch.tensor(LABELS)).double(),
                         BRANCHES, gamma, lam)
    assert math.isclose(got.item(), expected, rel_tol=1e-9)


def test_batch_without_similar_pairs_is_finite() -> None:
    h = torch.tensor(cols(slice(0, 4)), requires_grad=True)
    loss = cauchy_pair_loss(h, hard_similarity(torch.tensor([0, 1, 2, 3])), gamma=2.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(h.grad).all()


def test_identical_dissimilar_codes_stay_finite() -> None:
    h = torch.tensor([[0.5, 0.5], [0.5, 0.5]], requires_grad=True)
    loss = cauchy_pair_loss(h, torch.eye(2), gamma=2.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(h.grad).all()


def test_gradient_through_the_model_is_finite() -> None:
    torch.manual_seed(0)
    model = create_model("transhash", in_channels=1, img_size=8, T=2, bits=8, num_classes=3,
                         patch_size=4, dim=16, depth=1, heads=2)
    out = model(torch.randn(2, 4, 1, 8, 8))
    loss = transhash_loss(out.mem, hard_similarity(torch.tensor(LABELS)), model.hash_branches, 2.0, 0.1)
    loss.backward()
    grads = [p.grad for p in (model.global_hash.weight, *[h.weight for h in model.local_hash])]
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
