"""What the digit does in front of the sensor: one motion program per dvs-digits class.

Classes 0–9 are the digits themselves, each seen during three saccades along a
small triangle, the way N-MNIST was recorded by moving a sensor in front of a
static MNIST digit (Orchard et al., Front. Neurosci. 2015).

Classes 10–15 are three pairs that differ *only in temporal order* (our stand-in
for the paper's "sit"/"stand" pair, Fig. 1 and Table XI). Each sample shows a
random digit doing an out-and-back movement whose turning point is the middle of
the recording. The second class of a pair is recorded exactly like the first and
then has the two halves of its event stream swapped (:func:`swap_halves`): the
same events, pixel for pixel and polarity for polarity, in another order.
(Re-simulating the reversed scene would not do: a DVS pixel's hysteresis leaves a
fade-in-then-out with slightly more ON than OFF events, and its reverse with the
opposite, a cue that needs no temporal modelling.)

- ``sweep-R-L-R`` / ``sweep-L-R-L``: start at one side, sweep across, come back;
- ``sweep-D-U-D`` / ``sweep-U-D-U``: the same vertically;
- ``fade-in-out`` / ``fade-out-in``: a still digit appears then vanishes, or vanishes then reappears.

A model that pools its input over time cannot tell the two classes of a pair
apart; a model with temporal structure can. Each pair is listed as "similar
classes" (relevance 0.5 in ACG/NDCG, Eqs. 27–29).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIGIT_CLASSES = tuple(f"digit-{d}" for d in range(10))
# Sweeps are named by the positions visited (R = right, L = left, D = down, U = up).
TEMPORAL_CLASSES = (
    "sweep-R-L-R",
    "sweep-L-R-L",
    "sweep-D-U-D",
    "sweep-U-D-U",
    "fade-in-out",
    "fade-out-in",
)
CLASS_NAMES = DIGIT_CLASSES + TEMPORAL_CLASSES
SIMILAR_PAIRS = tuple((10 + 2 * i, 11 + 2 * i) for i in range(3))


@dataclass(frozen=True)
class MotionProgram:
    """Digit position and contrast over one sample.

    Attributes:
        knots_x, knots_y: ``[K]`` positions (pixels, relative to the sensor centre) at
            equally spaced knots from t = 0 to t = duration; smooth steps between knots.
        knots_c: ``[K]`` digit contrast (0 = invisible, 1 = full) at the same knots.
        duration_us: sample length (µs).
        swap_halves: the recorded events' two halves are exchanged (second class of a pair).
    """

    knots_x: np.ndarray
    knots_y: np.ndarray
    knots_c: np.ndarray
    duration_us: int
    swap_halves: bool = False

    def at(self, t_us: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, contrast)`` at time ``t_us``, with a cosine velocity profile per segment
        (the eye's saccade: accelerate, then brake)."""
        segments = len(self.knots_x) - 1
        s = np.clip(np.asarray(t_us, dtype=np.float64) / self.duration_us, 0.0, 1.0) * segments
        k = np.minimum(np.floor(s).astype(int), segments - 1)
        w = 0.5 - 0.5 * np.cos(np.pi * (s - k))
        lerp = lambda v: v[k] + (v[k + 1] - v[k]) * w  # noqa: E731
        return lerp(self.knots_x), lerp(self.knots_y), lerp(self.knots_c)


def make_program(label: int, duration_us: int, rng: np.random.Generator) -> MotionProgram:
    """Draw the motion of one sample of class ``label`` (random amplitude, orientation, offset)."""
    off = rng.uniform(-1.5, 1.5, 2)
    if label < 10:
        # Three saccades around a triangle of random size and orientation, back to the start.
        radius = rng.uniform(2.0, 3.5)
        phase = rng.uniform(0, 2 * np.pi)
        ang = phase + np.array([0, 2, 4, 6]) * np.pi / 3
        xs, ys = off[0] + radius * np.cos(ang), off[1] + radius * np.sin(ang)
        return MotionProgram(xs, ys, np.ones(4), duration_us)
    kind, swap = (label - 10) // 2, (label - 10) % 2 == 1
    if kind < 2:
        amp = rng.uniform(4.0, 6.0)
        along, across = np.array([amp, -amp, amp]), np.zeros(3)
        xs, ys = (along, across) if kind == 0 else (across, along)
        return MotionProgram(xs + off[0], ys + off[1], np.ones(3), duration_us, swap)
    return MotionProgram(np.full(3, off[0]), np.full(3, off[1]), np.array([0.0, 1.0, 0.0]), duration_us, swap)


def swap_halves(events: np.ndarray, duration_us: int) -> np.ndarray:
    """Exchange the halves ``(0, D/2]`` and ``(D/2, D]`` of an event stream, keeping each half's order.

    Args:
        events: time-sorted ``EVENT_DTYPE`` array with timestamps in ``(0, duration_us]``.

    Returns:
        A new time-sorted array with the same events; only timestamps change.
    """
    mid = duration_us // 2
    late = events["t"] > mid
    out = np.concatenate([events[late], events[~late]])
    out["t"][: late.sum()] -= mid
    out["t"][late.sum():] += duration_us - mid
    return out
