"""The simulate stage: a trained run on the integer target (``spikinghash simulate RUN_DIR``).

Steps: export (or reuse) ``RUN_DIR/model.nir`` — reused when the fingerprint stored in its
metadata is the run's (config + weights) —, read it once, calibrate the integer network on
``calib`` training frames (a seeded random subset), then

- ``fast``: float reference and integer simulation of the whole query and database splits
  (or their first ``limit`` samples), mAP@``map_k`` of both code sets (``retrieval.evaluate``,
  the run's settings, as ``spikinghash eval``), per-layer rates, agreement and counters;
- ``lava``: ``samples`` query samples through real Lava and the fast simulator, every spike compared;
  the fast simulator is timed on the first ``TIMING_SAMPLES`` query samples for the speed ratio.

Files (atomic): ``hw_sim.json`` (a lava run keeps the fast results and vice versa, while
the fingerprint is unchanged), ``hw_sim_codes.npz`` (integer codes, ``codes.npz`` layout),
``hw_sim_counts.npz`` (see ``hw_sim.float_vs_integer.Tally.counts_arrays``), ``hw_sim.png``.
Everything simulated goes through the NIR file, never through the torch model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from tqdm import tqdm

from spikinghash.atomic_io import check_output_dir, write_json, write_npz
from spikinghash.errors import ConfigError, DataError, note
from spikinghash.hw_sim.verify.compare import code_agreement
from spikinghash.hw_sim.verify.float_vs_integer import Tally, simulate_split
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.backends.heap import keep_freed_memory
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.verify.backends import compare_with_fast
from spikinghash.hw_sim.verify.plots import plot_layers
from spikinghash.hw_sim.target.quantize import qat_scales, quant_summary, quantize
from spikinghash.pipeline.export import ensure_nir
from spikinghash.pipeline.frames import batches, calibration_frames, split_rows
from spikinghash.pipeline.run_dir import (CODES, EVAL, HW_SIM_CODES, HW_SIM_COUNTS, HW_SIM_JSON, HW_SIM_PNG, Run,
                                          load_run)
from spikinghash.retrieval.codes import CodeSet, load_codes, save_codes, unpack_codes
from spikinghash.retrieval.scoring import evaluate

BACKENDS = ("fast", "lava", "netx")
TIMING_SAMPLES = 64  # query samples the fast simulator is timed on beside a Lava run


def calibrate(net: CanonicalNet, train: Any, calib: int, seed: int = 0) -> tuple[IntNet, dict[str, Any]]:
    """The integer network calibrated on ``calib`` samples of the ``FrameDataset`` ``train`` (a seeded random
    subset), and its summary for ``hw_sim.json``.

    A QAT model's graph carries its scales (``metadata["spikinghash"]["qat_scales"]``); they are
    used as they are, so that the integer weights land on the grid the model was trained on.
    """
    frames = calibration_frames(train, calib, seed)
    scales = qat_scales(net)
    int_net = quantize(net, frames, scales=scales)
    summary = quant_summary(int_net)
    summary.update(calib_samples=int(frames.shape[1]), calib_seed=seed,
                   scales="fixed (QAT grid from the NIR metadata)" if scales is not None else "calibrated")
    return int_net, summary


def codes_map(query_codes: Mapping[str, np.ndarray], db_codes: Mapping[str, np.ndarray], query_labels: np.ndarray,
              db_labels: np.ndarray, **score: Any) -> dict[str, float]:
    """mAP of each named code set ``[N, L]`` in {0, 1}, e.g. ``{"float": ..., "integer": ...}``; ``score``:
    ``retrieval.evaluate``'s settings (``map_k``, ``similar_pairs``; default: the whole database)."""
    return {name: evaluate(CodeSet.from_bits(query_codes[name], db_codes[name], query_labels, db_labels),
                           **score).map for name in query_codes}


