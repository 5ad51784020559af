"""``dvs-digits``: the built-in event dataset, generated from real handwritten digits.

The 1,797 handwritten digits that ship inside scikit-learn (``load_digits``, 8×8
pixels, 16 grey levels) are upsampled to a 20-pixel digit on a 32×32 sensor,
moved along the motion program of their class (:mod:`spikinghash.data.motions`)
and recorded by the DVS pixel model of :mod:`spikinghash.data.dvs_sensor`.

- Classes 0–9: every one of the 1,797 digits once, seen during three saccades.
- Classes 10–15: ``temporal_per_class`` samples each of three temporal-order pairs,
  each showing a randomly drawn digit; the pairs are the dataset's "similar classes".
- Splits (stratified per class, seeded): ``query`` (``query_fraction``), ``database``
  (the rest); ``train`` is the whole database, as the training set is drawn from the
  database in the standard hashing protocol and this dataset is small.

The dataset is generated on first use into ``cache_dir()/dvs-digits/<key>.npz``,
where ``<key>`` hashes every generation setting, and written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import types
import json
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy import ndimage

from spikinghash.atomic_io import write_npz
from spikinghash.data.dvs_sensor import DVSPixelArray, DVSSensorParams
from spikinghash.data.events import EVENT_DTYPE
from spikinghash.data.motions import CLASS_NAMES, SIMILAR_PAIRS, MotionProgram, make_program, swap_halves
from spikinghash.data.registry import SPLITS, DatasetInfo, cache_dir, register_dataset
from spikinghash.data.retrieval_split import protocol_indices
from spikinghash.errors import ConfigError, DataError

NAME = "dvs-digits"
GENERATOR_VERSION = 2  # bump whenever the generated events would change


@dataclass(frozen=True)
class DvsDigitsConfig:
    """Every setting that determines the generated events.

    Attributes:
        seed: master seed; the dataset is a pure function of this config.
        sensor_px: sensor width = height (pixels, ≥ 32).
        digit_px: size the 8×8 digit is upsampled to (pixels, bilinear).
        duration_ms: ``(low, high)``: each sample's length is uniform in this range (ms).
        background: scene intensity around the digit, as a fraction of the digit's white.
        temporal_per_class: samples in each of the six temporal-order classes.
        digits_per_class: use only the first n digits of each class (``None``: all 1,797);
            for quick tests and experiments.
        query_fraction: fraction of each class held out as queries.
        batch: sensors simulated together (memory/speed trade-off; part of the RNG stream).
        sensor: DVS pixel parameters (its width/height follow ``sensor_px``).
    """

    seed: int = 0
    sensor_px: int = 32
    digit_px: int = 20
    duration_ms: tuple[float, float] = (150.0, 250.0)
    background: float = 0.1
    temporal_per_class: int = 200
    digits_per_class: int | None = None
    query_fraction: float = 0.2
    batch: int = 256
    sensor: DVSSensorParams = field(default_factory=DVSSensorParams)

    def __post_init__(self) -> None:
        if self.sensor_px < 32:
            raise ConfigError(f"sensor_px={self.sensor_px} is too small; dvs-digits needs a sensor of at least 32x32")
        if not 4 <= self.digit_px <= self.sensor_px:
            raise ConfigError(f"digit_px={self.digit_px} must lie between 4 and sensor_px={self.sensor_px}")
        lo, hi = self.duration_ms
        if not 0 < lo <= hi:
            raise ConfigError(f"duration_ms={self.duration_ms} must satisfy 0 < low <= high")
        if not 0 < self.query_fraction < 1:
            raise ConfigError(f"query_fraction={self.query_fraction} must lie strictly between 0 and 1")
        if self.temporal_per_class < 2 or (self.digits_per_class is not None and self.digits_per_class < 2):
            raise ConfigError("temporal_per_class and digits_per_class must be at least 2 (one query, one database sample)")
        if (self.sensor.width, self.sensor.height) != (self.sensor_px, self.sensor_px):
            object.__setattr__(
                self, "sensor", DVSSensorParams(**{**asdict(self.sensor), "width": self.sensor_px, "height": self.sensor_px})
            )

    def key(self) -> str:
        """Short hash of the generator version and every setting: the cache file name."""
        blob = json.dumps({"version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


INFO = DatasetInfo(
    name=NAME,
    kind="events",
    sensor_size=(32, 32, 2),
    classes=CLASS_NAMES,
    similar_classes=SIMILAR_PAIRS,
    description="built-in: sklearn's 1,797 handwritten digits moved in front of a simulated 32x32 DVS, "
    "+ 3 temporal-order class pairs (generated offline)",
)


class EventArraySplit:
    """One split of an event dataset held as one concatenated event array.

    ``events[offsets[j]:offsets[j + 1]]`` are the events of sample ``j``; ``indices``
    selects the split's samples.
    """

    def __init__(self, info: DatasetInfo, split: str, events: np.ndarray, offsets: np.ndarray,
                 labels: np.ndarray, indices: np.ndarray) -> None:
        self.info, self.split = info, split
        self._events, self._offsets, self.indices = events, offsets, indices
        self.labels = labels[indices].astype(np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        j = self.indices[i]
        # A copy: tonic's transforms may write into the array they are given.
        return self._events[self._offsets[j]: self._offsets[j + 1]].copy(), int(self.labels[i])


def _digit_images(cfg: DvsDigitsConfig) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits upsampled to ``digit_px`` and zero-padded: ``[N, P, P]`` in [0, 1], labels ``[N]``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    imgs = digits.images.astype(np.float32) / 16.0
    up = ndimage.zoom(imgs, (1, cfg.digit_px / 8, cfg.digit_px / 8), order=1, grid_mode=True, mode="nearest")
    pad = (cfg.sensor_px + 2 * 12 - cfg.digit_px) // 2 + 2  # room for the largest shifts
    return np.pad(np.clip(up, 0, 1), ((0, 0), (pad, pad), (pad, pad))), digits.target.astype(np.int64)


def _render(images: np.ndarray, xs: np.ndarray, ys: np.ndarray, cs: np.ndarray, cfg: DvsDigitsConfig) -> np.ndarray:
    """Scene intensity ``[B, S, S]`` of digits ``images [B, P, P]`` shifted by ``(xs, ys)`` px.

    A translation keeps the bilinear weights equal over the whole image, so each sample
    is one integer-offset crop of ``S+1`` pixels blended with its two neighbours.
    """
    b, p, _ = images.shape
    s = cfg.sensor_px
    sy, sx = (p - s) / 2 - ys, (p - s) / 2 - xs
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = (sy - y0).astype(np.float32)[:, None, None], (sx - x0).astype(np.float32)[:, None, None]
    ar = np.arange(s + 1)
    crop = images[np.arange(b)[:, None, None], (y0[:, None] + ar)[:, :, None], (x0[:, None] + ar)[:, None, :]]
    rows = crop[:, :-1] * (1 - fy) + crop[:, 1:] * fy
    val = rows[:, :, :-1] * (1 - fx) + rows[:, :, 1:] * fx
    return cfg.background + (1.0 - cfg.background) * cs.astype(np.float32)[:, None, None] * val


def _record_batch(images: np.ndarray, programs: list[MotionProgram], cfg: DvsDigitsConfig,
                  rng: np.random.Generator) -> list[np.ndarray]:
    """Simulate the sensor for one batch of samples; one event array per sample."""
    step = cfg.sensor.step_us
    durations = np.array([pr.duration_us for pr in programs])
    times = np.arange(0, int(durations.max()) + 1, step)
    # Trajectories of the whole batch up front: [3, steps, B] (x, y, contrast).
    traj = np.stack([np.stack(pr.at(times)) for pr in programs], axis=-1)
    sensor = DVSPixelArray(cfg.sensor, _render(images, *traj[:, 0], cfg), rng)
    parts: list[tuple[np.ndarray, ...]] = []
    for k in range(1, len(times)):
        t_us = int(times[k])
        parts.append(sensor.step(_render(images, *traj[:, k], cfg), t_us, durations >= t_us))
    b, y, x, t, pol = (np.concatenate([q[i] for q in parts]) for i in range(5))
    order = np.lexsort((t, b))
    b, y, x, t, pol = b[order], y[order], x[order], t[order], pol[order]
    bounds = np.searchsorted(b, np.arange(len(programs) + 1))
    out = []
    for i in range(len(programs)):
        sl = slice(bounds[i], bounds[i + 1])
        ev = np.empty(sl.stop - sl.start, dtype=EVENT_DTYPE)
        ev["x"], ev["y"], ev["t"], ev["p"] = x[sl], y[sl], t[sl], pol[sl]
        out.append(swap_halves(ev, programs[i].duration_us) if programs[i].swap_halves else ev)
    return out


def _sample_plan(cfg: DvsDigitsConfig, digit_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, image_index)`` of every sample, in generation order."""
    n_digits = len(digit_labels)
    rng = np.random.default_rng([cfg.seed, 1])
    digits = np.arange(n_digits)
    if cfg.digits_per_class is not None:
        digits = np.sort(np.concatenate([np.flatnonzero(digit_labels == d)[: cfg.digits_per_class] for d in range(10)]))
    temporal = np.repeat(np.arange(10, len(CLASS_NAMES)), cfg.temporal_per_class)
    labels = np.concatenate([digit_labels[digits], temporal])
    image = np.concatenate([digits, rng.integers(0, n_digits, len(temporal))])
    return labels, image


