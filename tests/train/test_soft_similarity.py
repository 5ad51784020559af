"""Tests for train/soft_similarity.py: the round schedule, Eqs. 19-21 on a hand example, state."""

from __future__ import annotations

import io
import math

import pytest
import torch

from spikinghash.errors import ConfigError
from spikinghash.train.soft_similarity import (
    DynamicSoftSimilarity,
    blend_weight,
    class_pair_cosines,
    filter_similarity,
    round_starts,
)


def cos(u: list[float], v: list[float]) -> float:
    dot = sum(a * b for a, b in zip(u, v))
    return dot / (math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v)))


def test_schedule_for_200_epochs_is_the_papers() -> None:
    # Initial round 0-49, rounds of 20 from 50 (the one from 170 is cut at 180),
    # then one round per epoch over the final 20.
    assert round_starts(200) == [0, 50, 70, 90, 110, 130, 150, 170, *range(180, 200)]


def test_schedule_scales_with_the_run() -> None:
    assert round_starts(100) == [0, 25, 35, 45, 55, 65, 75, 85, *range(90, 100)]
    assert round_starts(20) == [0, 5, 7, 9, 11, 13, 15, 17, 18, 19]
    assert round_starts(1) == [0]
    for epochs in range(1, 260):
        starts = round_starts(epochs)
        assert starts[0] == 0 and starts == sorted(set(starts)) and starts[-1] < epochs


def test_lambda_falls_from_one_to_zero() -> None:
    assert [blend_weight(e, 200) for e in (0, 49)] == [1.0, 1.0]
    assert math.isclose(blend_weight(50, 200), 149 / 150)
    assert math.isclose(blend_weight(124, 200), 75 / 150)
    assert blend_weight(199, 200) == 0.0
    values = [blend_weight(e, 37) for e in range(37)]
    assert values == sorted(values, reverse=True) and values[-1] == 0.0
    assert blend_weight(0, 1) == 1.0


MEM = [[1.0, 2.0, 0.0], [2.0, 1.0, 1.0], [-1.0, 0.5, 2.0], [0.5, -2.0, 1.0], [1.0, 1.0, 1.0]]
LABELS = [0, 0, 1, 2, 1]
# Sample 4 is misclassified (predicted 0), so it must not count.
PRED = [0, 0, 1, 2, 0]


def test_class_pair_cosines_match_loops() -> None:
    sums, counts = class_pair_cosines(torch.tensor(MEM), torch.tensor(LABELS), 3)
    exp_s = [[0.0] * 3 for _ in range(3)]
    exp_k = [[0] * 3 for _ in range(3)]
    for i in range(5):
        for j in range(5):
            if i != j:
                exp_s[LABELS[i]][LABELS[j]] += cos(MEM[i], MEM[j])
                exp_k[LABELS[i]][LABELS[j]] += 1
    assert torch.allclose(sums, torch.tensor(exp_s, dtype=torch.float64), atol=1e-6)
    assert counts.tolist() == exp_k


def test_class_pair_cosines_of_an_empty_batch() -> None:
    sums, counts = class_pair_cosines(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long), 3)
    assert sums.abs().sum() == 0 and counts.sum() == 0


def logits_for(pred: list[int], classes: int = 3) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(pred), classes).float()


