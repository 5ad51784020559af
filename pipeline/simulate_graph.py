"""``spikinghash simulate GRAPH.nir --data NAME --out DIR``: any NIR graph on the integer target.

The graph is lowered to the canonical form (``hw_sim.lowering``), calibrated on ``calib`` training
frames, and simulated as a run folder's graph is; what is reported depends on its readout
(``hw_sim.readout.choose_readout``):

- ``hash`` (our own graphs): codes by AND over time (Eq. 18), mAP of float and integer codes over
  query vs database, hash-bit agreement (as ``simulate RUN_DIR``);
- ``classify`` (the output layer has one neuron per class of the dataset): ``accuracy_float`` and
  ``accuracy_integer`` over the query split (spike counts, or the final membrane of a readout layer);
  ``accuracy_lava`` over the samples Lava ran;
- ``rates``: per-layer firing rates only.

In every case the per-layer spike agreement, rates, saturations and wraps are reported.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm import tqdm

from spikinghash.atomic_io import write_npz
from spikinghash.hw_sim.verify.compare import code_agreement
from spikinghash.hw_sim.verify.float_vs_integer import Tally, simulate_split
from spikinghash.hw_sim.backends.heap import keep_freed_memory
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.verify.backends import compare_with_fast
from spikinghash.hw_sim.verify.plots import plot_layers
from spikinghash.hw_sim.frontend.readout import accuracy
from spikinghash.pipeline.frames import batches, split_rows
from spikinghash.pipeline.graph_run import GraphRun, open_graph_run
from spikinghash.pipeline.run_dir import HW_SIM_CODES, HW_SIM_COUNTS, HW_SIM_JSON, HW_SIM_PNG
from spikinghash.pipeline.simulate import TIMING_SAMPLES, calibrate, check_simulate_args, codes_map, merge_write
from spikinghash.retrieval.codes import CodeSet, save_codes


def _header(run: GraphRun) -> dict[str, Any]:
    meta = run.net.metadata or {}
    return {"graph": str(run.graph_path), "data": run.data, "fingerprint": run.fingerprint, "T": run.T,
            "dt": run.net.dt, "dt_default": bool(meta.get("dt_default", False)), "readout": run.readout,
            "model": (meta.get("spikinghash") or {}).get("model") or run.graph_path.stem}


def simulate_graph_fast(run: GraphRun, int_net: IntNet, quant: dict[str, Any], *, limit: int | None = None,
                        batch_size: int = 32, threads: int = 1, progress: bool = True) -> dict[str, Any]:
    """Float vs integer over the query split (and the database, for hash codes); writes hw_sim.json and more."""
    start = time.perf_counter()
    readout = run.readout
    query = run.split("query")
    database = run.split("database") if readout == "hash" else None
    q_rows = split_rows(query, limit)
    db_rows = split_rows(database, limit) if database is not None else range(0)
    tally = Tally()
    classify = readout == "classify"
    with tqdm(total=len(q_rows) + len(db_rows), desc="float + integer", unit="sample", disable=not progress) as bar:
        q = simulate_split(int_net, batches(query, q_rows, batch_size), tally, threads, bar, classify=classify)
        db = (simulate_split(int_net, batches(database, db_rows, batch_size), tally, threads, bar)
              if database is not None else None)
    ql = query.split.labels[:len(q_rows)]
    rate_f, rate_i = tally.mean_rates()
    update = {**_header(run), "samples": {"query": len(q_rows), "db": len(db_rows)},
              "mean_firing_rate_float": rate_f, "mean_firing_rate_integer": rate_i,
              "input_clipped": tally.input_clipped, "quantization": quant, "layers": tally.layers(int_net)}
    if classify:
        update.update(accuracy_float=accuracy(q.float_pred, ql), accuracy_integer=accuracy(q.int_pred, ql),
                      prediction_agreement=float(np.mean(q.float_pred == q.int_pred)) if len(ql) else None)
    if db is not None:
        dl = database.split.labels[:len(db_rows)]  # type: ignore[union-attr]
        maps = codes_map({"float": q.float_codes, "integer": q.int_codes},
                         {"float": db.float_codes, "integer": db.int_codes}, ql, dl, map_k="all",
                         similar_pairs=run.info.similar_classes)
        agree = code_agreement(np.concatenate([q.float_codes, db.float_codes]),
                               np.concatenate([q.int_codes, db.int_codes]))
        save_codes(run.path(HW_SIM_CODES), CodeSet.from_bits(q.int_codes, db.int_codes, ql, dl))
        update.update(map_k="all", map_float=maps["float"], map_integer=maps["integer"],
                      map_drop_points=100.0 * (maps["float"] - maps["integer"]),
                      hash_bit_agreement=agree["bit_agreement"], hash_code_agreement=agree["code_agreement"])
    write_npz(run.path(HW_SIM_COUNTS), **tally.counts_arrays())
    update["wall_seconds"] = time.perf_counter() - start
    report = merge_write(run.path(HW_SIM_JSON), update, run.fingerprint)
    plot_layers(update["layers"], run.path(HW_SIM_PNG),
                f"{update['model']}: float vs integer ({tally.samples} samples, T={tally.steps})")
    return report


def simulate_graph_lava(run: GraphRun, int_net: IntNet, quant: dict[str, Any], samples: int) -> dict[str, Any]:
    """``samples`` query samples on Lava and the fast simulator, every spike compared; merged under ``"lava"``."""
    query = run.split("query")
    rows = split_rows(query, samples)
    loaded = split_rows(query, max(TIMING_SAMPLES, samples))
    frames = next(batches(query, loaded, len(loaded)))
    labels = query.split.labels[:len(rows)] if run.readout == "classify" else None
    result = compare_with_fast(int_net, frames, len(rows), "lava", timing_frames=frames, labels=labels)
    update = {**_header(run), "lava": result}
    if not run.path(HW_SIM_JSON).is_file():
        update["quantization"] = quant
    if labels is not None:
        update["accuracy_lava"] = result["accuracy_lava"]
    return merge_write(run.path(HW_SIM_JSON), update, run.fingerprint)


def simulate_graph(graph: str, data: str | None, out: str | None, backend: str = "fast", *, root: str | None = None,
                   T: int | None = None, samples: int = 2, calib: int = 256, limit: int | None = None,
                   batch_size: int = 32, threads: int = 1, progress: bool = True,
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``spikinghash simulate GRAPH.nir``: see the module docstring. Returns the written ``hw_sim.json``."""
    check_simulate_args(backend, samples, calib, limit)
    run = open_graph_run(graph, data, out, root=root, T=T, options=options)
    int_net, quant = calibrate(run.net, run.split("train"), calib)
    keep_freed_memory()
    if backend == "fast":
        return simulate_graph_fast(run, int_net, quant, limit=limit, batch_size=batch_size, threads=threads,
                                   progress=progress)
    return simulate_graph_lava(run, int_net, quant, samples)
