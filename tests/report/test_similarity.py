"""Fig. 5's code similarity against a pair-by-pair loop, and S_soft read back from a checkpoint."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import torch

from spikinghash.pipeline.report import load_soft_similarity
from spikinghash.report.similarity import hamming_class_similarity
from spikinghash.retrieval.codes import pack_codes


def brute_force(bits: list[list[int]], labels: list[int], c: int) -> list[list[float]]:
    """Mean of 1 - d/L over ordered pairs i != j, class by class, with Python loops."""
    sums = [[0.0] * c for _ in range(c)]
    counts = [[0] * c for _ in range(c)]
    for i, j in itertools.product(range(len(bits)), repeat=2):
        if i == j:
            continue
        d = sum(x != y for x, y in zip(bits[i], bits[j]))
        sums[labels[i]][labels[j]] += 1 - d / len(bits[i])
        counts[labels[i]][labels[j]] += 1
    return [[sums[a][b] / counts[a][b] if counts[a][b] else math.nan for b in range(c)] for a in range(c)]


def test_matches_a_pair_by_pair_loop_on_random_codes() -> None:
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(40, 13)).astype(np.uint8)  # 13 bits: a padded last byte
    labels = rng.integers(0, 4, size=40)
    got = hamming_class_similarity(pack_codes(bits), labels, 13)
    np.testing.assert_allclose(got, brute_force(bits.tolist(), labels.tolist(), 4), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got, got.T)


def test_hand_computed_values_and_nan_where_no_pair_exists() -> None:
    # class 0: 1100 and 1110 (d = 1); class 1: 0011 (alone); class 2 absent.
    bits = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]], dtype=np.uint8)
    got = hamming_class_similarity(pack_codes(bits), np.array([0, 0, 1]), 4, num_classes=3)
    assert got[0, 0] == 1 - 1 / 4
    assert got[0, 1] == got[1, 0] == ((1 - 4 / 4) + (1 - 3 / 4)) / 2
    assert math.isnan(got[1, 1]) and math.isnan(got[2, 2]) and math.isnan(got[0, 2])


def test_soft_similarity_is_read_from_the_checkpoint_or_none(tmp_path: Path) -> None:
    soft = torch.tensor([[1.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
    torch.save({"format": 1, "soft_similarity": {"soft": soft, "sums": torch.zeros(2, 2)}}, tmp_path / "a.pt")
    torch.save({"format": 1, "soft_similarity": None}, tmp_path / "b.pt")
    np.testing.assert_array_equal(load_soft_similarity(tmp_path / "a.pt"), soft.numpy())
    assert load_soft_similarity(tmp_path / "b.pt") is None
