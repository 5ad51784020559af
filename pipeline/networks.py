"""Where a deployed network comes from: one registry entry per kind of source, each giving the same thing.

====================  ==================================================  =======================================
kind                  source                                              its network
====================  ==================================================  =======================================
``run``               a training run folder (``spikinghash train --out``)  ``RUN_DIR/model.nir``, exported again
                                                                          while stale (``export.ensure_nir``)
``nir``               a ``.nir`` file (``nir.write``'s HDF5)               the file, lowered by hw_sim's front end
``graph``             a ``nir.NIRGraph`` in memory                         the graph, lowered likewise
``module``            a torch module (an snnTorch network) with its        ``export.snntorch_to_nir`` of it, exact
                      one-step ``input_shape``                            or refused
====================  ==================================================  =======================================

Every opener returns a :class:`Source`: the NIR graph (read or made once), the model's name, the time steps
the source states (``T``, or None), a fingerprint of the network, and for a run its loaded
:class:`~spikinghash.pipeline.run_dir.Run` (its data, its eval codes). Everything after this point (the
deployment, its drivers, the hw_sim front end) is the same for every kind. Another kind of source (a netx
file) is one more entry of :data:`SOURCES`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import nir
import numpy as np

from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.frontend.read import load, read_graph
from spikinghash.pipeline.run_dir import CONFIG, Run

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_graph_file(path: Path) -> bool:
    """True for a NIR file (HDF5, as ``nir.write`` writes it) rather than a folder."""
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        return fh.read(8) == HDF5_SIGNATURE


@dataclass
class Source:
    """One network to deploy (module docstring). ``graph_path``: the NIR file it was read from or written to
    (None while only in memory); ``meta``: what the source records about itself (for ``graph.json``)."""

    kind: str
    name: str
    fingerprint: str
    T: int | None
    graph_path: Path | None = None
    run: Run | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    _graph: nir.NIRGraph | None = field(default=None, repr=False)
    _net: Callable[[], CanonicalNet] | None = field(default=None, repr=False)

    @cached_property
    def net(self) -> CanonicalNet:
        """The canonical graph (lowered, type-checked, parsed), made once."""
        return self._net() if self._net is not None else load(self.graph())

    def graph(self) -> nir.NIRGraph:
        """The NIR graph as the source gives it (read from its file when it has one)."""
        return self._graph if self._graph is not None else read_graph(self.graph_path)

    def describe(self) -> dict[str, Any]:
        """``graph.json``'s ``source`` entry (plain JSON)."""
        return {"kind": self.kind, "name": self.name,
                "path": None if self.graph_path is None else str(self.graph_path.resolve()), **self.meta}


def _metadata_T(graph: nir.NIRGraph) -> int | None:
    stored = (getattr(graph, "metadata", None) or {}).get("T")
    return None if stored is None else int(np.asarray(stored))


def graph_bytes(graph: nir.NIRGraph) -> bytes:
    """The bytes ``nir.write`` makes of ``graph`` (the fingerprint of a graph held in memory)."""
    with tempfile.TemporaryDirectory(prefix="spikinghash-graph-") as tmp:
        path = Path(tmp) / "graph.nir"
        nir.write(path, graph)
        return path.read_bytes()


def open_run(target: Path, **_: Any) -> Source:
    from spikinghash.pipeline.export import ensure_nir
    from spikinghash.pipeline.run_dir import NIR_FILE, load_run

    run = load_run(target)
    return Source("run", str(run.cfg.model), run.fingerprint, int(run.cfg.T), run.path(NIR_FILE), run,
                  {"run": str(target.resolve())}, _net=lambda: ensure_nir(run))


def open_nir_file(target: Path, **_: Any) -> Source:
    graph = read_graph(target)  # a file that is no NIR graph is refused here, naming it
    name = ((graph.metadata or {}).get("spikinghash") or {}).get("model") or target.stem
    return Source("nir", str(name), hashlib.sha256(target.read_bytes()).hexdigest(), _metadata_T(graph), target,
                  _graph=graph, _net=lambda: load(graph, f"NIR file {str(target)!r}"))


def open_graph(graph: nir.NIRGraph, **_: Any) -> Source:
    name = ((graph.metadata or {}).get("spikinghash") or {}).get("model") or "graph"
    return Source("graph", str(name), hashlib.sha256(graph_bytes(graph)).hexdigest(), _metadata_T(graph),
                  _graph=graph, _net=lambda: load(graph))


def open_module(module: Any, *, input_shape: tuple[int, ...] | None = None, dt: float | None = None,
                **_: Any) -> Source:
    """An snnTorch module as its author trained it (``export.snntorch_to_nir``: exact or refused)."""
    import torch

    from spikinghash.export.snntorch_nir import DEFAULT_DT, snntorch_to_nir

    if input_shape is None:
        raise ConfigError(f"a {type(module).__name__} module needs input_shape=(C, H, W) or (F,): the shape of one "
                          "time step's input, without batch or time axes")
    shape = tuple(int(s) for s in input_shape)
    dtype = next((p.dtype for p in module.parameters()), torch.float32)
    graph = snntorch_to_nir(module, torch.zeros(1, *shape, dtype=dtype), dt=DEFAULT_DT if dt is None else dt)
    source = open_graph(graph)
    source.kind, source.name = "module", type(module).__name__
    source.meta = {"module": type(module).__qualname__, "input_shape": list(shape)}
    return source


def _is_run(target: Any) -> bool:
    return isinstance(target, (str, os.PathLike)) and (Path(target) / CONFIG).is_file()


def _is_nir_file(target: Any) -> bool:
    return isinstance(target, (str, os.PathLike)) and is_graph_file(Path(target))


def _is_module(target: Any) -> bool:
    return hasattr(target, "named_modules") and hasattr(target, "parameters")


#: (kind, test, opener) in the order they are tried.
SOURCES: tuple[tuple[str, Callable[[Any], bool], Callable[..., Source]], ...] = (
    ("run", _is_run, lambda t, **kw: open_run(Path(t), **kw)),
    ("nir", _is_nir_file, lambda t, **kw: open_nir_file(Path(t), **kw)),
    ("graph", lambda t: isinstance(t, nir.NIRGraph), open_graph),
    ("module", _is_module, open_module),
)


def open_source(target: Any, **options: Any) -> Source:
    """The :class:`Source` of ``target`` (a run folder, a NIR file, a ``nir.NIRGraph``, a torch module);
    :class:`DataError` naming what each kind needs when it is none of them."""
    for _, test, opener in SOURCES:
        if test(target):
            return opener(target, **options)
    if isinstance(target, (str, os.PathLike)):
        path = Path(target)
        if not path.exists():
            raise DataError(f"{path} does not exist; give a run folder (`spikinghash train --out`) or a NIR file")
        if path.is_file():
            raise DataError(f"{path} is not a NIR file (no HDF5 signature); write it with nir.write, or re-export it")
        raise DataError(f"{path} is neither a run folder (no {CONFIG}) nor a NIR file; give RUN_DIR or GRAPH.nir")
    raise DataError(f"cannot deploy a {type(target).__name__}; give a run folder, a .nir file, a nir.NIRGraph or "
                    "an snnTorch module (with input_shape=)")