def test_soft_similarity_round_on_hand_example() -> None:
    tau = 0.1
    soft = DynamicSoftSimilarity(num_classes=3, num_epochs=20, tau=tau)  # rounds start at 0, 5, 7, ...
    soft.begin_epoch(0)
    soft.observe(torch.tensor(MEM), torch.tensor(LABELS), logits_for(PRED))
    soft.begin_epoch(3)  # same round: nothing changes yet
    labels = torch.tensor([0, 1, 2])
    assert torch.equal(soft.pair_similarity(labels), torch.eye(3))

    soft.begin_epoch(5)  # closes the initial round
    c = [cos(MEM[a], MEM[b]) for a, b in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))]
    s01, s02, s12 = (c[1] + c[3]) / 2, (c[2] + c[4]) / 2, c[5]
    keep = [v if v > tau else 0.0 for v in (c[0], s01, s02, s12)]
    # Classes 1 and 2 have one correct sample each: no same-class pair, so their
    # diagonal keeps the previous (hard) value 1.
    expected_soft = [[keep[0], keep[1], keep[2]], [keep[1], 1.0, keep[3]], [keep[2], keep[3], 1.0]]
    lam = 14 / 15  # (E - 1 - e) / (E - e0) = (20 - 1 - 5) / (20 - 5)
    expected = [[lam * (a == b) + (1 - lam) * expected_soft[a][b] for b in range(3)] for a in range(3)]
    assert torch.allclose(soft.pair_similarity(labels), torch.tensor(expected), atol=1e-6)
    # m'_ij = S[y_i, y_j] for a batch with repeated labels.
    batch = torch.tensor([2, 0, 2])
    assert torch.allclose(soft.pair_similarity(batch),
                          torch.tensor([[expected[a][b] for b in (2, 0, 2)] for a in (2, 0, 2)]), atol=1e-6)


def test_unobserved_pairs_keep_the_previous_round() -> None:
    soft = DynamicSoftSimilarity(num_classes=3, num_epochs=20, tau=0.0)
    soft.begin_epoch(0)
    soft.observe(torch.tensor(MEM), torch.tensor(LABELS), logits_for(PRED))
    soft.begin_epoch(5)
    before = soft.soft.clone()
    # Round 5-6 sees only two class-0 samples with cosine 0.6.
    soft.observe(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), torch.tensor([0, 0]), logits_for([0, 0]))
    soft.begin_epoch(7)
    after = soft.soft
    assert math.isclose(after[0, 0].item(), 0.6, rel_tol=1e-6)
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[0, 0] = False
    assert torch.equal(after[mask], before[mask])


def test_state_round_trip_through_weights_only_load() -> None:
    soft = DynamicSoftSimilarity(num_classes=3, num_epochs=20, tau=0.1)
    soft.begin_epoch(0)
    soft.observe(torch.tensor(MEM), torch.tensor(LABELS), logits_for(PRED))
    soft.begin_epoch(5)
    soft.observe(torch.tensor(MEM[:2]), torch.tensor(LABELS[:2]), logits_for(PRED[:2]))
    buf = io.BytesIO()
    torch.save(soft.state_dict(), buf)
    buf.seek(0)
    restored = DynamicSoftSimilarity(num_classes=3, num_epochs=20, tau=0.1)
    restored.load_state_dict(torch.load(buf, weights_only=True))
    labels = torch.tensor([0, 1, 2, 0])
    assert torch.equal(restored.pair_similarity(labels), soft.pair_similarity(labels))
    soft.begin_epoch(7)
    restored.begin_epoch(7)  # the pending sums of round 5-6 survived the round trip
    assert torch.equal(restored.pair_similarity(labels), soft.pair_similarity(labels))


def test_bad_state_and_epochs_are_config_errors() -> None:
    soft = DynamicSoftSimilarity(num_classes=3, num_epochs=20, tau=0.1)
    with pytest.raises(ConfigError, match="for 3 classes, not 4"):
        DynamicSoftSimilarity(num_classes=4, num_epochs=20, tau=0.1).load_state_dict(soft.state_dict())
    with pytest.raises(ConfigError, match="20 epochs"):
        DynamicSoftSimilarity(num_classes=3, num_epochs=30, tau=0.1).load_state_dict(soft.state_dict())
    soft.begin_epoch(6)
    with pytest.raises(ConfigError, match="before epoch 6"):
        soft.begin_epoch(5)
    with pytest.raises(ConfigError, match="outside 0..19"):
        soft.begin_epoch(20)


def test_filter_never_zeroes_the_diagonal() -> None:
    s = torch.tensor([[0.3, 0.6, 0.2], [0.6, 0.9, 0.4], [0.2, 0.4, -0.1]], dtype=torch.float64)
    out = filter_similarity(s, 0.5)
    expected = torch.tensor([[0.3, 0.6, 0.0], [0.6, 0.9, 0.0], [0.0, 0.0, -0.1]], dtype=torch.float64)
    assert torch.equal(out, expected)