def _split_indices(labels: np.ndarray, cfg: DvsDigitsConfig) -> dict[str, np.ndarray]:
    """Stratified, seeded query/database split; train = database."""
    return {split: protocol_indices(labels, split, cfg.query_fraction, cfg.seed) for split in SPLITS}


def _record_job(job: tuple[np.ndarray, list[MotionProgram], DvsDigitsConfig, np.random.SeedSequence]) -> list[np.ndarray]:
    images, programs, cfg, seed = job
    return _record_batch(images, programs, cfg, np.random.default_rng(seed))


def _pool(workers: int) -> Any:
    """A process pool over ``workers`` cores, or an in-process stand-in for one worker."""
    if workers <= 1:
        return contextlib.nullcontext(types.SimpleNamespace(map=map))
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def generate(cfg: DvsDigitsConfig, progress: Callable[[int, int], None] | None = None,
             workers: int | None = None) -> dict[str, np.ndarray]:
    """Generate the whole dataset in memory (deterministic in ``cfg``, whatever ``workers``).

    Args:
        workers: processes to simulate batches in (default: all cores, at most 4).

    Returns:
        arrays ``events`` (all samples concatenated), ``offsets`` ``[N+1]``, ``labels``,
        ``image_index`` (which sklearn digit), and ``query``/``database``/``train`` indices.
    """
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    images, digit_labels = _digit_images(cfg)
    labels, image_index = _sample_plan(cfg, digit_labels)
    n = len(labels)
    seeds = np.random.SeedSequence([cfg.seed, 3]).spawn(n + (n + cfg.batch - 1) // cfg.batch)
    lo, hi = (int(v * 1000) for v in cfg.duration_ms)
    programs = []
    for i in range(n):
        r = np.random.default_rng(seeds[i])
        programs.append(make_program(int(labels[i]), int(r.integers(lo, hi + 1)), r))
    jobs = []
    for k, start in enumerate(range(0, n, cfg.batch)):
        idx = np.arange(start, min(n, start + cfg.batch))
        jobs.append((images[image_index[idx]], [programs[i] for i in idx], cfg, seeds[n + k]))
    chunks: list[np.ndarray] = []
    done = 0
    # Each batch has its own seed, so the result is the same for any number of workers.
    with _pool(workers) as pool:
        for batch_events in pool.map(_record_job, jobs):
            chunks += batch_events
            done += len(batch_events)
            if progress:
                progress(done, n)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in chunks])]).astype(np.int64)
    return {"events": np.concatenate(chunks), "offsets": offsets, "labels": labels,
            "image_index": image_index, **_split_indices(labels, cfg)}


