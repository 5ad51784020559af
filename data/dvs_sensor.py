"""A dynamic vision sensor (DVS) pixel-array model: log-intensity video in, events out.

Each pixel keeps a reference log intensity ``L_ref``. When the current log
intensity ``L = ln(I + I_dark)`` has risen by at least the pixel's ON contrast
threshold ``θ_on`` above ``L_ref``, the pixel emits an ON event and moves
``L_ref`` up by ``θ_on``; symmetrically for OFF events with ``θ_off``. After an
event the pixel is blind for a refractory period. Thresholds differ from pixel to
pixel (fixed-pattern mismatch), and each pixel also emits background-activity
noise events (junction leakage and shot noise) as a Poisson process.

This is the idealised pixel of Lichtsteiner et al. (IEEE JSSC 2008) as used by
event-camera simulators (ESIM, v2e), stepped on a fixed time grid; at most one
event per pixel per step, so the grid step must not exceed the refractory period.
The simulator is batched: all arrays are ``[B, H, W]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikinghash.errors import ConfigError


@dataclass(frozen=True)
class DVSSensorParams:
    """Physical parameters of the simulated sensor.

    Attributes:
        width, height: pixel array size (pixels).
        step_us: simulation time step (µs); timestamps are jittered uniformly inside it.
        theta_on, theta_off: mean ON/OFF contrast thresholds, in natural-log intensity
            units (0.25 means a 28 % brightness change; real DVS pixels: 0.15–0.4).
        theta_sigma: pixel-to-pixel standard deviation of the thresholds (log units),
            the sensor's fixed-pattern mismatch; thresholds are floored at 0.05.
        refractory_us: dead time of a pixel after each of its events (µs).
        noise_rate_hz: background-activity rate per pixel (events/s), half ON, half OFF.
        dark_intensity: photodiode dark level added to the scene intensity (in units of
            the brightest scene value) before the log; keeps ``ln`` finite in black regions.
    """

    width: int = 32
    height: int = 32
    step_us: int = 500
    theta_on: float = 0.25
    theta_off: float = 0.25
    theta_sigma: float = 0.03
    refractory_us: int = 1000
    noise_rate_hz: float = 1.0
    dark_intensity: float = 0.02

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ConfigError(f"sensor size {self.width}x{self.height} is impossible; use at least 1x1 pixels")
        if self.step_us <= 0 or self.refractory_us < self.step_us:
            raise ConfigError(
                f"step_us={self.step_us} and refractory_us={self.refractory_us}: the step must be positive "
                "and no longer than the refractory period (one event per pixel per step)"
            )
        if min(self.theta_on, self.theta_off) <= 0 or self.theta_sigma < 0:
            raise ConfigError("contrast thresholds must be positive and their mismatch non-negative")


class DVSPixelArray:
    """The state of ``batch`` independent sensors, advanced one time step at a time.

    Args:
        params: sensor parameters.
        first_frame: ``[B, H, W]`` scene intensity (≥ 0) the pixels have adapted to at t = 0.
        rng: source of mismatch, initial reference jitter, timestamp jitter and noise.
    """

    def __init__(self, params: DVSSensorParams, first_frame: np.ndarray, rng: np.random.Generator) -> None:
        self.p = params
        self.rng = rng
        shape = first_frame.shape
        self.theta_on = np.maximum(rng.normal(params.theta_on, params.theta_sigma, shape), 0.05).astype(np.float32)
        self.theta_off = np.maximum(rng.normal(params.theta_off, params.theta_sigma, shape), 0.05).astype(np.float32)
        # Pixels start at an unknown point inside their dead band, not all exactly at L.
        jitter = rng.uniform(-0.5, 0.5, shape).astype(np.float32) * self.theta_off
        self.ref = self.log_intensity(first_frame) + jitter
        self.last_event_us = np.full(shape, -(10**9), dtype=np.int64)
        self.noise_p = params.noise_rate_hz * params.step_us * 1e-6

    def log_intensity(self, frame: np.ndarray) -> np.ndarray:
        """``ln(I + I_dark)``, the quantity a DVS pixel's photoreceptor reports, ``[B, H, W]``."""
        return np.log(frame.astype(np.float32) + np.float32(self.p.dark_intensity))

    def step(self, frame: np.ndarray, t_us: int, active: np.ndarray) -> tuple[np.ndarray, ...]:
        """Advance to time ``t_us`` with scene ``frame`` ``[B, H, W]``.

        Args:
            active: ``[B]`` bool, sensors still recording (finished samples emit nothing).

        Returns:
            ``(b, y, x, t, p)`` arrays of the events emitted in this step, ``t`` in µs.
        """
        level = self.log_intensity(frame)
        diff = level - self.ref
        ready = ((t_us - self.last_event_us) >= self.p.refractory_us) & active[:, None, None]
        on = ready & (diff >= self.theta_on)
        off = ready & (diff <= -self.theta_off)
        # One threshold step per event: the reference follows the signal in quanta, so
        # a large change keeps the pixel firing on later steps (bandwidth-limited).
        self.ref += np.where(on, self.theta_on, 0) - np.where(off, self.theta_off, 0)
        fired = on | off
        self.last_event_us[fired] = t_us
        b, y, x = np.nonzero(fired)
        pol = on[b, y, x].astype(np.int8)
        # Background activity: draw the noise events' count and places directly (sparse).
        nb, h, w = frame.shape
        n_noise = self.rng.poisson(self.noise_p * h * w, nb) * active
        nb_ = np.repeat(np.arange(nb), n_noise)
        ny, nx = self.rng.integers(0, h, len(nb_)), self.rng.integers(0, w, len(nb_))
        b, y, x = np.concatenate([b, nb_]), np.concatenate([y, ny]), np.concatenate([x, nx])
        pol = np.concatenate([pol, self.rng.integers(0, 2, len(nb_), dtype=np.int8)])
        t = t_us - self.rng.integers(0, self.p.step_us, len(b))
        return b, y, x, t, pol
