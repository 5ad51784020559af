"""Simulate a trained run on the integer target: the run-folder side of ``spikinghash simulate``.

Steps: export (or reuse) ``RUN_DIR/model.nir`` — reused when the fingerprint stored in its
metadata is the run's (config + weights) —, read it once (:func:`graph.read_checked`), calibrate the
integer network on ``calib`` training frames (a seeded random subset), then

- ``fast``: float reference and integer simulation of the whole query and database splits
  (or their first ``limit`` samples), mAP@``map_k`` of both code sets (``retrieval.evaluate``,
  the run's settings, as ``spikinghash eval``), per-layer rates, agreement and counters;
- ``lava``: ``samples`` query samples through real Lava and the fast simulator, every spike compared;
  the fast simulator is timed on the first ``TIMING_SAMPLES`` query samples for the speed ratio.

Files (atomic): ``hw_sim.json`` (a lava run keeps the fast results and vice versa, while
the fingerprint is unchanged), ``hw_sim_codes.npz`` (integer codes, ``codes.npz`` layout),
``hw_sim_counts.npz`` (see ``deploy.Tally.counts_arrays``), ``hw_sim.png``.

This module is the glue that knows run folders (like ``retrieval.run_eval``); everything it
simulates goes through the NIR file, never through the torch model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import nir
import numpy as np
from tqdm import tqdm

from spikinghash.atomic_io import atomic_path, write_json, write_npz
from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.compare import code_agreement
from spikinghash.hw_sim.deploy import Tally, lava_vs_fast, simulate_split
from spikinghash.hw_sim.graph import CanonicalNet, parse, read_checked
from spikinghash.hw_sim.heap import keep_freed_memory
from spikinghash.hw_sim.int_net import IntNet
from spikinghash.hw_sim.plots import plot_layers
from spikinghash.hw_sim.quantize import qat_scales, quant_summary, quantize
from spikinghash.retrieval.codes import CodeSet, load_codes, save_codes, unpack_codes
from spikinghash.retrieval.evaluate import evaluate

NIR_FILE, REPORT, CODES, COUNTS, PLOT = "model.nir", "hw_sim.json", "hw_sim_codes.npz", "hw_sim_counts.npz", "hw_sim.png"
BACKENDS = ("fast", "lava")
TIMING_SAMPLES = 64  # query samples the fast simulator is timed on beside a Lava run


def export_run_nir(run: Any, path: str | Path) -> nir.NIRGraph:
    """Write the NIR graph of a loaded run (``TrainedRun``/``LoadedRun``) to ``path``, tagged with its fingerprint.

    A paper-faithful model raises ``ConfigError`` listing every operation NIR cannot express.
    """
    from spikinghash.export.nir_check import check_nir_exportable
    from spikinghash.export.nir_export import DEFAULT_DT, to_nir_graph

    name = str(run.cfg.model)
    check_nir_exportable(run.model, name)
    graph = to_nir_graph(run.model, T=int(run.cfg.T), dt=DEFAULT_DT, model_name=name)
    graph.metadata["spikinghash"]["fingerprint"] = run.fingerprint
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return graph


def _current_graph(path: Path, fingerprint: str) -> nir.NIRGraph | None:
    """The checked NIR graph in ``path`` if it was exported from the weights with this fingerprint, else None
    (absent, unreadable, or stale: then it is exported again)."""
    if not path.is_file():
        return None
    try:
        graph = read_checked(path)
        stored = (graph.metadata or {})["spikinghash"]["fingerprint"]
    except (ConfigError, DataError, KeyError, TypeError):
        return None
    return graph if str(stored) == fingerprint else None


def ensure_nir(run: Any) -> CanonicalNet:
    """The canonical net of ``RUN_DIR/model.nir`` for the run's current weights: the file is read once, and
    exported again (then read back) unless its stored fingerprint is the run's."""
    path = Path(run.run_dir) / NIR_FILE
    graph = _current_graph(path, run.fingerprint)
    if graph is None:
        export_run_nir(run, path)
        graph = read_checked(path)  # what the file holds, as a later reuse would read it
    return parse(graph)