@contextlib.contextmanager
def _progress_bar(progress: Callable[[int, int], None] | None, desc: str) -> Any:
    """Yield ``progress`` if given, else a callback that drives a tqdm bar on stderr."""
    if progress is not None:
        yield progress
        return
    from tqdm import tqdm

    with tqdm(total=None, desc=desc, unit="sample", leave=False) as bar:
        def report(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield report


def cache_path(cfg: DvsDigitsConfig, root: Path | None = None) -> Path:
    """Where the dataset generated from ``cfg`` lives."""
    return (root or cache_dir()) / NAME / f"{cfg.key()}.npz"


def ensure_generated(cfg: DvsDigitsConfig, root: Path | None = None, force: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> Path:
    """Generate the dataset into the cache unless it is already there; return its path."""
    path = cache_path(cfg, root)
    if force or not path.exists():
        t0 = time.perf_counter()
        with _progress_bar(progress, f"generating {NAME} into {path.parent}") as report:
            arrays = generate(cfg, report)
        meta = {"name": NAME, "generator_version": GENERATOR_VERSION, "config": asdict(cfg),
                "classes": list(CLASS_NAMES), "similar_classes": [list(p) for p in SIMILAR_PAIRS],
                "generation_seconds": round(time.perf_counter() - t0, 2)}
        write_npz(path, meta_json=np.array(json.dumps(meta)), **arrays)
    return path


def read_cache(path: Path) -> dict[str, Any]:
    """Load a cached dataset file; :class:`DataError` if it is unreadable or incomplete."""
    need = {"meta_json", "events", "offsets", "labels", "query", "database", "train"}
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = need - set(z.files)
            if missing:
                raise DataError(f"{path}: cached dataset lacks {sorted(missing)}; regenerate it with "
                                f"`spikinghash data generate {NAME} --force`")
            out: dict[str, Any] = {k: z[k] for k in need}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path}: cached dataset is corrupt ({exc.__class__.__name__}); regenerate it with "
                        f"`spikinghash data generate {NAME} --force`") from None
    out["meta"] = json.loads(str(out.pop("meta_json")))
    if out["events"].dtype != EVENT_DTYPE or out["offsets"][-1] != len(out["events"]):
        raise DataError(f"{path}: cached dataset is inconsistent; regenerate it with "
                        f"`spikinghash data generate {NAME} --force`")
    return out


