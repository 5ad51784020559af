"""The hash readout of a simulated network (paper Eq. 18)."""

from __future__ import annotations

import numpy as np


def hash_codes(spikes: np.ndarray) -> np.ndarray:
    """Eq. 18: AND over time steps, hash-layer spikes ``[T, B, L]`` -> codes ``[B, L]`` uint8 in {0, 1}.

    The same rule as ``models.hash_heads.and_over_time`` (hw_sim may not import models).
    """
    return np.all(np.asarray(spikes) != 0, axis=0).astype(np.uint8)
