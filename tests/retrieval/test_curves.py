"""The P@k curve against the brute-force references of conftest.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikinghash.errors import ConfigError
from spikinghash.retrieval.codes import CodeSet
from spikinghash.retrieval.curves import default_cutoffs, precision_curve
from spikinghash.retrieval.plots import plot_pr_curve, plot_precision_curve


@pytest.mark.parametrize("bits", [1, 7, 16])
def test_precision_curve_matches_brute_force(bits: int, rng: np.random.Generator, brute) -> None:  # type: ignore[no-untyped-def]
    q = rng.integers(0, 2, (9, bits))
    db = rng.integers(0, 2, (40, bits))
    ql, dl = rng.integers(0, 3, 9), rng.integers(0, 3, 40)
    ks = [1, 2, 5, 13, 40, 90]
    got = precision_curve(CodeSet.from_bits(q, db, ql, dl), ks, block_budget=100)
    for j, k in enumerate(ks):
        want = np.mean([brute.p_at_k([float(dl[i] == ql[a]) for i in brute.rank(q[a].tolist(), db.tolist())], k)
                        for a in range(len(q))])
        assert got[j] == pytest.approx(want, abs=1e-12)


def test_bad_cutoffs_and_plot_files(rng: np.random.Generator, tmp_path: Path) -> None:
    codes = CodeSet.from_bits(rng.integers(0, 2, (3, 8)), rng.integers(0, 2, (5, 8)), np.zeros(3, int), np.zeros(5, int))
    with pytest.raises(ConfigError):
        precision_curve(codes, [0, 3])
    assert default_cutoffs(5000)[0] == 1 and default_cutoffs(5000)[-1] == 5000
    for path in (plot_pr_curve([1.0, 0.5], [0.1, 0.9], tmp_path / "pr.png", "t"),
                 plot_precision_curve([1, 10], np.array([1.0, 0.5]), tmp_path / "pk.png", "t")):
        assert path.read_bytes()[:4] == b"\x89PNG"
