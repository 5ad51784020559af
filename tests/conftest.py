"""Session-wide test settings: generated datasets go to a temporary cache, never ~/.cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _temporary_dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["SPIKINGHASH_CACHE"] = str(tmp_path_factory.mktemp("spikinghash-cache"))
