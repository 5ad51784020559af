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


# --- Writers of the publishers' file formats, for the tests of the file loaders. ---


def _write_mat(path, columns: dict, version: str = "v5") -> None:
    """A MATLAB file holding each of ``columns`` as an ``[N, 1]`` column vector.

    ``v5``: written by scipy.io.savemat, the format of the UCF101-DVS/HMDB51-DVS releases.
    ``v7.3``: MATLAB's HDF5 form, written with h5py as MATLAB does: a 512-byte text
    header (HDF5 user block), each variable stored transposed as ``[1, N]`` with its
    ``MATLAB_class`` attribute.
    """
    import numpy as np

    if version == "v5":
        from scipy.io import savemat

        savemat(str(path), {k: np.asarray(v).reshape(-1, 1) for k, v in columns.items()})
        return
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        for k, v in columns.items():
            v = np.asarray(v)
            d = f.create_dataset(k, data=v.reshape(1, -1))
            d.attrs["MATLAB_class"] = np.bytes_({"f": "double", "u": f"uint{8 * v.itemsize}",
                                                 "i": f"int{8 * v.itemsize}"}[v.dtype.kind])
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 2020 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:  # MAT header: 116 text bytes, 8-byte subsystem offset, version 0x0200, "IM"
        f.write(text.ljust(116) + bytes(8) + b"\x00\x02IM")


@pytest.fixture
def write_mat():
    """``write_mat(path, {"x": ..., "y": ..., "ts": ..., "pol": ...}, version="v5"|"v7.3")``."""
    return _write_mat


def _py2_pickle(obj: object) -> bytes:
    """``obj`` pickled as Python 2's cPickle (protocol 2) wrote the CIFAR batches.

    Python 2 had one string type, written as SHORT_BINSTRING/BINSTRING; Python 3's pickler
    writes ``bytes`` through ``_codecs.encode`` instead, so every ``str`` and ``bytes``
    (keys, file names, numpy's raw array data) is written the Python 2 way here.
    """
    import io
    import pickle
    import struct

    class Py2Pickler(pickle._Pickler):  # the pure-Python pickler, whose dispatch table can be extended
        dispatch = dict(pickle._Pickler.dispatch)

        def save_py2_str(self, s: str | bytes) -> None:
            data = s.encode("latin1") if isinstance(s, str) else s
            if len(data) < 256:
                self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
            else:
                self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
            self.memoize(s)

        dispatch[str] = save_py2_str
        dispatch[bytes] = save_py2_str

    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


@pytest.fixture
def py2_pickle():
    """``py2_pickle(obj) -> bytes`` in the CIFAR archives' pickle dialect."""
    return _py2_pickle


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    from spikinghash.cli.main import main

    code = main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """``run_cli(argv) -> (exit code, non-empty stderr lines)`` of ``spikinghash ...`` run in-process."""
    return lambda argv: _run_cli(argv, capsys)


@pytest.fixture
def cli_error(capsys: pytest.CaptureFixture[str]):
    """``cli_error(argv, needle)``: ``spikinghash argv`` exits 2 with one ``error: ...`` line holding ``needle``."""

    def check(argv: list[str], needle: str) -> str:
        code, err = _run_cli(argv, capsys)
        assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and needle in err[0], (code, err)
        assert "Traceback" not in "\n".join(err)
        return err[0]

    return check
