"""Motion programs and the half swap that makes temporal-order class pairs."""

from __future__ import annotations

import numpy as np

from spikinghash.data.events import make_events
from spikinghash.data.motions import CLASS_NAMES, SIMILAR_PAIRS, MotionProgram, make_program, swap_halves


def test_swap_halves_keeps_every_event_and_only_moves_time() -> None:
    rng = np.random.default_rng(0)
    d = 200_001
    ev = make_events(rng.integers(0, 32, 500), rng.integers(0, 32, 500), rng.integers(1, d + 1, 500),
                     rng.integers(0, 2, 500))
    out = swap_halves(ev, d)
    assert np.all(np.diff(out["t"]) >= 0) and out["t"].min() >= 1 and out["t"].max() <= d
    key = lambda e: sorted(zip(e["x"].tolist(), e["y"].tolist(), e["p"].tolist()))  # noqa: E731
    assert key(out) == key(ev)
    # the events of the second half now come first, shifted back by D/2, and vice versa
    late = ev[ev["t"] > d // 2]
    np.testing.assert_array_equal(out["t"][: len(late)], late["t"] - d // 2)
    np.testing.assert_array_equal(out["x"][: len(late)], late["x"])
    # swapping twice restores the original when D is even
    ev2 = ev[ev["t"] <= 200_000]
    twice = swap_halves(swap_halves(ev2, 200_000), 200_000)
    np.testing.assert_array_equal(twice, ev2)


def test_program_passes_through_its_knots_with_zero_speed_there() -> None:
    pr = MotionProgram(np.array([0.0, 4.0, -2.0]), np.array([1.0, 1.0, 3.0]), np.array([1.0, 0.0, 1.0]), 100_000)
    x, y, c = pr.at(np.array([0, 50_000, 100_000]))
    np.testing.assert_allclose(x, [0, 4, -2])
    np.testing.assert_allclose(y, [1, 1, 3])
    np.testing.assert_allclose(c, [1, 0, 1])
    dx = np.diff(pr.at(np.array([49_999, 50_000, 50_001]))[0])
    assert np.abs(dx).max() < 1e-6  # a saccade brakes to rest at each corner


def test_class_table_and_pairs() -> None:
    assert len(CLASS_NAMES) == 16 and CLASS_NAMES[:10] == tuple(f"digit-{d}" for d in range(10))
    rng = np.random.default_rng(1)
    for a, b in SIMILAR_PAIRS:
        pa, pb = make_program(a, 200_000, rng), make_program(b, 200_000, rng)
        assert not pa.swap_halves and pb.swap_halves
    sweep = make_program(10, 200_000, rng)  # R-L-R: starts right, turns at the middle
    x0, x_mid, x_end = sweep.at(np.array([0, 100_000, 200_000]))[0]
    assert x0 > x_mid + 7 and x_end > x_mid + 7
    fade = make_program(14, 200_000, rng)
    np.testing.assert_allclose(fade.at(np.array([0, 100_000, 200_000]))[2], [0, 1, 0])