def config_from_options(options: dict[str, Any]) -> DvsDigitsConfig:
    """A :class:`DvsDigitsConfig` from loader options such as ``seed=1``; unknown keys are errors."""
    known = set(DvsDigitsConfig.__dataclass_fields__)
    unknown = set(options) - known
    if unknown:
        raise ConfigError(f"unknown dvs-digits option(s) {sorted(unknown)}; known: {sorted(known)}")
    return DvsDigitsConfig(**options)


_LOADED: dict[Path, dict[str, Any]] = {}


def load(split: str, root: Path | None = None, **options: Any) -> EventArraySplit:
    """Registry loader: generate on first use, then serve ``split`` from the cache."""
    cfg = config_from_options(options)
    path = ensure_generated(cfg, root)
    if path not in _LOADED:
        _LOADED.clear()  # keep one dataset in memory at a time
        _LOADED[path] = read_cache(path)
    data = _LOADED[path]
    info = INFO if cfg.sensor_px == 32 else DatasetInfo(**{**asdict(INFO), "sensor_size": (cfg.sensor_px, cfg.sensor_px, 2)})
    return EventArraySplit(info, split, data["events"], data["offsets"], data["labels"], data[split])


def generate_cached(root: Path | None = None, force: bool = False, **options: Any) -> Path:
    """Registry generator: write the dataset for ``options`` into the cache (with a progress bar)."""
    return ensure_generated(config_from_options(options), root, force)


register_dataset(INFO, load, generate_cached)
