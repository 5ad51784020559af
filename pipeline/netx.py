"""lava-dl's netx as a second Lava front end: ``export netx RUN_DIR|GRAPH.nir -o model.net`` and
``simulate ... --backend netx``.

The graph (a run's ``model.nir``, or a NIR file with its dataset) is quantized for netx's file format
(``hw_sim.netx_export.fit_for_netx``: 8-bit dense weights at exponent 0, biases on netx's 64-unit grid;
the changes are reported per layer) on the same calibration subset ``simulate`` uses, written as netx's
HDF5 network, loaded with ``netx.hdf5.Network`` and compared spike for spike with the fast simulator
and our own Lava build (``hw_sim.verify.netx.run_netx``). Only sequential graphs can be written; any other
is refused with the reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.atomic_io import check_output_file
from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.backends.netx.write import fit_for_netx, write_netx
from spikinghash.hw_sim.verify.netx import run_netx
from spikinghash.hw_sim.target.quantize import qat_scales
from spikinghash.pipeline.export import ensure_nir
from spikinghash.pipeline.frames import batches, calibration_frames, split_rows
from spikinghash.pipeline.graph_run import is_graph_file, open_graph_run
from spikinghash.pipeline.run_dir import HW_SIM_JSON, load_run
from spikinghash.pipeline.simulate import merge_write

NETX_FILE = "model.net"


def fit_netx(net: CanonicalNet, train: Any, calib: int, seed: int = 0) -> tuple[IntNet, dict[str, Any]]:
    """The netx-fitted integer network, calibrated on the same seeded subset as ``simulate``'s."""
    return fit_for_netx(net, calibration_frames(train, calib, seed), scales=qat_scales(net))


def _source(target: Path, data: str | None, root: Any, out: Any, T: int | None, options: dict | None) -> Any:
    """(net, train split, query split, output folder, fingerprint, model name) of a run folder or a NIR file."""
    if is_graph_file(target):
        g = open_graph_run(target, data, out, root=root, T=T, options=options)
        return g.net, g.split("train"), g.split("query"), g.out, g.fingerprint, target.stem
    run = load_run(target)
    return ensure_nir(run), run.data.train, run.data.query, run.run_dir, run.fingerprint, str(run.cfg.model)


def export_netx(target: str | Path, output: str | Path | None = None, *, data: str | None = None,
                root: str | Path | None = None, out: str | Path | None = None, T: int | None = None,
                options: dict[str, Any] | None = None, calib: int = 256) -> tuple[Path, dict[str, Any]]:
    """Write the netx network of ``target`` to ``output`` (default ``model.net`` beside the run's files);
    returns the path and the per-layer changes the format forced."""
    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    if output is not None:
        check_output_file(output, "-o")  # before the graph is exported or calibrated
    net, train, _, folder, _, _ = _source(Path(target), data, root, out if out is not None else (
        Path(output).parent if output is not None else None), T, options)
    q, changes = fit_netx(net, train, calib)
    path = Path(output) if output is not None else folder / NETX_FILE
    write_netx(q, path)
    return path, changes


def simulate_netx(target: str | Path, samples: int, *, data: str | None = None, root: str | Path | None = None,
                  out: str | Path | None = None, T: int | None = None, options: dict[str, Any] | None = None,
                  calib: int = 256) -> tuple[dict[str, Any], Path]:
    """``samples`` query samples through netx, the fast simulator and our Lava build; merged into
    ``hw_sim.json`` under ``"netx"`` (with the format's changes under ``"netx"]["fit"]``)."""
    net, train, query, folder, fingerprint, model = _source(Path(target), data, root, out, T, options)
    q, changes = fit_netx(net, train, calib)
    path = folder / NETX_FILE
    write_netx(q, path)
    frames = next(batches(query, split_rows(query, samples), samples))
    section = run_netx(q, frames, samples=frames.shape[1], path=path)
    section["fit"] = changes
    section["file"] = str(path)
    return merge_write(folder / HW_SIM_JSON, {"model": model, "fingerprint": fingerprint, "netx": section},
                       fingerprint), folder
