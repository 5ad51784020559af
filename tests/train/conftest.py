"""Shared settings for the trainer tests: the tiniest run that still exercises every part."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import pytest

from spikinghash.train.config import LossConfig, TrainConfig

#: 48 dvs-digits samples (32 train = 4 batches of 8, 16 queries); a 15k-parameter TransHash.
TINY_DATA = {"digits_per_class": 3, "temporal_per_class": 3}
TINY_TRANSHASH = {"dim": 16, "depth": 1, "heads": 2, "patch_size": 8}


def tiny_config(**changes: Any) -> TrainConfig:
    """A 2-epoch CPU run of the tiny TransHash on tiny dvs-digits; ``changes`` replace fields."""
    base = TrainConfig(model="transhash", data="dvs-digits", bits=8, T=4, epochs=2, batch_size=8, eval_every=0,
                       device="cpu", data_options=dict(TINY_DATA), model_options=dict(TINY_TRANSHASH),
                       loss=LossConfig())
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="session")
def make_config() -> Callable[..., TrainConfig]:
    return tiny_config
