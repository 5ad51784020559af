"""Tests for train/loss_classification.py against hand computations."""

from __future__ import annotations

import math

import torch

from spikinghash.train.loss_classification import classification_loss, spikinghash_objective

LOGITS = [[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-3.0, 4.0, 0.0], [1.0, 1.0, 1.0]]
LABELS = [0, 2, 1, 1]


def hand_cross_entropy() -> float:
    total = 0.0
    for row, y in zip(LOGITS, LABELS):
        p = math.exp(row[y]) / sum(math.exp(v) for v in row)
        total += -math.log(p)
    return total / len(LABELS)


def test_classification_loss_matches_hand_computation() -> None:
    got = classification_loss(torch.tensor(LOGITS, dtype=torch.float64), torch.tensor(LABELS))
    assert math.isclose(got.item(), hand_cross_entropy(), rel_tol=1e-12)


def test_objective_weights_both_terms() -> None:
    l_s, l_cls = torch.tensor(2.5), torch.tensor(0.75)
    assert math.isclose(spikinghash_objective(l_s, l_cls, 0.2, 0.8).item(), 0.2 * 2.5 + 0.8 * 0.75, rel_tol=1e-6)


def test_gradient_is_finite_for_extreme_logits() -> None:
    logits = torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    loss = classification_loss(logits, torch.tensor([1, 0]))
    loss.backward()
    assert math.isclose(loss.item(), 2000.0, rel_tol=1e-6)
    assert torch.isfinite(logits.grad).all()
