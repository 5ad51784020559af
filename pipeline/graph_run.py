"""A NIR file brought by a user (Sinabs, snnTorch, Norse, Rockpool, ... or ours) with a dataset: the
"run" that ``simulate GRAPH.nir``, ``energy GRAPH.nir`` and ``report DIR`` work on.

Its output folder gets the same files a run folder gets (``hw_sim.json``, ``hw_sim_counts.npz``,
``hw_sim.png``, ``energy.json``, ``report.md/json``), plus ``graph.json``: where the graph came
from and how its input was made (dataset, root, T, dt), so that ``energy`` and ``report`` read the
same graph and frames later.

Input handling: T comes from the graph's metadata when present, otherwise from ``--T`` (both,
disagreeing, is an error); event data is binned into T frames as for training; a graph whose input
shape differs from the dataset's frames is refused with both shapes named. A graph without ``dt``
takes 1 ms, and the default is reported.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from spikinghash.atomic_io import write_json
from spikinghash.data.frames import FrameDataset
from spikinghash.data.registry import DatasetInfo, dataset_info, load_split
from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.frontend.readout import choose_readout

GRAPH_JSON = "graph.json"


def is_graph_file(path: Path) -> bool:
    """True for a NIR file (HDF5, as ``nir.write`` writes it) rather than a run folder."""
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


@dataclass
class GraphRun:
    """A NIR graph, its canonical net, the dataset whose frames feed it, and the output folder.

    ``fingerprint``: sha256 of the graph file and of the input settings (dataset, root, options, T); it
    tags the reports so that results of another graph or input are not merged.
    """

    graph_path: Path
    net: CanonicalNet
    T: int
    data: str
    root: Path | None
    out: Path
    fingerprint: str
    options: dict[str, Any] = field(default_factory=dict)
    _splits: dict[str, FrameDataset] = field(default_factory=dict, repr=False)

    @cached_property
    def info(self) -> DatasetInfo:
        return self.split("query").split.info

    def split(self, name: str) -> FrameDataset:
        """The dataset split ``name`` as frames ``[T, C, H, W]``, loaded once."""
        if name not in self._splits:
            self._splits[name] = FrameDataset(load_split(self.data, name, root=self.root, **self.options), self.T)
        return self._splits[name]

    @property
    def readout(self) -> str:
        return choose_readout(self.net, len(self.info.classes) or None)

    def path(self, name: str) -> Path:
        return self.out / name

    def describe(self) -> dict[str, Any]:
        """``graph.json``'s content."""
        return {"graph": str(self.graph_path.resolve()), "data": self.data,
                "root": None if self.root is None else str(self.root.resolve()), "options": self.options,
                "T": self.T, "dt": self.net.dt, "dt_default": bool(self.net.metadata.get("dt_default", False)),
                "input_shape": list(self.net.input_shape), "fingerprint": self.fingerprint}


def graph_steps(net: CanonicalNet, T: int | None, path: Path) -> int:
    """The time steps per sample: the graph's ``metadata["T"]``, else ``T``; refuses none or two that differ."""
    stored = (net.metadata or {}).get("T")
    if stored is not None and T is not None and int(stored) != int(T):
        raise ConfigError(f"{path} says T={int(stored)} in its metadata but --T {T} was given; leave --T out "
                          "or re-export the graph with the T you want")
    steps = int(stored) if stored is not None else T
    if steps is None:
        raise ConfigError(f"{path} does not state T (time steps per sample) in its metadata; give it with --T N")
    if steps < 1:
        raise ConfigError(f"T={steps} time steps is impossible; give --T N with N >= 1")
    return steps


def _frame_shape(info: DatasetInfo) -> tuple[int, ...]:
    w, h, c = info.sensor_size  # type: ignore[misc]
    return (c, h, w)


def open_graph_run(graph: str | Path, data: str | None, out: str | Path | None, *, root: str | Path | None = None,
                   T: int | None = None, options: dict[str, Any] | None = None) -> GraphRun:
    """Read and lower ``graph`` (refusing what the integer target cannot hold), check it against the frames of
    ``data``, and record the pairing in ``OUT/graph.json``."""
    graph = Path(graph)
    if data is None:
        raise ConfigError(f"{graph} is a NIR file: name the dataset whose frames feed it with --data NAME "
                          "(see `spikinghash data list`)")
    if out is None:
        raise ConfigError(f"{graph} is a NIR file: give --out DIR for hw_sim.json, energy.json and the report")
    info = dataset_info(data)  # an unknown dataset is refused before the graph is read
    net = load(graph)
    steps = graph_steps(net, T, graph)
    digest = hashlib.sha256(graph.read_bytes())
    settings = {"data": data, "root": None if root is None else str(Path(root).resolve()), "T": steps,
                "options": options or {}}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    run = GraphRun(graph, net, steps, data, None if root is None else Path(root), Path(out), digest.hexdigest(),
                   dict(options or {}))
    frames = _frame_shape(info) if info.sensor_size is not None else _frame_shape(run.info)
    if tuple(net.input_shape) != frames:
        raise ConfigError(f"{graph} takes input of shape {list(net.input_shape)} per step, but {data}'s frames are "
                          f"{list(frames)} ([C, H, W]); use a graph made for this dataset")
    run.out.mkdir(parents=True, exist_ok=True)
    write_json(run.path(GRAPH_JSON), run.describe())
    return run


def reopen_graph_run(out: str | Path) -> GraphRun:
    """The graph run recorded in ``OUT/graph.json`` by an earlier ``simulate GRAPH.nir``."""
    path = Path(out) / GRAPH_JSON
    try:
        desc = json.loads(path.read_text())
        return open_graph_run(desc["graph"], desc["data"], out, root=desc["root"], T=desc["T"],
                              options=desc.get("options") or {})
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} is unreadable ({type(err).__name__}: {err}); run `spikinghash simulate GRAPH.nir "
                        f"--data NAME --out {out}` again") from None
