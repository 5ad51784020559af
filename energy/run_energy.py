"""``spikinghash energy RUN_DIR``: energy per sample of a trained run, written to ``energy.json``/``energy.png``.

Frames: the first ``samples`` query samples of the run's dataset. Graph:

- neuromorphic profile (``*_nir``): the NIR graph (``export_nir``), float rates from
  ``hw_sim.float_sim`` on those frames, integer rates from ``RUN_DIR/hw_sim_counts.npz``
  (``spikinghash simulate RUN_DIR --backend fast``) when it exists, and the hardware view;
- any other model: the ONNX graph (``export_onnx``), rates measured by onnxruntime.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from spikinghash.atomic_io import write_json
from spikinghash.energy.layers import LayerCost, totals
from spikinghash.energy.targets import DEFAULT_TARGET, E_AC_PJ, E_MAC_PJ, HOROWITZ_2014
from spikinghash.errors import ConfigError, DataError

ENERGY_JSON, ENERGY_PNG, COUNTS = "energy.json", "energy.png", "hw_sim_counts.npz"


def _batches(dataset: Any, n: int, batch_size: int) -> Iterator[np.ndarray]:
    """Frames ``[T, B, C, H, W]`` float64 of the first ``n`` samples of a ``FrameDataset``."""
    for i in range(0, n, batch_size):
        yield np.stack([dataset.frames(j) for j in range(i, min(n, i + batch_size))], axis=1).astype(np.float64)


def view_summary(layers: Sequence[LayerCost], neurons: list[dict[str, Any]], mean_rate: float,
                 source: str) -> dict[str, Any]:
    """One model view (float or integer): per-layer costs, totals per sample, neuron updates."""
    return {"rates_from": source, "layers": [l.as_dict() for l in layers], "totals_per_sample": totals(layers),
            "neurons": neurons, "neuron_updates_per_sample": sum(n["updates_per_sample"] for n in neurons),
            "mean_firing_rate": mean_rate}


def ann_summary(layers: Sequence[LayerCost]) -> dict[str, Any]:
    """The ANN counterpart: same layers, one pass, every operation a MAC."""
    return {"layers": [{"name": l.name, "type": l.type, "flops": l.flops, "mac_count": l.flops,
                        "energy_pj": l.ann_energy_pj} for l in layers],
            "energy_pj_per_sample": sum(l.ann_energy_pj for l in layers)}


def _nir_views(run: Any, dataset: Any, n: int, batch_size: int, bar: Callable[[int], None]) -> dict[str, Any]:
    from spikinghash.energy.nir_count import (hardware_view, has_view, load_spike_counts, mean_firing_rate,
                                              neuron_table, nir_layers, spike_counts)
    from spikinghash.export.nir_export import export_nir
    from spikinghash.hw_sim.float_sim import simulate_float
    from spikinghash.hw_sim.graph import load

    with tempfile.TemporaryDirectory() as tmp:
        net = load(export_nir(run.model, Path(tmp) / "model.nir", T=int(run.cfg.T), model_name=str(run.cfg.model)))
    counts: dict[str, np.ndarray] = {}
    nonzero = np.zeros(net.input_shape)
    for x in _batches(dataset, n, batch_size):
        for key, value in spike_counts({"float": simulate_float(net, x).spikes}, int(run.cfg.T)).items():
            counts[key] = counts.get(key, 0) + value if key.startswith("float/") else value
        nonzero += (x != 0).sum(axis=(0, 1))
        bar(x.shape[1])
    counts["samples"] = np.array(n)
    out: dict[str, Any] = {"graph": "nir", "uncounted_ops": {}}
    out["float"] = view_summary(nir_layers(net, counts, "float"), neuron_table(net, counts, "float"),
                                mean_firing_rate(net, counts, "float"), f"float simulation of {n} query samples")
    out["integer"], hw_counts, hw_view = None, counts, "float"
    counts_file = Path(run.run_dir) / COUNTS
    if counts_file.is_file():
        stored = load_spike_counts(counts_file)
        if has_view(stored, net, "integer"):
            out["integer"] = view_summary(nir_layers(net, stored, "integer"), neuron_table(net, stored, "integer"),
                                          mean_firing_rate(net, stored, "integer"),
                                          f"{COUNTS}: integer simulation of {int(stored['samples'])} samples")
            hw_counts, hw_view = stored, "integer"
    out["hardware"] = hardware_view(net, hw_counts, hw_view, DEFAULT_TARGET, input_events=nonzero / n)
    return out


def _onnx_views(run: Any, dataset: Any, n: int, batch_size: int, bar: Callable[[int], None]) -> dict[str, Any]:
    from spikinghash.energy.onnx_count import OnnxCounter
    from spikinghash.export.onnx_export import export_onnx

    steps = int(run.cfg.T)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(run.model, path, (steps, *dataset.frames(0).shape[1:]), model_name=str(run.cfg.model))
        counter = OnnxCounter(path, steps)
        for x in _batches(dataset, n, batch_size):
            counter.add(x)
            bar(x.shape[1])
    return {"graph": "onnx", "uncounted_ops": counter.plan.skipped,
            "float": view_summary(counter.layers(), counter.neuron_table(), counter.mean_firing_rate(),
                                  f"onnxruntime on {n} query samples"),
            "integer": None, "hardware": None}


def estimate_run(run_dir: str | Path, samples: int = 256, batch_size: int = 32, progress: bool = True) -> dict[str, Any]:
    """Energy of a run per sample (see module doc); writes ``energy.json`` and ``energy.png``, returns the json."""
    from tqdm import tqdm

    from spikinghash.models.neuromorphic import NeuromorphicHashNet
    from spikinghash.retrieval.run_eval import load_run

    if samples < 1:
        raise ConfigError(f"--samples {samples}: measure firing rates on at least 1 sample (default 256)")
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run folder {run_dir} does not exist; give the --out folder of `spikinghash train`")
    run = load_run(run_dir)
    query = run.data.query
    n = min(samples, len(query))
    nir_profile = isinstance(run.model, NeuromorphicHashNet)
    with tqdm(total=n, desc="energy: firing rates", unit="sample", disable=not progress) as bar:
        views = (_nir_views if nir_profile else _onnx_views)(run, query, n, batch_size, bar.update)
    fl, it = views["float"], views["integer"]
    e_float = fl["totals_per_sample"]["energy_pj"]
    e_ann = fl["totals_per_sample"]["ann_energy_pj"]
    summary = {
        "run": str(run_dir), "model": str(run.cfg.model), "data": str(run.cfg.data), "T": int(run.cfg.T),
        "samples": n, "fingerprint": run.fingerprint,
        "constants": {"E_AC_pj": E_AC_PJ, "E_MAC_pj": E_MAC_PJ, "source": HOROWITZ_2014},
        "energy_pj_per_sample_float": e_float,
        "energy_pj_per_sample_integer": it["totals_per_sample"]["energy_pj"] if it else None,
        "energy_pj_per_sample_ann": e_ann,
        "ann_over_snn_float": e_ann / e_float if e_float else None,
        "mean_firing_rate_float": fl["mean_firing_rate"],
        "mean_firing_rate_integer": it["mean_firing_rate"] if it else None,
        "energy_pj_per_sample_hardware": views["hardware"]["energy_pj_per_sample"] if views["hardware"] else None,
        **views, "ann": ann_summary([LayerCost(**l) for l in fl["layers"]]),
    }
    write_json(run_dir / ENERGY_JSON, summary)
    from spikinghash.energy.plot import plot_energy

    plot_energy(summary, run_dir / ENERGY_PNG)
    return summary
