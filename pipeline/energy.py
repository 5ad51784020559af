"""The energy stage: ``spikinghash energy RUN_DIR`` and ``energy GRAPH.nir --data NAME --out DIR``.

Frames: the first ``samples`` query samples of the dataset. Graph:

- a neuromorphic-profile run (``*_nir``) or a NIR file: the NIR graph, float rates from
  ``hw_sim.float_sim`` on those frames, integer rates from ``hw_sim_counts.npz`` (``spikinghash
  simulate ... --backend fast``) when it exists, the hardware view, then the energy models
  (``energy.compare.price_all``: Eq. 26 two ways, 45 nm with memory, Loihi-class, the ANN
  counterparts, the band and break-even rates) from the integer counts (the float ones, labelled,
  without them), also drawn in ``energy_models.png`` and ``energy_break_even.png``;
- any other model: the ONNX graph (``export_onnx``), rates measured by onnxruntime (no energy
  models: they need the NIR graph's exact synapses and neuron states).

Conventions: ``docs/energy.md``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from spikinghash.atomic_io import check_output_dir, write_json
from spikinghash.energy.nir_count import load_spike_counts
from spikinghash.energy.onnx_count import OnnxCounter
from spikinghash.energy.plot import plot_energy
from spikinghash.energy.plot_models import plot_break_even, plot_causes
from spikinghash.energy.summary import headline, nir_views, view_summary
from spikinghash.retrieval.codes import load_npz
from spikinghash.energy.targets import E_AC_PJ, E_MAC_PJ, HOROWITZ_2014
from spikinghash.errors import ConfigError, DataError
from spikinghash.export.nir_export import DEFAULT_DT, to_nir_graph
from spikinghash.export.onnx_export import export_onnx
from spikinghash.hw_sim.frontend.read import load
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.pipeline.frames import batches, split_rows
from spikinghash.pipeline.graph_run import is_graph_file, open_graph_run
from spikinghash.pipeline.run_dir import (ENERGY_BREAK_EVEN_PNG, ENERGY_JSON, ENERGY_MODELS_PNG, ENERGY_PNG,
                                          HW_SIM_COUNTS, load_run)


def _stored_counts(folder: Path) -> dict[str, Any] | None:
    path = folder / HW_SIM_COUNTS
    return load_spike_counts(path) if path.is_file() else None


def _onnx_views(run: Any, dataset: Any, n: int, batch_size: int, bar: Any) -> dict[str, Any]:
    steps = int(run.cfg.T)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(run.model, path, (steps, *dataset.frames(0).shape[1:]), model_name=str(run.cfg.model))
        counter = OnnxCounter(path, steps)
        for x in batches(dataset, range(n), batch_size):
            counter.add(x)
            bar(x.shape[1])
    return {"graph": "onnx", "uncounted_ops": counter.plan.skipped,
            "float": view_summary(counter.layers(), counter.neuron_table(), counter.mean_firing_rate(),
                                  f"onnxruntime on {n} query samples"),
            "integer": None, "hardware": None, "energy_models": None}


def _write(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    write_json(folder / ENERGY_JSON, summary)
    plot_energy(summary, folder / ENERGY_PNG)
    if summary.get("energy_models"):
        plot_causes(summary["energy_models"], folder / ENERGY_MODELS_PNG)
        plot_break_even(summary["energy_models"], folder / ENERGY_BREAK_EVEN_PNG)
    return summary


def _constants() -> dict[str, Any]:
    return {"E_AC_pj": E_AC_PJ, "E_MAC_pj": E_MAC_PJ, "source": HOROWITZ_2014}


def estimate_run(run_dir: str | Path, samples: int = 256, batch_size: int = 32, progress: bool = True) -> dict[str, Any]:
    """Energy of a run per sample (see module doc); writes ``energy.json`` and the PNGs, returns the json."""
    if samples < 1:
        raise ConfigError(f"--samples {samples}: measure firing rates on at least 1 sample (default 256)")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist; give the --out folder of `spikinghash train`")
    run = load_run(run_dir)
    query = run.data.query
    n = min(samples, len(query))
    with tqdm(total=n, desc="energy: firing rates", unit="sample", disable=not progress) as bar:
        if isinstance(run.model, NeuromorphicHashNet):
            net = load(to_nir_graph(run.model, T=int(run.cfg.T), dt=DEFAULT_DT, model_name=str(run.cfg.model)))
            views = nir_views(net, batches(query, range(n), batch_size), int(run.cfg.T), _stored_counts(run_dir),
                              HW_SIM_COUNTS, bar.update)
        else:
            views = _onnx_views(run, query, n, batch_size, bar.update)
    summary = {"run": str(run_dir), "model": str(run.cfg.model), "data": str(run.cfg.data), "T": int(run.cfg.T),
               "samples": n, "fingerprint": run.fingerprint, "constants": _constants(), **headline(views)}
    return _write(run_dir, summary)


def estimate_graph(graph: str | Path, data: str | None, out: str | Path | None, *, root: str | Path | None = None,
                   T: int | None = None, options: dict[str, Any] | None = None, samples: int = 256,
                   batch_size: int = 32, progress: bool = True) -> dict[str, Any]:
    """``energy GRAPH.nir``: the same views for any NIR graph, its input the dataset's first ``samples`` query
    frames, its integer counts from ``OUT/hw_sim_counts.npz`` (``simulate GRAPH.nir ... --out OUT``)."""
    if samples < 1:
        raise ConfigError(f"--samples {samples}: measure firing rates on at least 1 sample (default 256)")
    run = open_graph_run(graph, data, out, root=root, T=T, options=options)
    query = run.split("query")
    n = len(split_rows(query, samples))
    with tqdm(total=n, desc="energy: firing rates", unit="sample", disable=not progress) as bar:
        views = nir_views(run.net, batches(query, range(n), batch_size), run.T, _stored_counts(run.out),
                          HW_SIM_COUNTS, bar.update)
    model = ((run.net.metadata or {}).get("spikinghash") or {}).get("model") or run.graph_path.stem
    summary = {"graph": str(run.graph_path), "model": model, "data": run.data, "T": run.T, "dt": run.net.dt,
               "samples": n, "fingerprint": run.fingerprint, "constants": _constants(), **headline(views)}
    return _write(run.out, summary)


def check_energy_inputs(target: str | Path, samples: int = 256, out: str | Path | None = None) -> None:
    """Refuse a bad ``--samples``, a missing target and an unwritable output folder before any work."""
    if samples < 1:
        raise ConfigError(f"--samples {samples}: measure firing rates on at least 1 sample (default 256)")
    target = Path(target)
    if not target.exists():
        raise DataError(f"{target} does not exist; give a run folder (`spikinghash train --out`) or a NIR file")
    if target.is_file() and not is_graph_file(target):
        raise DataError(f"{target} is not a NIR file (no HDF5 signature); write it with nir.write, or re-export it")
    folder = Path(out) if out is not None and is_graph_file(target) else target
    check_output_dir(folder, "--out folder" if out is not None else "run folder")
    if (folder / HW_SIM_COUNTS).is_file():  # read only after the float simulation: a damaged one is refused first
        load_npz(folder / HW_SIM_COUNTS, (), "spike counts file")


def estimate_target(target: str | Path, **kw: Any) -> tuple[dict[str, Any], Path]:
    """``spikinghash energy``: a run folder or (with ``data``, ``out``, ...) a NIR file; the json and its folder."""
    target = Path(target)
    graph_keys = ("data", "out", "root", "T", "options")
    if is_graph_file(target):
        data, out = kw.pop("data", None), kw.pop("out", None)
        return estimate_graph(target, data, out, **kw), Path(out)  # type: ignore[arg-type]
    given = [f"--{k}" for k in graph_keys if kw.get(k)]
    if given:
        raise ConfigError(f"{' '.join(given)} belong(s) to a NIR file; {target} is taken as a run folder")
    return estimate_run(target, **{k: v for k, v in kw.items() if k not in graph_keys}), target
