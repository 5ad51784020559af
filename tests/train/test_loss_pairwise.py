"""Tests for train/loss_pairwise.py against hand computations with explicit pair loops."""

from __future__ import annotations

import math

import torch

from spikinghash.train.loss_pairwise import hard_similarity, pairwise_likelihood_loss

CODES = [[1, 0, 1, 1, 0], [1, 0, 1, 0, 0], [0, 1, 0, 0, 1], [1, 1, 1, 1, 1]]
LABELS = [2, 2, 0, 1]


def hand_loss(codes: list[list[int]], m: list[list[float]]) -> float:
    """Bernoulli NLL (the likelihood form of Eq. 22) with Omega from the Hamming distance."""
    n, bits = len(codes), len(codes[0])
    total = 0.0
    for i in range(n):
        for j in range(n):
            hamming = sum(a != b for a, b in zip(codes[i], codes[j]))
            omega = (bits - 2 * hamming) / 2
            sigma = 1 / (1 + math.exp(-omega))
            total += -(m[i][j] * math.log(sigma) + (1 - m[i][j]) * math.log(1 - sigma))
    return total / (n * n)


def test_hard_similarity_matches_loop() -> None:
    expected = [[float(a == b) for b in LABELS] for a in LABELS]
    assert hard_similarity(torch.tensor(LABELS)).tolist() == expected


def test_hard_loss_matches_hand_computation() -> None:
    m = [[float(a == b) for b in LABELS] for a in LABELS]
    got = pairwise_likelihood_loss(torch.tensor(CODES, dtype=torch.float64), torch.tensor(m, dtype=torch.float64))
    assert math.isclose(got.item(), hand_loss(CODES, m), rel_tol=1e-12)


def test_soft_loss_matches_hand_computation() -> None:
    s = [[1.0, 0.3, 0.0], [0.3, 0.9, 0.6], [0.0, 0.6, 0.8]]  # class-by-class, soft
    m = [[s[a][b] for b in LABELS] for a in LABELS]
    got = pairwise_likelihood_loss(torch.tensor(CODES, dtype=torch.float64), torch.tensor(m, dtype=torch.float64))
    assert math.isclose(got.item(), hand_loss(CODES, m), rel_tol=1e-12)


def test_long_codes_stay_finite_with_finite_gradient() -> None:
    # Omega reaches +-L/2 = 512: exp would overflow without softplus.
    code = torch.zeros(3, 1024)
    code[0] = 1.0
    code.requires_grad_(True)
    m = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    loss = pairwise_likelihood_loss(code, m)
    loss.backward()
    assert torch.isfinite(loss) and loss > 100  # the similar pairs 0-1 are 1024 bits apart
    assert torch.isfinite(code.grad).all() and code.grad.abs().sum() > 0


def test_gradient_pulls_similar_codes_together() -> None:
    # Bits 0 and 1 of sample 1 differ from sample 0; descending the gradient must move
    # them towards sample 0's bits (code 1 -> up, code 0 -> down).
    code = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], requires_grad=True)
    pairwise_likelihood_loss(code, torch.ones(2, 2)).backward()
    assert code.grad[1, 0] < 0 and code.grad[1, 1] > 0
