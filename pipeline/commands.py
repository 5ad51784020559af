"""What a command line names, as one :class:`~spikinghash.pipeline.deployment.Deployment`.

``spikinghash simulate|energy|export netx TARGET``: TARGET is

- a run folder (``config.yaml``): its own network, dataset and folder; ``--data``, ``--inputs``, ``--root``,
  ``--out``, ``--T`` and ``-o`` belong to the other kinds and are refused;
- a NIR file: with ``--data NAME`` (``--root``, ``-o KEY=VALUE``) or ``--inputs FILE.npz`` (``data.inputs``:
  frames ``[N, T, C, H, W]`` / ``[N, T, F]`` with labels ``[N]``, or events), and ``--out DIR``;
- an output folder of an earlier ``simulate``/``energy`` (``graph.json``): reopened as it was recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spikinghash.errors import ConfigError
from spikinghash.pipeline.deployment import Deployment, deployment, reopen
from spikinghash.pipeline.networks import is_graph_file, open_source
from spikinghash.pipeline.run_dir import CONFIG, GRAPH_JSON


def open_target(target: str | Path, *, data: str | None = None, inputs: str | Path | None = None,
                root: str | Path | None = None, out: str | Path | None = None, T: int | None = None,
                options: dict[str, Any] | None = None, out_required: bool = True) -> Deployment:
    """The deployment TARGET names (module docstring); every flag checked against the kind of TARGET before any
    network or data is loaded. ``out_required``: a NIR file needs ``--out`` (``export netx`` writes beside its
    ``-o`` file instead)."""
    target = Path(target)
    flags = [flag for flag, value in (("--data", data), ("--inputs", inputs), ("--root", root), ("--out", out),
                                      ("--T", T), ("--option", options)) if value]
    if is_graph_file(target):
        if data is not None and inputs is not None:
            raise ConfigError("give either --data NAME (a registered dataset) or --inputs FILE.npz (your frames), "
                              "not both")
        if data is None and inputs is None:
            raise ConfigError(f"{target} is a NIR file: name the dataset whose frames feed it with --data NAME (see "
                              "`spikinghash data list`), or give your own frames with --inputs FILE.npz")
        if inputs is not None and (root is not None or options):
            raise ConfigError("--root and -o belong to --data (a registered dataset); --inputs FILE.npz carries its "
                              "own frames")
        if out is None and out_required:
            raise ConfigError(f"{target} is a NIR file: give --out DIR for hw_sim.json, energy.json and the report")
        if inputs is not None:
            return deployment(target, Path(inputs), out=out, T=T)
        return deployment(target, data, out=out, root=root, T=T, options=options or {})
    if flags and not target.is_dir():
        open_source(target)  # no run folder, no NIR file: says what the path is and what to give instead
    if flags and target.is_dir() and not (target / CONFIG).is_file() and (target / GRAPH_JSON).is_file():
        raise ConfigError(f"{' '.join(flags)}: {target} is an output folder whose {GRAPH_JSON} names its source and "
                          "data; leave the flags out (or give the source again with them)")
    if flags:
        raise ConfigError(f"{' '.join(flags)} belong(s) to a NIR file; {target} is taken as a run folder, whose "
                          "config names its data (leave them out, or give a GRAPH.nir)")
    if target.is_dir() and not (target / CONFIG).is_file() and (target / GRAPH_JSON).is_file():
        return reopen(target)
    return deployment(target)


def simulate_target(target: str | Path, backend: str = "fast", *, samples: int = 2, calib: int = 256,
                    limit: int | None = None, batch_size: int = 32, threads: int = 1, progress: bool = True,
                    **where: Any) -> tuple[dict[str, Any], Path]:
    """``spikinghash simulate TARGET``: the settings checked, TARGET opened (``where``: :func:`open_target`'s
    keywords), simulated (``simulate.simulate``); returns ``hw_sim.json`` and the folder it went to."""
    from spikinghash.pipeline.simulate import check_simulate_args, simulate

    check_simulate_args(backend, samples, calib, limit)
    dep = open_target(target, **where)
    report = simulate(dep, backend, samples=samples, calib=calib, limit=limit, batch_size=batch_size,
                      threads=threads, progress=progress)
    return report, dep.path("")


def energy_target(target: str | Path, *, samples: int = 256, batch_size: int = 32, progress: bool = True,
                  **where: Any) -> tuple[dict[str, Any], Path]:
    """``spikinghash energy TARGET``: ``energy.json`` (``energy.estimate``) written into the deployment's folder;
    returns it and the folder."""
    from spikinghash.pipeline.energy import check_energy_args, estimate, write_energy

    target_dir = None if is_graph_file(Path(target)) else Path(target)
    check_energy_args(samples, where.get("out") or target_dir)
    dep = open_target(target, **where)
    return write_energy(dep, estimate(dep, samples, batch_size, progress)), dep.path("")


def export_netx_target(target: str | Path, output: str | Path | None = None, *, calib: int = 256,
                       **where: Any) -> tuple[Path, dict[str, Any]]:
    """``spikinghash export netx TARGET [-o FILE]``: the network as netx HDF5 (``export.export_netx``); a NIR file
    with ``-o`` needs no ``--out``."""
    from spikinghash.atomic_io import check_output_file
    from spikinghash.pipeline.export import export_netx

    if calib < 1:
        raise ConfigError(f"--calib {calib}: calibrate on at least 1 training sample (default 256)")
    if output is not None:
        check_output_file(output, "-o")  # before the graph is read or calibrated
    dep = open_target(target, out_required=output is None, **where)
    return export_netx(dep, output, calib)
