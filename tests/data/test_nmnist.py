"""Tests of data/nmnist.py on tiny files written in N-MNIST's 40-bit event format."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.events import EVENT_DTYPE
from spikinghash.data.nmnist import NMNIST_INFO
from spikinghash.data.registry import load_split
from spikinghash.errors import ConfigError, DataError

pytestmark = pytest.mark.usefixtures("offline")

# Hand-chosen (x, y, t µs, p), deliberately not in time order; t = 2^23 - 1 is the
# largest 23-bit timestamp. The loader must return them sorted by t.
EVENTS = [(33, 0, 70_000, 0), (0, 33, 5, 1), (17, 5, 8_388_607, 1), (4, 9, 256, 0)]


def encode(events: list[tuple[int, int, int, int]]) -> bytes:
    """N-MNIST records: x byte, y byte, then polarity bit and 23-bit timestamp, big-endian."""
    out = bytearray()
    for x, y, t, p in events:
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def write_nmnist(top: Path, per_digit: int = 1) -> Path:
    """``top/NMNIST/{Train,Test}/<digit>/<id>.bin``: one event per file except Test/3/00000.bin."""
    for folder in ("Train", "Test"):
        for digit in range(10):
            for i in range(per_digit):
                f = top / "NMNIST" / folder / str(digit) / f"{i:05d}.bin"
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(encode([(digit, i, 100 * digit, digit % 2)]))
    (top / "NMNIST" / "Test" / "3" / "00000.bin").write_bytes(encode(EVENTS))
    return top


def test_events_come_back_exactly_as_written(tmp_path: Path) -> None:
    query = load_split("nmnist", "query", root=write_nmnist(tmp_path))
    assert len(query) == 10 and query.labels.dtype == np.int64
    events, label = query[3]
    assert label == 3 and events.dtype == EVENT_DTYPE
    assert events.tolist() == sorted(EVENTS, key=lambda e: e[2])
    events, label = query[8]
    assert label == 8 and events.tolist() == [(8, 0, 800, 0)]


def test_query_is_test_database_is_train_and_train_is_database(tmp_path: Path) -> None:
    write_nmnist(tmp_path)
    splits = {s: load_split("nmnist", s, root=tmp_path) for s in ("query", "database", "train")}
    assert all(p.parts[-3] == "Test" for p in splits["query"].paths)
    assert all(p.parts[-3] == "Train" for p in splits["database"].paths)
    assert splits["train"].paths == splits["database"].paths
    assert splits["database"].labels.tolist() == list(range(10))
    assert splits["query"].info is NMNIST_INFO


def test_nmnist_folder_itself_and_environment_variable_work_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_nmnist(tmp_path / "nmnist")
    assert len(load_split("nmnist", "database", root=tmp_path / "nmnist" / "NMNIST")) == 10
    monkeypatch.setenv("SPIKINGHASH_DATA_ROOT", str(tmp_path))
    assert len(load_split("nmnist", "database")) == 10


def test_query_per_class_is_a_seeded_subset_of_test(tmp_path: Path) -> None:
    write_nmnist(tmp_path, per_digit=3)
    a = load_split("nmnist", "query", root=tmp_path, query_per_class=2, seed=5)
    b = load_split("nmnist", "query", root=tmp_path, query_per_class=2, seed=5)
    assert np.bincount(a.labels).tolist() == [2] * 10 and a.paths == b.paths
    with pytest.raises(ConfigError, match="has only 3 test samples"):
        load_split("nmnist", "query", root=tmp_path, query_per_class=4)


def test_iteration_stops_at_the_end(tmp_path: Path) -> None:
    assert len(list(load_split("nmnist", "query", root=write_nmnist(tmp_path)))) == 10


def test_missing_files_name_the_expected_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"expected {re.escape(str(tmp_path))}/NMNIST/Test/<digit 0-9>/\*\.bin"):
        load_split("nmnist", "query", root=tmp_path)


def test_missing_digit_folder_is_named(tmp_path: Path) -> None:
    write_nmnist(tmp_path)
    for f in (tmp_path / "NMNIST" / "Train" / "7").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"incomplete: no \*\.bin files in .*Train/7"):
        load_split("nmnist", "train", root=tmp_path)


def test_no_root_and_no_environment_variable_is_a_data_error() -> None:
    with pytest.raises(DataError, match="SPIKINGHASH_DATA_ROOT"):
        load_split("nmnist", "query")


@pytest.mark.parametrize(
    "content, message",
    [
        (encode(EVENTS)[:-2], "not a whole number of 5-byte"),
        (b"", "holds no N-MNIST events"),
        (encode([(34, 0, 1, 0)]), "outside the 34x34 sensor"),
    ],
    ids=["truncated", "empty", "x outside sensor"],
)
def test_corrupt_file_is_a_data_error_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    write_nmnist(tmp_path)
    bad = tmp_path / "NMNIST" / "Test" / "3" / "00000.bin"
    bad.write_bytes(content)
    query = load_split("nmnist", "query", root=tmp_path)
    with pytest.raises(DataError, match=message) as err:
        query[3]
    assert str(bad) in str(err.value)


def test_classes_and_sensor_match_tonic() -> None:
    from tonic.datasets import NMNIST

    assert NMNIST_INFO.classes == tuple(NMNIST.classes)
    assert NMNIST_INFO.sensor_size == NMNIST.sensor_size


def test_the_offline_guard_would_catch_a_download(tmp_path: Path) -> None:
    # tonic's own dataset class downloads when files are missing; under the guard it must fail,
    # so the loads above really ran without any download.
    from tonic.datasets import NMNIST

    with pytest.raises(AssertionError, match="network access attempted"):
        NMNIST(save_to=str(tmp_path))
