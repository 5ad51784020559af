"""What the graph's input carries, measured on the frames: static images, event frames or binary events.

The kind decides how the input-fed ("first") layer is priced (``docs/energy.md``, "The first layer"):

- ``"static"``: every sample's frames are equal at all T steps (an image repeated T times, the
  paper's CIFAR convention): Eq. 26 prices the first layer's MACs once, not T times;
- ``"event_frames"``: frames that change over time and hold values other than 0/1 (event counts,
  intensities): Eq. 26 prices the first layer's MACs at every step (× T);
- ``"binary_events"``: every value is 0 or 1 and they change over time: the input is spikes, so
  Eq. 26 prices the first layer as accumulates at the input's event rate, like any spiking layer.

Hardware models see the input as graded events: one event per nonzero input value per step
(``events_per_sample``), each delivered to its fan-out; a non-binary value needs a multiply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from spikinghash.errors import DataError

KINDS = ("static", "event_frames", "binary_events")


@dataclass(frozen=True)
class InputProfile:
    """Per sample: nonzero input values per element summed over the T steps (``events_per_sample``,
    ``[*input_shape]``), the input kind (:data:`KINDS`), and T."""

    kind: str
    events_per_sample: np.ndarray
    steps: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"input kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def binary(self) -> bool:
        return self.kind == "binary_events"

    @property
    def rate(self) -> float:
        """Nonzero input values per element per step (the first layer's R in Eq. 25 for binary events)."""
        return float(self.events_per_sample.sum()) / (self.steps * max(self.events_per_sample.size, 1))


class InputMeter:
    """Accumulates :class:`InputProfile` over batches of frames ``[T, B, *input_shape]``."""

    def __init__(self) -> None:
        self.nonzero: np.ndarray | None = None
        self.samples = 0
        self.steps = 0
        self.all_binary = True
        self.all_static = True

    def add(self, frames: np.ndarray) -> None:
        x = np.asarray(frames)
        nz = (x != 0).sum(axis=(0, 1))
        self.nonzero = nz if self.nonzero is None else self.nonzero + nz
        self.samples += x.shape[1]
        self.steps = x.shape[0]
        self.all_binary = self.all_binary and bool(np.all((x == 0) | (x == 1)))
        self.all_static = self.all_static and bool(np.all(x == x[:1]))

    def profile(self) -> InputProfile:
        if self.nonzero is None or self.samples == 0:
            raise DataError("no frames were measured; give at least one sample")
        kind = "static" if self.all_static else "binary_events" if self.all_binary else "event_frames"
        return InputProfile(kind, self.nonzero.astype(np.float64) / self.samples, self.steps)


def measure_input(batches: Iterable[np.ndarray]) -> InputProfile:
    """The :class:`InputProfile` of frames ``[T, B, *input_shape]`` given in batches."""
    meter = InputMeter()
    for x in batches:
        meter.add(x)
    return meter.profile()
