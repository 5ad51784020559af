"""Tests of data/cifar10_dvs.py on tiny AEDAT 2.0 files written by hand."""

from __future__ import annotations

import struct
import sys
import types
import re
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data.cifar10_dvs import CIFAR10_DVS_INFO
from spikinghash.data.events import EVENT_DTYPE
from spikinghash.data.registry import load_split
from spikinghash.errors import DataError

pytestmark = pytest.mark.usefixtures("offline")

HEADER = (
    b"#!AER-DAT2.0\r\n"
    b"# This is a raw AE data file - do not edit\r\n"
    b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n"
    b"# Timestamps tick is 1 us\r\n"
)


def address(column: int, row: int, bit0: int, special: bool = False) -> int:
    """jAER DVS128 address: bit 0 polarity code, bits 1-7 column, bits 8-14 row, bit 15 special."""
    return (special << 15) | (row << 8) | (column << 1) | bit0


def encode(records: list[tuple[int, int]]) -> bytes:
    """AEDAT 2.0 body: big-endian uint32 address, uint32 timestamp per event."""
    return HEADER + b"".join(struct.pack(">II", a, t) for a, t in records)


# (column, row, bit0, t µs). The timestamp wraps past 2^32 - 1 between the 3rd and 4th
# event; the special event must be dropped.
RECORDS = [
    (address(0, 127, 1), 4_294_967_290),
    (address(5, 3, 0), 4_294_967_290),
    (address(127, 0, 1), 4_294_967_295),
    (address(9, 9, 0, special=True), 1),
    (address(64, 32, 0), 3),
]
# x = 127 - row, y = 127 - column, p = 1 - bit0, t unwrapped; in time order.
EXPECTED = [
    (0, 127, 4_294_967_290, 0),
    (124, 122, 4_294_967_290, 1),
    (127, 0, 4_294_967_295, 0),
    (95, 63, 4_294_967_299, 1),
]


def write_cifar(top: Path, per_class: int = 3) -> Path:
    """``top/CIFAR10DVS/<class>/cifar10_<class>_<i>.aedat``; ``ship``'s file 1 holds RECORDS."""
    for label, name in enumerate(CIFAR10_DVS_INFO.classes):
        d = top / "CIFAR10DVS" / name
        d.mkdir(parents=True)
        for i in range(per_class):
            (d / f"cifar10_{name}_{i}.aedat").write_bytes(encode([(address(label, i, 0), 10 * i)]))
    (top / "CIFAR10DVS" / "ship" / "cifar10_ship_1.aedat").write_bytes(encode(RECORDS))
    return top


