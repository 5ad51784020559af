"""Slow, independent references for the retrieval tests: pure Python loops over lists.

Nothing here imports spikinghash.retrieval: codes are lists of 0/1 ints, distances are
counted bit by bit, rankings come from Python's ``sorted`` on (distance, row) keys.
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest


def hamming(a: list[int], b: list[int]) -> int:
    return sum(x != y for x, y in zip(a, b))


def popcount_xor(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b))


def rank(query: list[int], db: list[list[int]]) -> list[int]:
    """Database rows sorted by (Hamming distance, row)."""
    return sorted(range(len(db)), key=lambda i: (hamming(query, db[i]), i))


def ap_at_k(rels: list[float], k: int) -> float:
    hits, total = 0, 0.0
    for r, rel in enumerate(rels[:k], start=1):
        if rel:
            hits += 1
            total += hits / r
    return total / hits if hits else 0.0


def p_at_k(rels: list[float], k: int) -> float:
    top = rels[:k]
    return sum(top) / len(top)


def acg(gains: list[float], n: int) -> float:
    top = gains[:n]
    return sum(top) / len(top)


def dcg(gains: list[float], n: int) -> float:
    total = 0.0
    for i, g in enumerate(gains[:n], start=1):
        total += g if i == 1 else g / math.log2(i)
    return total


def ndcg(gains_ranked: list[float], all_gains: list[float], n: int) -> float:
    ideal = dcg(sorted(all_gains, reverse=True), n)
    return dcg(gains_ranked, n) / ideal if ideal > 0 else 0.0


def gain(qlabel: int, dlabel: int, similar: list[tuple[int, int]]) -> float:
    if qlabel == dlabel:
        return 1.0
    if (qlabel, dlabel) in similar or (dlabel, qlabel) in similar:
        return 0.5
    return 0.0


def pr_curve(queries, db, qlabels, dlabels, bits):
    precisions, recalls = [0.0] * (bits + 1), [0.0] * (bits + 1)
    for q, ql in zip(queries, qlabels):
        dists = [hamming(q, d) for d in db]
        relevant_total = sum(dl == ql for dl in dlabels)
        for r in range(bits + 1):
            got = [i for i, d in enumerate(dists) if d <= r]
            hits = sum(dlabels[i] == ql for i in got)
            precisions[r] += hits / len(got) if got else 0.0
            recalls[r] += hits / relevant_total if relevant_total else 0.0
    return [p / len(queries) for p in precisions], [r / len(queries) for r in recalls]


def tie_orders(query: list[int], db: list[list[int]]):
    """Every ranking consistent with the distances (each tie group in every order)."""
    dists = [hamming(query, d) for d in db]
    groups = [[i for i in range(len(db)) if dists[i] == v] for v in sorted(set(dists))]
    count = math.prod(math.factorial(len(g)) for g in groups)
    assert count <= 50_000, "test data has too many tie orders to enumerate"
    for parts in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield [i for part in parts for i in part]


@pytest.fixture
def brute() -> SimpleNamespace:
    return SimpleNamespace(hamming=hamming, popcount_xor=popcount_xor, rank=rank, ap_at_k=ap_at_k,
                           p_at_k=p_at_k, acg=acg, dcg=dcg, ndcg=ndcg, gain=gain,
                           pr_curve=pr_curve, tie_orders=tie_orders)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)