def _model_codes(run: Run) -> CodeSet | None:
    """The trained model's own codes (``spikinghash eval``'s codes.npz) if they belong to these weights."""
    try:
        with open(run.path(EVAL)) as fh:
            if json.load(fh).get("fingerprint") != run.fingerprint:
                return None
        return load_codes(run.path(CODES))
    except (OSError, ValueError, KeyError, DataError):
        return None


def merge_write(path: Path, update: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """Write ``update`` over the existing report (kept only while its fingerprint is the run's)."""
    old: dict[str, Any] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            note(f"{path} was unreadable; written again from this run's results")
            old = {}
    if old and old.get("fingerprint") != fingerprint:
        old = {}
    report = {**old, **update}
    write_json(path, report)
    return report


def simulate_fast(run: Run, int_net: IntNet, quant: dict[str, Any], *, limit: int | None = None,
                  batch_size: int = 32, threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """Float vs integer on the query and database splits; writes the report, codes, counts and plot."""
    start = time.perf_counter()
    data = run.data
    q_rows, db_rows = split_rows(data.query, limit), split_rows(data.database, limit)
    tally = Tally()
    with tqdm(total=len(q_rows) + len(db_rows), desc="float + integer", unit="sample", disable=not progress) as bar:
        q = simulate_split(int_net, batches(data.query, q_rows, batch_size), tally, threads, bar)
        db = simulate_split(int_net, batches(data.database, db_rows, batch_size), tally, threads, bar)
    ql, dl = data.query.split.labels[:len(q_rows)], data.database.split.labels[:len(db_rows)]
    maps = codes_map({"float": q.float_codes, "integer": q.int_codes}, {"float": db.float_codes, "integer": db.int_codes},
                     ql, dl, map_k=run.cfg.map_k, similar_pairs=data.info.similar_classes)
    save_codes(run.path(HW_SIM_CODES), CodeSet.from_bits(q.int_codes, db.int_codes, ql, dl))
    write_npz(run.path(HW_SIM_COUNTS), **tally.counts_arrays())
    layers = tally.layers(int_net)
    rate_f, rate_i = tally.mean_rates()
    all_f, all_i = np.concatenate([q.float_codes, db.float_codes]), np.concatenate([q.int_codes, db.int_codes])
    agree = code_agreement(all_f, all_i)
    update = {"model": run.cfg.model, "fingerprint": run.fingerprint, "T": tally.steps,
              "samples": {"query": len(q_rows), "db": len(db_rows)}, "map_k": run.cfg.map_k,
              "map_float": maps["float"], "map_integer": maps["integer"],
              "map_drop_points": 100.0 * (maps["float"] - maps["integer"]),
              "hash_bit_agreement": agree["bit_agreement"], "hash_code_agreement": agree["code_agreement"],
              "mean_firing_rate_float": rate_f, "mean_firing_rate_integer": rate_i,
              "input_clipped": tally.input_clipped, "quantization": quant, "layers": layers}
    model = _model_codes(run)
    if model is not None:  # float_sim (float64, from the NIR file) against the torch model's eval codes
        mq = unpack_codes(model.query_codes, model.bits)[:len(q_rows)]
        mdb = unpack_codes(model.db_codes, model.bits)[:len(db_rows)]
        update["float_vs_model_bit_agreement"] = code_agreement(np.concatenate([mq, mdb]), all_f)["bit_agreement"]
    update["wall_seconds"] = time.perf_counter() - start
    report = merge_write(run.path(HW_SIM_JSON), update, run.fingerprint)
    plot_layers(layers, run.path(HW_SIM_PNG),
                f"{run.cfg.model}: float vs integer ({tally.samples} samples, T={tally.steps})")
    return report


def simulate_lava(run: Run, int_net: IntNet, quant: dict[str, Any], samples: int) -> dict[str, Any]:
    """``samples`` query samples on Lava and the fast simulator; merges the result under ``"lava"``."""
    rows = split_rows(run.data.query, samples)
    loaded = split_rows(run.data.query, max(TIMING_SAMPLES, samples))  # read once: Lava's are the first ones
    frames = next(batches(run.data.query, loaded, len(loaded)))
    result = compare_with_fast(int_net, frames, len(rows), "lava", timing_frames=frames)
    update = {"model": run.cfg.model, "fingerprint": run.fingerprint, "T": int(frames.shape[0]), "lava": result}
    path = run.path(HW_SIM_JSON)
    if not path.is_file():
        update["quantization"] = quant
    return merge_write(path, update, run.fingerprint)


def check_simulate_args(backend: str, samples: int, calib: int, limit: int | None) -> None:
    """Refuse bad settings before any model or data is loaded."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if samples < 1:
        raise ConfigError(f"--samples {samples}: run at least 1 sample on Lava (default 2)")
    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: give at least 1 sample per split, or leave it out for all")


def simulate_run(run_dir: str | Path, backend: str = "fast", *, samples: int = 2, calib: int = 256,
                 limit: int | None = None, batch_size: int = 32, threads: int = 1,
                 progress: bool = True) -> dict[str, Any]:
    """``spikinghash simulate``: see the module docstring. Returns the written ``hw_sim.json`` content.

    A job of its own, it keeps freed memory in the process heap (``heap.keep_freed_memory``)."""
    check_simulate_args(backend, samples, calib, limit)
    check_output_dir(run_dir, "run folder")
    run = load_run(run_dir)
    net = ensure_nir(run)  # a paper-faithful model stops here, its offending operations listed
    int_net, quant = calibrate(net, run.data.train, calib)
    keep_freed_memory()
    if backend == "fast":
        return simulate_fast(run, int_net, quant, limit=limit, batch_size=batch_size, threads=threads,
                             progress=progress)
    return simulate_lava(run, int_net, quant, samples)


def simulate_target(target: str | Path, backend: str = "fast", *, data: str | None = None,
                    root: str | Path | None = None, out: str | Path | None = None, T: int | None = None,
                    options: dict[str, Any] | None = None, **kw: Any) -> tuple[dict[str, Any], Path]:
    """``spikinghash simulate``: a run folder (:func:`simulate_run`) or a NIR file (``simulate_graph``, with
    ``data``, ``out`` and maybe ``root``, ``T``, dataset ``options``). Returns the report and its folder."""
    from spikinghash.pipeline.graph_run import is_graph_file
    from spikinghash.pipeline.simulate_graph import simulate_graph

    target = Path(target)
    if backend == "netx":
        from spikinghash.pipeline.netx import simulate_netx

        check_simulate_args(backend, kw.get("samples", 2), kw.get("calib", 256), kw.get("limit"))
        return simulate_netx(target, kw.get("samples", 2), data=data, root=root, out=out, T=T, options=options,
                             calib=kw.get("calib", 256))
    if is_graph_file(target):
        return simulate_graph(str(target), data, None if out is None else str(out), backend,
                              root=None if root is None else str(root), T=T, options=options, **kw), Path(out)  # type: ignore[arg-type]
    if not target.exists():
        raise DataError(f"{target} does not exist; give a run folder (`spikinghash train --out`) or a NIR file")
    if target.is_file() and target.suffix == ".nir":
        raise DataError(f"{target} is not a NIR file (no HDF5 signature); write it with nir.write, or re-export it")
    given = [flag for flag, value in (("--data", data), ("--root", root), ("--out", out), ("--T", T),
                                      ("--option", options)) if value]
    if given:
        raise ConfigError(f"{' '.join(given)} belong(s) to a NIR file; {target} is taken as a run folder, whose "
                          "config names its data (leave them out, or give a GRAPH.nir)")
    if target.is_file():
        raise DataError(f"{target} is neither a run folder nor a NIR (HDF5) file; give RUN_DIR or GRAPH.nir")
    return simulate_run(target, backend, **kw), target