def _batches(dataset: Any, rows: range | np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Frames ``[T, B, C, H, W]`` float64 of ``rows`` of a ``FrameDataset``, ``batch_size`` at a time."""
    rows = list(rows)
    for i in range(0, len(rows), batch_size):
        yield np.stack([dataset.frames(j) for j in rows[i:i + batch_size]], axis=1).astype(np.float64)


def calibration_frames(train: Any, calib: int, seed: int = 0) -> np.ndarray:
    """Frames ``[T, calib, C, H, W]`` float64 of a seeded random subset of the ``FrameDataset`` ``train``."""
    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    rows = np.sort(np.random.default_rng(seed).permutation(len(train))[:calib])
    return np.concatenate(list(_batches(train, rows, 64)), axis=1)


def calibrate(run: Any, net: CanonicalNet, calib: int, seed: int = 0) -> tuple[IntNet, dict[str, Any]]:
    """The integer network calibrated on ``calib`` training samples (a seeded random subset).

    A QAT model's graph carries its scales (``metadata["spikinghash"]["qat_scales"]``); they are
    used as they are, so that the integer weights land on the grid the model was trained on.
    """
    frames = calibration_frames(run.data.train, calib, seed)
    scales = qat_scales(net)
    int_net = quantize(net, frames, scales=scales)
    summary = quant_summary(int_net)
    summary.update(calib_samples=int(frames.shape[1]), calib_seed=seed,
                   scales="fixed (QAT grid from the NIR metadata)" if scales is not None else "calibrated")
    return int_net, summary


def _split_rows(dataset: Any, limit: int | None) -> range:
    return range(len(dataset) if limit is None else min(limit, len(dataset)))


def _model_codes(run_dir: Path, fingerprint: str) -> CodeSet | None:
    """The trained model's own codes (``spikinghash eval``'s codes.npz) if they belong to these weights."""
    try:
        with open(run_dir / "eval.json") as fh:
            if json.load(fh).get("fingerprint") != fingerprint:
                return None
        return load_codes(run_dir / "codes.npz")
    except (OSError, ValueError, KeyError, DataError):
        return None


def _merge_write(path: Path, update: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """Write ``update`` over the existing report (kept only while its fingerprint is the run's)."""
    old: dict[str, Any] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            old = {}
    if old.get("fingerprint") != fingerprint:
        old = {}
    report = {**old, **update}
    write_json(path, report)
    return report


def simulate_fast(run: Any, int_net: IntNet, quant: dict[str, Any], *, limit: int | None = None,
                  batch_size: int = 32, threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """Float vs integer on the query and database splits; writes the report, codes, counts and plot."""
    start = time.perf_counter()
    run_dir, data = Path(run.run_dir), run.data
    q_rows, db_rows = _split_rows(data.query, limit), _split_rows(data.database, limit)
    tally = Tally()
    with tqdm(total=len(q_rows) + len(db_rows), desc="float + integer", unit="sample", disable=not progress) as bar:
        q = simulate_split(int_net, _batches(data.query, q_rows, batch_size), tally, threads, bar)
        db = simulate_split(int_net, _batches(data.database, db_rows, batch_size), tally, threads, bar)
    ql, dl = data.query.split.labels[:len(q_rows)], data.database.split.labels[:len(db_rows)]
    score = {"map_k": run.cfg.map_k, "similar_pairs": run.data.info.similar_classes}
    int_codes = CodeSet.from_bits(q.int_codes, db.int_codes, ql, dl)
    map_float = evaluate(CodeSet.from_bits(q.float_codes, db.float_codes, ql, dl), **score).map
    map_int = evaluate(int_codes, **score).map
    save_codes(run_dir / CODES, int_codes)
    write_npz(run_dir / COUNTS, **tally.counts_arrays())
    layers = tally.layers(int_net)
    rate_f, rate_i = tally.mean_rates()
    all_f, all_i = np.concatenate([q.float_codes, db.float_codes]), np.concatenate([q.int_codes, db.int_codes])
    agree = code_agreement(all_f, all_i)
    update = {"model": run.cfg.model, "fingerprint": run.fingerprint, "T": tally.steps,
              "samples": {"query": len(q_rows), "db": len(db_rows)}, "map_k": run.cfg.map_k,
              "map_float": map_float, "map_integer": map_int, "map_drop_points": 100.0 * (map_float - map_int),
              "hash_bit_agreement": agree["bit_agreement"], "hash_code_agreement": agree["code_agreement"],
              "mean_firing_rate_float": rate_f, "mean_firing_rate_integer": rate_i,
              "input_clipped": tally.input_clipped, "quantization": quant, "layers": layers}
    model = _model_codes(run_dir, run.fingerprint)
    if model is not None:  # float_sim (float64, from the NIR file) against the torch model's eval codes
        mq = unpack_codes(model.query_codes, model.bits)[:len(q_rows)]
        mdb = unpack_codes(model.db_codes, model.bits)[:len(db_rows)]
        update["float_vs_model_bit_agreement"] = code_agreement(np.concatenate([mq, mdb]), all_f)["bit_agreement"]
    update["wall_seconds"] = time.perf_counter() - start
    report = _merge_write(run_dir / REPORT, update, run.fingerprint)
    plot_layers(layers, run_dir / PLOT, f"{run.cfg.model}: float vs integer ({tally.samples} samples, T={tally.steps})")
    return report


def simulate_lava(run: Any, int_net: IntNet, quant: dict[str, Any], samples: int) -> dict[str, Any]:
    """``samples`` query samples on Lava and the fast simulator; merges the result under ``"lava"``."""
    if samples < 1:
        raise ConfigError(f"--samples {samples}: run at least 1 sample on Lava (default 2)")
    rows = _split_rows(run.data.query, samples)
    loaded = _split_rows(run.data.query, max(TIMING_SAMPLES, samples))  # read once: Lava's are the first ones
    frames = next(_batches(run.data.query, loaded, len(loaded)))
    result = lava_vs_fast(int_net, frames, len(rows), timing_frames=frames)
    update = {"model": run.cfg.model, "fingerprint": run.fingerprint, "T": int(frames.shape[0]), "lava": result}
    path = Path(run.run_dir) / REPORT
    if not path.is_file():
        update["quantization"] = quant
    return _merge_write(path, update, run.fingerprint)


def simulate_run(run_dir: str | Path, backend: str = "fast", *, samples: int = 2, calib: int = 256,
                 limit: int | None = None, batch_size: int = 32, threads: int = 1,
                 progress: bool = True) -> dict[str, Any]:
    """``spikinghash simulate``: see the module docstring. Returns the written ``hw_sim.json`` content.

    A job of its own, it keeps freed memory in the process heap (``heap.keep_freed_memory``)."""
    from spikinghash.retrieval.run_eval import load_run
    from spikinghash.train.run_dir import load_trained

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: give at least 1 sample per split, or leave it out for all")
    trained = load_trained(run_dir)
    net = ensure_nir(trained)  # a paper-faithful model stops here, its offending operations listed
    run = load_run(run_dir, trained)
    int_net, quant = calibrate(run, net, calib)
    keep_freed_memory()
    if backend == "fast":
        return simulate_fast(run, int_net, quant, limit=limit, batch_size=batch_size, threads=threads,
                             progress=progress)
    return simulate_lava(run, int_net, quant, samples)
