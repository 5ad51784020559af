"""The export stage: a run's NIR graph (fingerprinted, reused while current), its ONNX graph, an snnTorch module's
NIR graph, and any deployment's integer network as lava-dl's netx HDF5 (``export netx``: calibrated as
``simulate`` calibrates it, under netx's quantizer rules: 8-bit dense weights at exponent 0, biases on netx's
64-unit grid; only sequential graphs can be written, any other is refused with the reasons)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nir

from spikinghash.atomic_io import check_output_file
from spikinghash.errors import ConfigError, DataError, note
from spikinghash.export.nir_check import check_nir_exportable
from spikinghash.export.nir_export import DEFAULT_DT, to_nir_graph, write_graph
from spikinghash.export.onnx_export import OPSETS, ExportInfo, export_onnx
from spikinghash.export.snntorch_load import snntorch_graph
from spikinghash.hw_sim.frontend.consumers import record_consumers
from spikinghash.hw_sim.frontend.graph import CanonicalNet, parse
from spikinghash.hw_sim.frontend.portable import make_portable
from spikinghash.hw_sim.frontend.read import load, read_checked
from spikinghash.pipeline.run_dir import NETX_FILE, NIR_FILE, ONNX_FILE, Run, load_run


def export_run_nir(run: Run, path: str | Path | None = None, portable: bool = False) -> nir.NIRGraph:
    """Write the NIR graph of ``run`` to ``path`` (default ``RUN_DIR/model.nir``), tagged with its fingerprint.

    A paper-faithful model raises ``ConfigError`` listing every operation NIR cannot express.
    """
    name = str(run.cfg.model)
    check_nir_exportable(run.model, name)
    graph = to_nir_graph(run.model, T=int(run.cfg.T), dt=DEFAULT_DT, model_name=name)
    graph.metadata["spikinghash"]["fingerprint"] = run.fingerprint
    return write_with_consumers(graph, path if path is not None else run.path(NIR_FILE), portable)[0]


#: The installed consumers a written graph is tried on besides nirtorch and snnTorch's importer.
HW_SIM_PROBE = {"spikinghash.hw_sim": load}


def write_with_consumers(graph: nir.NIRGraph, path: str | Path, portable: bool = False) -> tuple[nir.NIRGraph, dict[str, str]]:
    """Write ``graph`` (made portable first if asked: ``hw_sim.frontend.portable``) atomically, with the consumers
    that can run it (``hw_sim.frontend.consumers``: hw_sim, nirtorch, snnTorch's importer, each tried) in its
    metadata; returns them."""
    if portable:
        graph = make_portable(graph)
    consumers = record_consumers(graph, HW_SIM_PROBE)
    write_graph(graph, path)
    return graph, consumers


def export_snntorch(spec: str, input_shape: tuple[int, ...], output: str | Path, *,
                    weights: str | Path | None = None, dt: float = 1e-3,
                    portable: bool = False) -> tuple[nir.NIRGraph, dict[str, str]]:
    """``export nir --snntorch PKG.MODULE:FACTORY``: the user's snnTorch module as a NIR file (``export.snntorch_nir``,
    exact or refused), with its consumers; returns the graph and them."""
    if not str(output):
        raise ConfigError("--snntorch needs -o FILE.nir: where to write the graph")
    return write_with_consumers(snntorch_graph(spec, input_shape, weights=weights, dt=dt), output, portable)


def _current_graph(path: Path, fingerprint: str) -> tuple[nir.NIRGraph | None, str | None]:
    """``(graph, None)`` if ``path`` holds the checked NIR graph of the weights with this fingerprint; else
    ``(None, why)``: why it must be exported again (None when it is simply absent)."""
    if not path.is_file():
        return None, None
    try:
        graph = read_checked(path)
    except (ConfigError, DataError) as err:  # unreadable or ill-typed: say so, it is about to be replaced
        return None, f"{str(err).split('; ')[0]}"
    stored = ((graph.metadata or {}).get("spikinghash") or {}).get("fingerprint")
    if stored is None:
        return None, f"{path} has no spikinghash fingerprint (it was not exported from this run)"
    if str(stored) != fingerprint:
        return None, (f"{path} was exported from other weights or settings (fingerprint {str(stored)[:12]}, "
                      f"the run's is {fingerprint[:12]})")
    return graph, None


def ensure_nir(run: Run) -> CanonicalNet:
    """The canonical net of ``RUN_DIR/model.nir`` for the run's current weights: the file is read once, and
    exported again (then read back) unless its stored fingerprint is the run's. Replacing a file that was
    there (stale, foreign or unreadable) emits a :class:`~spikinghash.errors.Note` saying why."""
    path = run.path(NIR_FILE)
    graph, why = _current_graph(path, run.fingerprint)
    if graph is None:
        export_run_nir(run, path)
        if why is not None:
            note(f"{why}; exported again from the run's weights (the old file was replaced)")
        graph = read_checked(path)  # what the file holds, as a later reuse would read it
    return parse(graph)


def check_onnx_args(output: str | Path | None, opset: int) -> None:
    """Refuse an unsupported opset or an unwritable ``-o`` before the run is loaded."""
    if opset not in OPSETS:
        raise ConfigError(f"--opset {opset}: ONNX opset {opset} is not supported; use one of "
                          f"{OPSETS.start}..{OPSETS.stop - 1}")
    if output is not None:
        check_output_file(output, "-o")


def export_run_onnx(run: Run, path: str | Path | None = None, opset: int = 17) -> tuple[ExportInfo, tuple[int, int, int]]:
    """Write the run's ONNX graph (default ``RUN_DIR/model.onnx``); returns the export info and the
    input frame shape ``(C, H, W)``."""
    w, h, c = run.info.sensor_size  # type: ignore[misc]
    out = path if path is not None else run.path(ONNX_FILE)
    info = export_onnx(run.model, out, (run.cfg.T, c, h, w), model_name=str(run.cfg.model), opset=opset)
    return info, (c, h, w)


def export_nir_target(run_dir: Path | None, output: Path | None, *, snntorch: str | None = None,
                      weights: Path | None = None, input_shape: str | None = None, dt: float = 1e-3,
                      portable: bool = False) -> tuple[Path, nir.NIRGraph, dict[str, str]]:
    """``spikinghash export nir``: a run folder's graph, or (``snntorch``) the user's module's; checks every
    argument before any work. Returns the file, the graph and its consumers."""
    from spikinghash.export.snntorch_load import parse_input_shape

    if output is not None:
        check_output_file(output, "-o")
    if snntorch is not None:
        if run_dir is not None:
            raise ConfigError(f"give either RUN_DIR ({run_dir}) or --snntorch, not both")
        if input_shape is None or output is None:
            raise ConfigError("--snntorch needs --input-shape C,H,W (one step's input) and -o FILE.nir")
        if dt <= 0:
            raise ConfigError(f"--dt {dt}: the time step must be positive (seconds)")
        shape = parse_input_shape(input_shape)
        graph, consumers = export_snntorch(snntorch, shape, output, weights=weights, dt=dt, portable=portable)
        return output, graph, consumers
    if run_dir is None:
        raise ConfigError("give RUN_DIR (a trained neuromorphic-profile run) or --snntorch PKG.MODULE:FACTORY")
    stray = [flag for flag, v in (("--weights", weights), ("--input-shape", input_shape)) if v is not None]
    if stray:
        raise ConfigError(f"{' '.join(stray)} belong(s) to --snntorch; a run folder holds its own weights and shape")
    run = load_run(run_dir)
    out = output if output is not None else run.path(NIR_FILE)
    graph = export_run_nir(run, out, portable=portable)
    return out, graph, dict(graph.metadata.get("consumers", {}))


def export_netx(dep: Any, output: str | Path | None = None, calib: int = 256) -> tuple[Path, dict[str, Any]]:
    """Write the netx network of the deployment ``dep`` to ``output`` (default ``model.net`` in its folder); returns
    the path and the per-layer changes the format forced."""
    from spikinghash.hw_sim.backends import BACKENDS
    from spikinghash.hw_sim.backends.netx.write import write_netx
    from spikinghash.pipeline.simulate import calibrate

    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    int_net, quant = calibrate(dep, calib, BACKENDS["netx"].rules)
    path = Path(output) if output is not None else dep.path(NETX_FILE)
    write_netx(int_net, path)
    return path, quant["netx_fit"]