def test_events_come_back_exactly_as_written(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    splits = [load_split("cifar10-dvs", s, root=tmp_path) for s in ("query", "database")]
    by_name = {p.name: (split, i) for split in splits for i, p in enumerate(split.paths)}
    split, i = by_name["cifar10_ship_1.aedat"]
    events, label = split[i]
    assert label == 8 and events.dtype == EVENT_DTYPE
    assert events.tolist() == EXPECTED
    split, i = by_name["cifar10_bird_2.aedat"]
    assert split[i][0].tolist() == [(127 - 2, 127 - 2, 20, 1)]


def test_stratified_split_is_seeded_disjoint_and_covers_everything(tmp_path: Path) -> None:
    write_cifar(tmp_path, per_class=10)
    query = load_split("cifar10-dvs", "query", root=tmp_path, seed=1)
    database = load_split("cifar10-dvs", "database", root=tmp_path, seed=1)
    train = load_split("cifar10-dvs", "train", root=tmp_path, seed=1)
    assert np.bincount(query.labels).tolist() == [1] * 10  # 10 % of 10 per class
    assert not set(query.paths) & set(database.paths)
    assert len(set(query.paths) | set(database.paths)) == 100
    assert train.paths == database.paths
    assert load_split("cifar10-dvs", "query", root=tmp_path, seed=1).paths == query.paths
    assert load_split("cifar10-dvs", "query", root=tmp_path, seed=2).paths != query.paths
    wider = load_split("cifar10-dvs", "query", root=tmp_path, query_fraction=0.3)
    assert np.bincount(wider.labels).tolist() == [3] * 10


def test_files_deeper_in_a_class_folder_and_folder_itself_as_root(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    deep = tmp_path / "CIFAR10DVS" / "cat" / "extra"
    deep.mkdir()
    (tmp_path / "CIFAR10DVS" / "cat" / "cifar10_cat_0.aedat").rename(deep / "cifar10_cat_0.aedat")
    query = load_split("cifar10-dvs", "query", root=tmp_path / "CIFAR10DVS")
    database = load_split("cifar10-dvs", "database", root=tmp_path / "CIFAR10DVS")
    assert len(query) + len(database) == 30


def test_missing_class_folder_names_the_expected_path(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    for f in (tmp_path / "CIFAR10DVS" / "frog").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=rf"expected {re.escape(str(tmp_path))}/CIFAR10DVS/frog/\*\.aedat"):
        load_split("cifar10-dvs", "query", root=tmp_path)


def test_mixed_releases_are_refused(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    (tmp_path / "CIFAR10DVS" / "dog" / "x.aedat4").write_bytes(b"")
    with pytest.raises(DataError, match="mixes .aedat and .aedat4"):
        load_split("cifar10-dvs", "database", root=tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        (encode(RECORDS)[:-3], "not a whole number of 8-byte"),
        # tonic's header reader counts the last header byte as data here, so the size
        # check reports 1 stray byte rather than "no events"; either way the file is named.
        (HEADER, "AEDAT 2.0 events; the file is"),
        (b"\0" * 16, "not an AEDAT 2.0 file"),
        (encode([(1 << 16, 0)]), "wider than 16 bits"),
    ],
    ids=["truncated", "header only", "no header", "address too wide"],
)
def test_corrupt_file_is_a_data_error_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    write_cifar(tmp_path)
    bad = tmp_path / "CIFAR10DVS" / "ship" / "cifar10_ship_1.aedat"
    bad.write_bytes(content)
    splits = [load_split("cifar10-dvs", s, root=tmp_path) for s in ("query", "database")]
    split, i = next((s, s.paths.index(bad)) for s in splits if bad in s.paths)
    with pytest.raises(DataError, match=message) as err:
        split[i]
    assert str(bad) in str(err.value)


def _write_aedat4_release(top: Path) -> Path:
    for name in CIFAR10_DVS_INFO.classes:
        d = top / "CIFAR10DVS" / name
        d.mkdir(parents=True)
        for i in range(2):
            (d / f"{i}.aedat4").write_bytes(b"stand-in")
    return top


def test_aedat4_without_the_aedat_package_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aedat", None)  # makes `import aedat` fail
    query = load_split("cifar10-dvs", "query", root=_write_aedat4_release(tmp_path))
    with pytest.raises(DataError, match="pip install aedat"):
        query[0]


def test_aedat4_fields_are_mapped_by_position_as_tonic_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for the `aedat` decoder's interface as tonic.io.read_aedat4 uses it."""
    fields = [("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("on", "?")]
    packet = np.array([(30, 7, 100, True), (10, 1, 2, False)], dtype=fields)

    class Decoder:
        def __init__(self, path: str) -> None:
            self.path = path

        def id_to_stream(self) -> dict[int, dict[str, str]]:
            return {0: {"type": "events"}, 1: {"type": "frame"}}

        def __iter__(self):
            return iter([{"stream_id": 1, "frame": None}, {"stream_id": 0, "events": packet}])

    monkeypatch.setitem(sys.modules, "aedat", types.SimpleNamespace(Decoder=Decoder))
    query = load_split("cifar10-dvs", "query", root=_write_aedat4_release(tmp_path))
    assert query[0][0].tolist() == [(1, 2, 10, 0), (7, 100, 30, 1)]


def test_classes_and_sensor_match_tonic() -> None:
    from tonic.datasets import CIFAR10DVS

    assert CIFAR10_DVS_INFO.classes == tuple(sorted(CIFAR10DVS.classes, key=CIFAR10DVS.classes.get))
    assert CIFAR10_DVS_INFO.sensor_size == CIFAR10DVS.sensor_size
