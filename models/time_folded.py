"""Run stateless layers (convolutions, batch norm, pooling) on all time steps at once."""

from __future__ import annotations

from torch import Tensor, nn


class TimeFolded(nn.Sequential):
    """``nn.Sequential`` applied to ``[T, B, ...]`` as one batch of ``T·B`` samples.

    Batch norm inside therefore normalises over time steps and samples together, as in
    Spikingformer and SpikingJelly's multi-step layers.
    """

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """``x: [T, B, ...] -> [T, B, ...']``."""
        steps, batch = x.shape[:2]
        return super().forward(x.flatten(0, 1)).unflatten(0, (steps, batch))
