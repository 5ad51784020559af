"""Shared fixtures for the data tests."""

from __future__ import annotations

import socket
import urllib.request

import pytest


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any network access or tonic download raises; ``SPIKINGHASH_DATA_ROOT`` is unset.

    Loading from local files must work under it: a loader that tried to download would
    fail the test instead of silently fetching data.
    """
    import tonic.dataset
    import tonic.download_utils

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(tonic.download_utils, "download_url", refuse)
    monkeypatch.setattr(tonic.download_utils, "download_and_extract_archive", refuse)
    monkeypatch.setattr(tonic.dataset, "download_and_extract_archive", refuse)
    monkeypatch.delenv("SPIKINGHASH_DATA_ROOT", raising=False)
