"""The energy stage, one driver for every deployment (``spikinghash energy SOURCE``).

Frames: the first ``samples`` query samples of the deployment. Network:

- any NIR graph (a neuromorphic-profile run's ``model.nir``, a NIR file, a graph, a module's export): float
  rates from ``hw_sim.frontend.float_sim`` on those frames, integer rates from the integer simulation's counts
  (``hw_sim_counts.npz`` of ``spikinghash simulate ... --backend fast``, or the counts held in memory by the
  Python API) when they exist, then the energy models (``energy.break_even.price_all``: Eq. 26, 45 nm with memory,
  Loihi-class, the ANN counterparts, the band and break-even rates) from the integer counts (the float ones,
  labelled, without them), also drawn in ``energy_models.png`` and ``energy_break_even.png``;
- a run whose model has no NIR form: its ONNX graph (``export_onnx``), rates measured by onnxruntime (no
  energy models: they need the NIR graph's exact synapses and neuron states).

Conventions: ``docs/energy.md``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from tqdm import tqdm

from spikinghash.atomic_io import check_output_dir, write_json
from spikinghash.energy.nir_count import load_spike_counts
from spikinghash.energy.onnx_count import OnnxCounter
from spikinghash.energy.plot import plot_energy
from spikinghash.energy.plot_models import plot_break_even, plot_causes
from spikinghash.energy.summary import headline, nir_views, onnx_views
from spikinghash.energy.targets import E_AC_PJ, E_MAC_PJ, HOROWITZ_2014
from spikinghash.errors import ConfigError
from spikinghash.export.onnx_export import export_onnx
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.pipeline.batches import batches, split_rows
from spikinghash.pipeline.deployment import Deployment
from spikinghash.pipeline.run_dir import (ENERGY_BREAK_EVEN_PNG, ENERGY_JSON, ENERGY_MODELS_PNG, ENERGY_PNG,
                                          GRAPH_JSON, HW_SIM_COUNTS)
from spikinghash.retrieval.codes import load_npz


def _onnx_views(dep: Deployment, n: int, batch_size: int, bar: Any) -> dict[str, Any]:
    run, query = dep.source.run, dep.split("query")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(run.model, path, (dep.T, *query.frames(0).shape[1:]), model_name=dep.model)
        counter = OnnxCounter(path, dep.T)
        for x in batches(query, range(n), batch_size):
            counter.add(x)
            bar(x.shape[1])
    return onnx_views(counter, n)


def _has_nir_form(dep: Deployment) -> bool:
    run = dep.source.run
    return run is None or isinstance(run.model, NeuromorphicHashNet)


def stored_counts(dep: Deployment) -> dict[str, np.ndarray] | None:
    """The integer simulation's spike counts of ``dep``'s output folder (``hw_sim_counts.npz``), if any."""
    if dep.out is None or not (dep.out / HW_SIM_COUNTS).is_file():
        return None
    return load_spike_counts(dep.out / HW_SIM_COUNTS)


def estimate(dep: Deployment, samples: int = 256, batch_size: int = 32, progress: bool = True,
             counts: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """``energy.json``'s content for ``dep`` (module docstring), nothing written. ``counts``: integer spike counts
    (``Tally.counts_arrays``) to price instead of the output folder's ``hw_sim_counts.npz``."""
    if samples < 1:
        raise ConfigError(f"--samples {samples}: measure firing rates on at least 1 sample (default 256)")
    query = dep.split("query")
    n = len(split_rows(query, samples))
    source = "the integer simulation held in memory" if counts is not None else HW_SIM_COUNTS
    with tqdm(total=n, desc="energy: firing rates", unit="sample", disable=not progress) as bar:
        if _has_nir_form(dep):
            views = nir_views(dep.net, batches(query, range(n), batch_size), dep.T,
                              counts if counts is not None else stored_counts(dep), source, bar.update)
        else:
            views = _onnx_views(dep, n, batch_size, bar.update)
    where = {"run": str(dep.source.run.run_dir)} if dep.source.run is not None else {
        "graph": None if dep.source.graph_path is None else str(dep.source.graph_path)}
    dt = {"dt": dep.dt} if _has_nir_form(dep) else {}
    return {"source": dep.source.kind, **where, "model": dep.model, "data": dep.data["data"], "T": dep.T, **dt,
            "samples": n, "fingerprint": dep.fingerprint,
            "constants": {"E_AC_pj": E_AC_PJ, "E_MAC_pj": E_MAC_PJ, "source": HOROWITZ_2014}, **headline(views)}


def write_energy(dep: Deployment, summary: dict[str, Any]) -> dict[str, Any]:
    """Write ``energy.json``, its PNGs and ``graph.json`` into the deployment's folder."""
    write_json(dep.path(ENERGY_JSON), summary)
    plot_energy(summary, dep.path(ENERGY_PNG))
    if summary.get("energy_models"):
        plot_causes(summary["energy_models"], dep.path(ENERGY_MODELS_PNG))
        plot_break_even(summary["energy_models"], dep.path(ENERGY_BREAK_EVEN_PNG))
    if _has_nir_form(dep):
        write_json(dep.path(GRAPH_JSON), dep.describe())
    return summary


def check_energy_args(samples: int, out: str | Path | None) -> None:
    """Refuse a bad ``--samples`` and an unwritable output folder before any work; a damaged
    ``hw_sim_counts.npz`` there is refused before the float simulation runs."""
    if samples < 1:
        raise ConfigError(f"--samples {samples}: measure firing rates on at least 1 sample (default 256)")
    if out is None:
        return
    check_output_dir(out, "--out folder")
    if (Path(out) / HW_SIM_COUNTS).is_file():
        load_npz(Path(out) / HW_SIM_COUNTS, (), "spike counts file")
