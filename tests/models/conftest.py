"""Shared settings for the model tests: tiny inputs that keep the folder fast on 2 cores."""

from __future__ import annotations

import pytest
import torch

#: Build settings every registered model must accept; 16×16 keeps the SWM stages tiny
#: while every size (including the 4-max-pool L/XL) still has a valid DWT grid.
TINY = {"in_channels": 2, "img_size": 16, "T": 4, "bits": 16, "num_classes": 5}


@pytest.fixture
def tiny_settings() -> dict:
    return dict(TINY)


@pytest.fixture
def tiny_input() -> torch.Tensor:
    """``[T=4, B=2, C=2, 16, 16]``, a static frame repeated over time (like an image), scaled
    so that the first layers fire."""
    gen = torch.Generator().manual_seed(1234)
    frame = 2.0 * torch.randn(1, 2, 2, 16, 16, generator=gen)
    return frame.repeat(4, 1, 1, 1, 1)
