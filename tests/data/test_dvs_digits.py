"""The built-in dataset: determinism, protocol splits, temporal pairs, cache behaviour."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spikinghash.data import dvs_digits
from spikinghash.data.dvs_digits import DvsDigitsConfig, generate
from spikinghash.data.events import EVENT_DTYPE, validate_events
from spikinghash.data.motions import make_program, swap_halves
from spikinghash.data.registry import dataset_info, load_split
from spikinghash.errors import ConfigError, DataError

SMALL = dict(digits_per_class=4, temporal_per_class=4, batch=32)


@pytest.fixture(scope="module")
def small() -> dict[str, np.ndarray]:
    return generate(DvsDigitsConfig(**SMALL), workers=1)


def test_generation_is_deterministic_and_independent_of_workers(small: dict[str, np.ndarray]) -> None:
    again = generate(DvsDigitsConfig(**SMALL), workers=2)
    for k in small:
        np.testing.assert_array_equal(small[k], again[k])
    other = generate(DvsDigitsConfig(**SMALL, seed=1), workers=1)
    assert not np.array_equal(other["events"]["x"][:1000], small["events"]["x"][:1000])


def test_samples_are_valid_event_streams(small: dict[str, np.ndarray]) -> None:
    ev, off = small["events"], small["offsets"]
    assert ev.dtype == EVENT_DTYPE and off[0] == 0 and off[-1] == len(ev)
    assert len(small["labels"]) == 10 * 4 + 6 * 4
    for i in range(len(off) - 1):
        sample = ev[off[i]: off[i + 1]]
        validate_events(sample, (32, 32, 2), f"sample {i}")
        assert 500 < len(sample) < 20_000
        assert 0 < sample["t"].min() and sample["t"].max() <= 250_000  # within 150–250 ms


def test_splits_follow_the_retrieval_protocol(small: dict[str, np.ndarray]) -> None:
    q, db, tr = small["query"], small["database"], small["train"]
    assert len(np.intersect1d(q, db)) == 0
    assert len(np.union1d(q, db)) == len(small["labels"])
    assert set(tr) <= set(db)
    # every class has queries, in proportion to its size
    assert set(small["labels"][q]) == set(range(16))


def test_swapped_class_is_the_recording_of_its_partner_with_halves_exchanged() -> None:
    cfg = DvsDigitsConfig(**SMALL)
    images, _ = dvs_digits._digit_images(cfg)
    forward = make_program(10, 180_000, np.random.default_rng(5))
    swapped = replace(forward, swap_halves=True)
    a = dvs_digits._record_batch(images[:1], [forward], cfg, np.random.default_rng(9))[0]
    b = dvs_digits._record_batch(images[:1], [swapped], cfg, np.random.default_rng(9))[0]
    np.testing.assert_array_equal(b, swap_halves(a, 180_000))


def test_temporal_pairs_differ_in_order_not_in_their_time_summed_events(small: dict[str, np.ndarray]) -> None:
    # Sweeps: the mean x of ON events in the first half moves opposite ways within a pair,
    # while the polarity balance of the two classes is the same.
    ev, off, lab = small["events"], small["offsets"], small["labels"]

    def first_half_on_drift(i: int) -> float:
        s = ev[off[i]: off[i + 1]]
        on = s[s["p"] == 1]
        mid = np.median(on["t"])
        early, late = on[on["t"] < mid / 2], on[(on["t"] >= mid / 2) & (on["t"] < mid)]
        return float(late["x"].mean() - early["x"].mean())

    r_l_r = [first_half_on_drift(i) for i in np.flatnonzero(lab == 10)]
    l_r_l = [first_half_on_drift(i) for i in np.flatnonzero(lab == 11)]
    assert max(r_l_r) < 0 < min(l_r_l)


def test_loader_generates_once_into_the_cache_and_reuses_it(tmp_path: Path) -> None:
    split = load_split("dvs-digits", "query", root=tmp_path, **SMALL)
    files = list((tmp_path / "dvs-digits").glob("*.npz"))
    assert len(files) == 1 and not list((tmp_path / "dvs-digits").glob(".*tmp*"))
    mtime = files[0].stat().st_mtime_ns
    db = load_split("dvs-digits", "database", root=tmp_path, **SMALL)
    assert files[0].stat().st_mtime_ns == mtime
    assert len(split) + len(db) == 64
    events, label = split[0]
    assert events.dtype == EVENT_DTYPE and label == split.labels[0]
    events["x"][:] = 0  # callers may scribble on what they get (tonic transforms do)
    assert split[0][0]["x"].any()
    assert dataset_info("dvs-digits").similar_classes == ((10, 11), (12, 13), (14, 15))


def test_interrupted_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def half_write(file: str, **arrays: object) -> None:
        Path(file).write_bytes(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_write)
    with pytest.raises(KeyboardInterrupt):
        dvs_digits.ensure_generated(DvsDigitsConfig(**SMALL), tmp_path)
    assert list((tmp_path / "dvs-digits").iterdir()) == []


def test_corrupt_cache_is_reported_with_the_fix(tmp_path: Path) -> None:
    path = dvs_digits.ensure_generated(DvsDigitsConfig(**SMALL), tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    dvs_digits._LOADED.clear()
    with pytest.raises(DataError, match="corrupt.*--force"):
        load_split("dvs-digits", "query", root=tmp_path, **SMALL)


@pytest.mark.parametrize("bad", [dict(sensor_px=16), dict(query_fraction=1.0), dict(duration_ms=(0, 10)),
                                 dict(temporal_per_class=1), dict(digit_px=40)])
def test_impossible_settings_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        DvsDigitsConfig(**bad)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown dvs-digits option"):
        load_split("dvs-digits", "query", colour="red")


@pytest.mark.slow
def test_full_default_dataset(tmp_path: Path) -> None:
    """The default dataset: size, balance and event statistics (≈ 30–60 s on 2 cores)."""
    path = dvs_digits.ensure_generated(DvsDigitsConfig(), tmp_path)
    data = dvs_digits.read_cache(path)
    n = len(data["labels"])
    assert n == 1797 + 6 * 200 >= 2000
    counts = np.diff(data["offsets"])
    assert 2000 < counts.mean() < 8000  # N-MNIST has ~4,000 events per 300 ms sample
    assert 0.45 < data["events"]["p"].mean() < 0.55
    assert len(data["query"]) == pytest.approx(0.2 * n, abs=16)
    assert os.path.getsize(path) == pytest.approx(len(data["events"]) * EVENT_DTYPE.itemsize, rel=0.05)
