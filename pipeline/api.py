"""The Python API: ``spikinghash.deploy(source, data, labels)`` and what it returns.

::

    import spikinghash as sh
    d = sh.deploy(graph, frames, labels)   # a NIR graph or file, a run folder, or an snnTorch module (input_shape=)
    d.summary()                            # the headline numbers of hw_sim.json
    d.layers                               # per layer: rates, spike agreement, saturations, wraps
    d.lava(samples=2)                      # real Lava, spike for spike against the fast simulator
    d.energy()                             # energy.json's content
    d.report("out/")                       # the files the command line writes

``deploy`` lowers the network (``hw_sim.frontend``), calibrates it on ``calib`` samples (a seeded random subset
of the training split, or of the given frames), and runs the float reference and the integer network over
every given sample (the query split of a dataset; ``limit`` for fewer). Frames given as arrays are
``[N, T, C, H, W]`` or ``[N, T, F]``: time-major inside each sample, event counts or intensities as they are
(no normalisation), with ``labels [N]`` (class indices) when the network classifies. Nothing is written before
:meth:`Deployed.report` (but a run folder's ``model.nir``, exported again when stale, as every command does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.atomic_io import check_output_dir
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.pipeline.deployment import Deployment, deployment
from spikinghash.pipeline.energy import estimate, write_energy
from spikinghash.pipeline.run_dir import HW_SIM_JSON, NIR_FILE
from spikinghash.pipeline.simulate import FastResult, calibrate, merge_write, run_backend, run_fast, write_fast

#: The keys of ``hw_sim.json`` :meth:`Deployed.summary` returns (those the readout gives).
SUMMARY_KEYS = ("model", "source", "data", "readout", "T", "dt", "dt_default", "samples", "accuracy_float",
                "accuracy_integer", "prediction_agreement", "map_k", "map_float", "map_integer", "map_drop_points",
                "hash_bit_agreement", "hash_code_agreement", "mean_firing_rate_float", "mean_firing_rate_integer",
                "input_clipped")


class Deployed:
    """A network deployed on the integer target, simulated over its data (module docstring)."""

    def __init__(self, dep: Deployment, int_net: IntNet, quantization: dict[str, Any], fast: FastResult,
                 calib: int) -> None:
        self.deployment, self.int_net, self.quantization, self._fast = dep, int_net, quantization, fast
        self._calib = calib
        self._backends: dict[str, dict[str, Any]] = {}
        self._energy: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The headline numbers: what ran, accuracy (a classifier) or mAP and hash-bit agreement (hash codes), the
        mean firing rates of float and integer, the lowest spike agreement of any layer and where it is."""
        report = self._fast.report
        out = {k: report[k] for k in SUMMARY_KEYS if k in report}
        worst = min(report["layers"], key=lambda r: r["spike_agreement"])
        out.update(spike_agreement_min=worst["spike_agreement"], spike_agreement_min_layer=worst["name"])
        for name, section in self._backends.items():
            out[f"{name}_bit_exact"] = section.get(name, section).get("bit_exact")
        return out

    @property
    def layers(self) -> list[dict[str, Any]]:
        """Per neuron layer (graph order): kind, neurons, float and integer firing rates (spikes per neuron per
        step), spike agreement, v saturations and wraps."""
        return [dict(row) for row in self._fast.report["layers"]]

    def lava(self, samples: int = 4) -> dict[str, Any]:
        """Run the first ``samples`` query samples on real Lava (``fixed_pt``) and compare them with the fast
        simulator spike for spike; ``hw_sim.json``'s ``lava`` section."""
        return self._run("lava", samples)

    def netx(self, samples: int = 2) -> dict[str, Any]:
        """The same with lava-dl's netx loader (a sequential graph, quantized for netx's format)."""
        return self._run("netx", samples)

    def _run(self, backend: str, samples: int) -> dict[str, Any]:
        if samples < 1:
            raise ValueError(f"samples={samples}: run at least 1 sample")
        int_net, quant = (self.int_net, self.quantization) if backend != "netx" else \
            calibrate(self.deployment, self._calib, "netx")
        self._backends[backend] = run_backend(self.deployment, int_net, quant, backend, samples)
        return self._backends[backend][backend]

    def energy(self, samples: int = 256) -> dict[str, Any]:
        """``energy.json``'s content: Eq. 26, 45 nm with memory and Loihi-class energy per sample from the integer
        simulation's spike counts, the ANN counterparts, the band and break-even rates (float rates measured on
        ``samples`` query samples)."""
        if self._energy is None:
            self._energy = estimate(self.deployment, samples, progress=False,
                                    counts=self._fast.tally.counts_arrays())
        return self._energy

    def report(self, out: str | Path, runs: str | Path | None = None) -> dict[str, Any]:
        """Write into ``out`` the files ``spikinghash simulate``, ``energy`` and ``report`` write (``hw_sim.json``,
        ``energy.json``, ``report.md`` and their companions; ``model.nir`` for a network held in memory);
        returns ``report.json``'s content."""
        from spikinghash.export.nir_export import write_graph
        from spikinghash.pipeline.report import build_report

        dep = self.deployment
        dep.out = check_output_dir(out, "report folder")
        if dep.source.graph_path is None:  # a graph or module held in memory: its file, so OUT can be reopened
            dep.source.graph_path = dep.path(NIR_FILE)
            write_graph(dep.source.graph(), dep.source.graph_path)
        write_fast(dep, self._fast)
        for section in self._backends.values():
            merge_write(dep.path(HW_SIM_JSON), section, dep.fingerprint)
        write_energy(dep, self.energy())
        return build_report(dep.out, runs)

    def __repr__(self) -> str:
        s = self.summary()
        return f"Deployed({s['model']!r}, readout={s['readout']!r}, T={s['T']}, samples={s['samples']})"


def deploy(source: Any, data: Any = None, labels: Any = None, *, input_shape: tuple[int, ...] | None = None,
           T: int | None = None, dt: float | None = None, root: str | Path | None = None, calib: int = 256,
           options: dict[str, Any] | None = None, sensor_size: tuple[int, int, int] | None = None,
           limit: int | None = None, batch_size: int = 32, threads: int = 1, progress: bool = False) -> Deployed:
    """Deploy ``source`` on the integer target with ``data`` and simulate it (module docstring).

    Args:
        source: a run folder, a ``.nir`` path, a ``nir.NIRGraph``, or a torch module (snnTorch) with
            ``input_shape`` (one step's input, e.g. ``(2, 34, 34)``; ``dt`` its time step in seconds, 1 ms).
        data: a registered dataset name (with ``root``, ``options``); arrays ``[N, T, C, H, W]`` or ``[N, T, F]``
            (numpy or torch) with ``labels [N]``; an ``.npz`` path holding ``frames`` and ``labels``, or
            ``events``/``offsets``/``sensor_size``; a dataset yielding ``(events, label)`` as tonic's do (binned
            into ``T`` steps on ``sensor_size`` (W, H, P), or the dataset's own). None: a run folder's own data.
        T: time steps per sample, where neither the graph nor the data says.
        calib: samples the integer scales are calibrated on.
        limit: simulate only the first ``limit`` samples of each split (default: all).
    """
    dep = deployment(source, data, labels, root=root, T=T, options=options, input_shape=input_shape, dt=dt,
                     sensor_size=sensor_size)
    if dep.source.run is not None:
        dep.out = None  # nothing is written into the run folder before report()
    int_net, quant = calibrate(dep, calib)
    fast = run_fast(dep, int_net, quant, limit=limit, batch_size=batch_size, threads=threads, progress=progress)
    return Deployed(dep, int_net, quant, fast, calib)
