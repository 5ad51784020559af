"""The DVS pixel model against hand-derived event counts, timing and noise statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikinghash.data.dvs_sensor import DVSPixelArray, DVSSensorParams
from spikinghash.errors import ConfigError

QUIET = dict(theta_sigma=0.0, noise_rate_hz=0.0)


def run(params: DVSSensorParams, frames: list[np.ndarray], seed: int = 0) -> tuple[np.ndarray, ...]:
    """Step a sensor through ``frames`` (first one = adaptation); concatenated (b, y, x, t, p)."""
    sensor = DVSPixelArray(params, frames[0], np.random.default_rng(seed))
    out = [sensor.step(f, (k + 1) * params.step_us, np.ones(len(f), bool)) for k, f in enumerate(frames[1:])]
    return tuple(np.concatenate([o[i] for o in out]) for i in range(5))


@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("polarity", [1, 0])
def test_log_intensity_step_gives_floor_of_contrast_over_threshold_events(k: int, polarity: int) -> None:
    # A brightness step of (k + 1/2) thresholds in ln(I + I_dark): whatever the pixel's
    # starting point inside its ±θ/2 dead band, exactly k events of the step's sign follow.
    p = DVSSensorParams(width=3, height=2, **QUIET)
    theta = p.theta_on if polarity else p.theta_off
    before = np.full((1, 2, 3), 0.3)
    ratio = math.exp((k + 0.5) * theta * (1 if polarity else -1))
    after = (before + p.dark_intensity) * ratio - p.dark_intensity
    b, y, x, t, pol = run(p, [before] + [after] * 40)
    counts = np.zeros((2, 3), int)
    np.add.at(counts, (y, x), 1)
    assert (counts == k).all()
    assert (pol == polarity).all()


def test_refractory_period_spaces_a_pixels_events() -> None:
    p = DVSSensorParams(width=1, height=1, step_us=250, refractory_us=1000, **QUIET)
    # A jump of 20 thresholds: the pixel fires as fast as its refractory period allows.
    before = np.full((1, 1, 1), 0.05)
    after = (before + p.dark_intensity) * math.exp(20 * p.theta_on) - p.dark_intensity
    *_, t, _ = run(p, [before] + [after] * 100)
    steps = t + (p.step_us - 1)  # undo the in-step jitter's bound: each event lies in (t_step - step, t_step]
    assert len(t) >= 19
    gaps = np.diff(np.sort(t))
    assert gaps.min() >= p.refractory_us - p.step_us + 1
    # and the pixel is not slower than that: one event per refractory period
    assert np.diff(np.sort(steps)).max() <= p.refractory_us + p.step_us


def test_background_noise_rate_matches_the_parameter() -> None:
    p = DVSSensorParams(width=32, height=32, theta_sigma=0.0, noise_rate_hz=5.0)
    frames = [np.full((4, 32, 32), 0.5)] * 801  # a still scene, 4 sensors × 0.4 s
    b, y, x, t, pol = run(p, frames)
    expected = 5.0 * 32 * 32 * 4 * 0.4
    assert abs(len(t) - expected) < 5 * math.sqrt(expected)
    assert abs(pol.mean() - 0.5) < 0.05


def test_threshold_mismatch_has_the_configured_spread() -> None:
    p = DVSSensorParams(width=64, height=64, theta_sigma=0.03)
    sensor = DVSPixelArray(p, np.full((2, 64, 64), 0.5), np.random.default_rng(3))
    assert sensor.theta_on.std() == pytest.approx(0.03, rel=0.1)
    assert sensor.theta_on.mean() == pytest.approx(p.theta_on, abs=0.003)
    assert not np.allclose(sensor.theta_on, sensor.theta_off)


@pytest.mark.parametrize("bad", [dict(width=0), dict(step_us=0), dict(step_us=2000, refractory_us=1000),
                                 dict(theta_on=0.0), dict(theta_sigma=-1.0)])
def test_impossible_sensor_parameters_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        DVSSensorParams(**bad)
