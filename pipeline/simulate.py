"""The simulate stage, one driver for every deployment (``spikinghash simulate SOURCE``).

Steps: the deployment's network (a run's ``model.nir``, exported again while stale; a NIR file; a graph; a
module's export) is calibrated on ``calib`` frames of its ``train`` split (a seeded random subset) with the
quantizer rules the backend needs (``hw_sim.backends.BACKENDS[name].rules``: netx's file format has its own),
then

- ``fast``: float reference and integer simulation of the ``query`` split (and the ``database``, for hash
  codes), or their first ``limit`` samples; what is reported depends on the readout
  (``hw_sim.frontend.readout.choose_readout``): ``hash`` — mAP@``map_k`` of float and integer codes, hash-bit
  agreement; ``classify`` — ``accuracy_float`` and ``accuracy_integer``; ``rates`` — firing rates only; in every
  case per-layer rates, spike agreement, saturations and wraps;
- ``lava`` / ``netx``: ``samples`` query samples through that backend and the fast simulator, every spike
  compared (``hw_sim.verify``); the fast simulator is timed on the first ``TIMING_SAMPLES`` query samples.

Files (atomic): ``hw_sim.json`` (a lava run keeps the fast results and vice versa while the fingerprint is
unchanged), ``hw_sim_codes.npz`` (integer codes, ``codes.npz`` layout), ``hw_sim_counts.npz``
(``hw_sim.verify.float_vs_integer.Tally.counts_arrays``), ``hw_sim.png``, ``graph.json`` (the deployment).
Everything simulated goes through the NIR graph, never through a torch module.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from tqdm import tqdm

from spikinghash.atomic_io import check_output_dir, write_json, write_npz
from spikinghash.errors import ConfigError, DataError, note
from spikinghash.hw_sim.backends import BACKENDS
from spikinghash.hw_sim.backends.heap import keep_freed_memory
from spikinghash.hw_sim.frontend.readout import accuracy
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.target.quantize import qat_scales, quant_summary, quantize
from spikinghash.hw_sim.verify.backends import compare_with_fast
from spikinghash.hw_sim.verify.compare import code_agreement
from spikinghash.hw_sim.verify.figure import plot_layers
from spikinghash.hw_sim.verify.float_vs_integer import SplitCodes, Tally, simulate_split
from spikinghash.pipeline.batches import batches, calibration_frames, split_rows
from spikinghash.pipeline.deployment import Deployment
from spikinghash.pipeline.run_dir import (CODES, EVAL, GRAPH_JSON, HW_SIM_CODES, HW_SIM_COUNTS, HW_SIM_JSON,
                                          HW_SIM_PNG, NETX_FILE)
from spikinghash.retrieval.codes import CodeSet, load_codes, save_codes, unpack_codes
from spikinghash.retrieval.scoring import evaluate

TIMING_SAMPLES = 64  # query samples the fast simulator is timed on beside a Lava run


def calibrate(dep: Deployment, calib: int, rules: str = "loihi", seed: int = 0) -> tuple[IntNet, dict[str, Any]]:
    """The integer network of ``dep`` calibrated on ``calib`` samples of its ``train`` split (a seeded random
    subset) under the quantizer ``rules`` ("loihi", or "netx": netx's file format), and its summary for
    ``hw_sim.json``.

    A QAT model's graph carries its scales (``metadata["spikinghash"]["qat_scales"]``); they are used as they
    are, so that the integer weights land on the grid the model was trained on.
    """
    net = dep.net
    frames = calibration_frames(dep.split("train"), calib, seed)
    scales = qat_scales(net)
    if rules == "netx":
        from spikinghash.hw_sim.backends.netx.write import fit_for_netx

        int_net, changes = fit_for_netx(net, frames, scales=scales)
    else:
        int_net, changes = quantize(net, frames, scales=scales), None
    summary = quant_summary(int_net)
    summary.update(calib_samples=int(frames.shape[1]), calib_seed=seed,
                   scales="fixed (QAT grid from the NIR metadata)" if scales is not None else "calibrated")
    if changes is not None:
        summary["netx_fit"] = changes
    return int_net, summary


def codes_map(query_codes: Mapping[str, np.ndarray], db_codes: Mapping[str, np.ndarray], query_labels: np.ndarray,
              db_labels: np.ndarray, **score: Any) -> dict[str, float]:
    """mAP of each named code set ``[N, L]`` in {0, 1}, e.g. ``{"float": ..., "integer": ...}``; ``score``:
    ``retrieval.evaluate``'s settings (``map_k``, ``similar_pairs``; default: the whole database)."""
    return {name: evaluate(CodeSet.from_bits(query_codes[name], db_codes[name], query_labels, db_labels),
                           **score).map for name in query_codes}


def merge_write(path: Path, update: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """Write ``update`` over the existing report (kept only while its fingerprint is the deployment's)."""
    old: dict[str, Any] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except ValueError:
            note(f"{path} was unreadable; written again from this run's results")
            old = {}
    if not isinstance(old, dict) or old.get("fingerprint") != fingerprint:
        old = {}
    report = {**old, **update}
    write_json(path, report)
    return report


def header(dep: Deployment) -> dict[str, Any]:
    """The keys every ``hw_sim.json`` section starts from: what ran, on what, read out how."""
    return {"model": dep.model, "source": dep.source.kind, "data": dep.data["data"], "fingerprint": dep.fingerprint,
            "T": dep.T, "dt": dep.dt, "dt_default": bool((dep.net.metadata or {}).get("dt_default", False)),
            "readout": dep.readout}


def _model_codes(dep: Deployment) -> CodeSet | None:
    """A run's own codes (``spikinghash eval``'s codes.npz) if they belong to these weights."""
    run = dep.source.run
    if run is None:
        return None
    try:
        with open(run.path(EVAL)) as fh:
            if json.load(fh).get("fingerprint") != run.fingerprint:
                return None
        return load_codes(run.path(CODES))
    except (OSError, ValueError, KeyError, DataError):
        return None


@dataclass
class FastResult:
    """The fast backend's float-vs-integer results before anything is written: ``report`` (``hw_sim.json``'s
    keys), ``tally`` (spike counts), the integer codes and labels of each evaluated split."""

    report: dict[str, Any]
    tally: Tally
    query: SplitCodes
    database: SplitCodes | None
    query_labels: np.ndarray | None
    db_labels: np.ndarray | None


def run_fast(dep: Deployment, int_net: IntNet, quant: dict[str, Any], *, limit: int | None = None,
             batch_size: int = 32, threads: int = 1, progress: bool = True) -> FastResult:
    """Float vs integer over the query split (and the database, for hash codes); nothing is written."""
    start = time.perf_counter()
    readout = dep.readout
    query = dep.split("query")
    database = dep.splits.get("database") if readout == "hash" else None
    q_rows = split_rows(query, limit)
    db_rows = split_rows(database, limit) if database is not None else range(0)
    tally = Tally()
    classify = readout == "classify"
    with tqdm(total=len(q_rows) + len(db_rows), desc="float + integer", unit="sample", disable=not progress) as bar:
        q = simulate_split(int_net, batches(query, q_rows, batch_size), tally, threads, bar, classify=classify)
        db = (simulate_split(int_net, batches(database, db_rows, batch_size), tally, threads, bar)
              if database is not None else None)
    ql, dl = dep.labels("query", len(q_rows)), dep.labels("database", len(db_rows)) if db is not None else None
    rate_f, rate_i = tally.mean_rates()
    report = {**header(dep), "samples": {"query": len(q_rows), "db": len(db_rows)},
              "mean_firing_rate_float": rate_f, "mean_firing_rate_integer": rate_i,
              "input_clipped": tally.input_clipped, "quantization": quant, "layers": tally.layers(int_net)}
    if classify:
        report.update(accuracy_float=accuracy(q.float_pred, ql), accuracy_integer=accuracy(q.int_pred, ql),
                      prediction_agreement=float(np.mean(q.float_pred == q.int_pred)) if len(ql) else None)
    if readout == "hash":
        codes_f = np.concatenate([q.float_codes] + ([db.float_codes] if db is not None else []))
        codes_i = np.concatenate([q.int_codes] + ([db.int_codes] if db is not None else []))
        agree = code_agreement(codes_f, codes_i)
        report.update(hash_bit_agreement=agree["bit_agreement"], hash_code_agreement=agree["code_agreement"])
        if db is not None and ql is not None and dl is not None:
            maps = codes_map({"float": q.float_codes, "integer": q.int_codes},
                             {"float": db.float_codes, "integer": db.int_codes}, ql, dl, map_k=dep.map_k,
                             similar_pairs=dep.similar_pairs)
            report.update(map_k=dep.map_k, map_float=maps["float"], map_integer=maps["integer"],
                          map_drop_points=100.0 * (maps["float"] - maps["integer"]))
        model = _model_codes(dep)
        if model is not None and db is not None:  # the float reference (NIR) against the torch model's eval codes
            mq = unpack_codes(model.query_codes, model.bits)[:len(q_rows)]
            mdb = unpack_codes(model.db_codes, model.bits)[:len(db_rows)]
            report["float_vs_model_bit_agreement"] = code_agreement(np.concatenate([mq, mdb]), codes_f)["bit_agreement"]
    report["wall_seconds"] = time.perf_counter() - start
    return FastResult(report, tally, q, db, ql, dl)


def write_fast(dep: Deployment, result: FastResult) -> dict[str, Any]:
    """Write ``hw_sim.json`` (merged), the codes (hash readouts with a database), the counts, ``hw_sim.png`` and
    ``graph.json``; returns the written ``hw_sim.json``."""
    if result.database is not None and result.query_labels is not None and result.db_labels is not None:
        save_codes(dep.path(HW_SIM_CODES), CodeSet.from_bits(result.query.int_codes, result.database.int_codes,
                                                             result.query_labels, result.db_labels))
    write_npz(dep.path(HW_SIM_COUNTS), **result.tally.counts_arrays())
    report = merge_write(dep.path(HW_SIM_JSON), result.report, dep.fingerprint)
    plot_layers(result.report["layers"], dep.path(HW_SIM_PNG),
                f"{dep.model}: float vs integer ({result.tally.samples} samples, T={result.tally.steps})")
    write_json(dep.path(GRAPH_JSON), dep.describe())
    return report


def run_backend(dep: Deployment, int_net: IntNet, quant: dict[str, Any], backend: str,
                samples: int) -> dict[str, Any]:
    """``samples`` query samples on ``backend`` (lava or netx) beside the fast simulator, every spike compared: the
    ``hw_sim.json`` update (nothing written)."""
    query = dep.split("query")
    rows = split_rows(query, samples)
    labels = dep.labels("query", len(rows)) if dep.readout == "classify" else None
    update = header(dep)
    if backend == "netx":
        from spikinghash.hw_sim.backends.netx.write import write_netx
        from spikinghash.hw_sim.verify.netx import run_netx

        frames = next(batches(query, rows, len(rows)))
        path = None if dep.out is None else dep.path(NETX_FILE)  # None: a temporary file
        if path is not None:
            write_netx(int_net, path)
        section = run_netx(int_net, frames, samples=frames.shape[1], path=path)
        section.update(fit=quant.get("netx_fit"), file=None if path is None else str(path))
        return {**update, "netx": section}
    loaded = split_rows(query, max(TIMING_SAMPLES, samples))  # read once: the backend's are the first ones
    frames = next(batches(query, loaded, len(loaded)))
    result = compare_with_fast(int_net, frames, len(rows), backend, timing_frames=frames, labels=labels)
    update[backend] = result
    if labels is not None:
        update[f"accuracy_{backend}"] = result[f"accuracy_{backend}"]
    return update


def check_simulate_args(backend: str, samples: int, calib: int, limit: int | None) -> None:
    """Refuse bad settings before any model or data is loaded."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r} is not a backend; choose one of {', '.join(BACKENDS)} "
                          "(see `spikinghash simulate --help`)")
    if samples < 1:
        raise ConfigError(f"--samples {samples}: run at least 1 sample on Lava (default 2)")
    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit}: give at least 1 sample per split, or leave it out for all")


def simulate(dep: Deployment, backend: str = "fast", *, samples: int = 2, calib: int = 256,
             limit: int | None = None, batch_size: int = 32, threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """``spikinghash simulate``: see the module docstring. Returns the written ``hw_sim.json`` content.

    A job of its own, it keeps freed memory in the process heap (``heap.keep_freed_memory``)."""
    check_simulate_args(backend, samples, calib, limit)
    check_output_dir(dep.path(""), "--out folder")
    int_net, quant = calibrate(dep, calib, BACKENDS[backend].rules)
    keep_freed_memory()
    if backend == "fast":
        return write_fast(dep, run_fast(dep, int_net, quant, limit=limit, batch_size=batch_size, threads=threads,
                                        progress=progress))
    update = run_backend(dep, int_net, quant, backend, samples)
    if not dep.path(HW_SIM_JSON).is_file():
        update["quantization"] = quant
    report = merge_write(dep.path(HW_SIM_JSON), update, dep.fingerprint)
    write_json(dep.path(GRAPH_JSON), dep.describe())
    return report
