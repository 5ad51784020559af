"""One deployment type for every source: a network, the frames that feed it, how it is read out, and where its
results go.

A run folder, a NIR file, a graph in memory and a torch module (``networks``) paired with their data become
one :class:`Deployment`; the simulate, energy and report drivers take nothing else. Data:

- a run folder's own dataset (its config names it): ``train`` (calibration), ``query`` and ``database``;
- a registered dataset (``data="nmnist"``, ``root=``, dataset options): the same three splits, as frames of
  ``T`` steps binned as training bins them;
- the user's own data (``data.inputs``: arrays ``[N, T, C, H, W]`` / ``[N, T, F]`` with labels ``[N]``, an
  ``.npz`` file, tonic-style events): every sample is evaluated (``query``) and calibration draws from them.

The output folder holds ``graph.json`` (:meth:`Deployment.describe`: source, data, T, dt, readout and
fingerprint), written with the results, so that ``simulate OUT``, ``energy OUT`` and ``report OUT`` reopen
it (:func:`reopen`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.data.frames import FrameDataset
from spikinghash.data.inputs import as_frame_source
from spikinghash.data.registry import dataset_info, list_datasets, load_split
from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.frontend.readout import choose_readout
from spikinghash.pipeline.networks import Source, open_source
from spikinghash.pipeline.run_dir import GRAPH_JSON

SPLITS = ("train", "query", "database")


@dataclass
class Deployment:
    """A network on the integer target with its data (module docstring).

    ``splits``: frame sources by name (``"train"`` calibrates; ``"query"`` and, for hash codes,
    ``"database"`` are evaluated), each with ``frames(i) [T, *input_shape]``, ``labels`` and ``len``;
    ``data``: the data's description for ``graph.json`` (``data``: the dataset's name or the kind of the user's
    data, ``root``, ``options``, ``inputs``: the user's data described, None for a dataset); ``out``: the output
    folder (None: nothing written yet); ``map_k``: the mAP cutoff (a run's own setting, else the whole database); ``similar_pairs``: classes
    that count as similar for ACG/NDCG; ``n_classes``: the data's classes (an output layer with one neuron each
    is read as a classifier; None: unknown); ``fingerprint``: sha256 of the network and the data settings, the tag
    of every result file.
    """

    source: Source
    splits: dict[str, Any]
    data: dict[str, Any]
    T: int
    fingerprint: str
    out: Path | None = None
    map_k: int | str = "all"
    similar_pairs: tuple[tuple[int, int], ...] = ()
    n_classes: int | None = None

    @property
    def net(self) -> CanonicalNet:
        return self.source.net

    @property
    def model(self) -> str:
        return self.source.name

    @property
    def readout(self) -> str:
        return choose_readout(self.net, self.n_classes)

    @property
    def dt(self) -> float:
        return float(self.net.dt)

    def split(self, name: str) -> Any:
        """The frame source of split ``name``; DataError if this deployment has none."""
        if name not in self.splits:
            raise DataError(f"this deployment has no {name!r} split (it has {', '.join(self.splits)})")
        return self.splits[name]

    def labels(self, name: str, n: int | None = None) -> np.ndarray | None:
        """The first ``n`` labels of split ``name`` (all for None), or None when the data carries none."""
        labels = getattr(self.split(name), "labels", None)
        return None if labels is None else np.asarray(labels)[:n]

    def path(self, name: str) -> Path:
        if self.out is None:
            raise ConfigError("this deployment has no output folder yet; give one (--out DIR, or report(\"DIR\"))")
        return self.out / name

    def describe(self) -> dict[str, Any]:
        """``graph.json``: where the network and its data came from and how they were read (plain JSON): ``data``
        names the dataset (with ``root`` and ``options``) or the kind of the user's data (described in
        ``inputs``)."""
        meta = self.net.metadata or {}
        return {"source": self.source.describe(), "graph": None if self.source.graph_path is None else
                str(self.source.graph_path.resolve()), "model": self.model, **self.data,
                "T": self.T, "dt": self.dt, "dt_default": bool(meta.get("dt_default", False)),
                "input_shape": list(self.net.input_shape), "readout": self.readout, "fingerprint": self.fingerprint}


# -- data ---------------------------------------------------------------------------------------------------

def _dataset_splits(name: str, root: str | Path | None, options: dict[str, Any], T: int) -> dict[str, Any]:
    return {s: FrameDataset(load_split(name, s, root=root, **options), T) for s in SPLITS}


def _check_frames(source: Source, net: CanonicalNet, frame_shape: tuple[int, ...], what: str) -> None:
    if tuple(net.input_shape) != tuple(frame_shape):
        where = source.graph_path if source.graph_path is not None else source.name
        raise ConfigError(f"{where} takes input of shape {list(net.input_shape)} per step, but {what} are "
                          f"{list(frame_shape)} ([C, H, W] or [F]); use a graph made for this data")


def steps_of(source: Source, T: int | None) -> int:
    """The time steps per sample: the source's own T, else ``T``; refuses none, two that differ, or T < 1."""
    where = source.graph_path if source.graph_path is not None else source.name
    if source.T is not None and T is not None and int(source.T) != int(T):
        raise ConfigError(f"{where} says T={int(source.T)} in its metadata but --T {T} was given; leave --T out "
                          "or re-export the graph with the T you want")
    steps = source.T if source.T is not None else T
    if steps is None:
        raise ConfigError(f"{where} does not state T (time steps per sample) in its metadata; give it with --T N")
    if int(steps) < 1:
        raise ConfigError(f"T={steps} time steps is impossible; give --T N with N >= 1")
    return int(steps)


def _fingerprint(source: Source, settings: dict[str, Any]) -> str:
    digest = hashlib.sha256(source.fingerprint.encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _user_data(source: Source, data: Any, labels: Any, T: int | None, sensor_size: Any) -> tuple[Any, int]:
    """The user's own data as a frame source, and T (the data's own when the source states none)."""
    given_T = source.T if source.T is not None else T
    frames = as_frame_source(data, labels, T=given_T, sensor_size=sensor_size)
    return frames, steps_of(source, frames.T)


def _classes_of(net: CanonicalNet, labels: np.ndarray | None) -> int | None:
    """For user data: the output layer's size when every label names one of its neurons (a classifier), else None."""
    out = net.neurons[net.output].shape
    if labels is None or not len(labels) or len(out) != 1:
        return None
    return int(out[0]) if 0 <= int(np.min(labels)) and int(np.max(labels)) < out[0] else None


def deployment(target: Any, data: Any = None, labels: Any = None, *, out: str | Path | None = None,
               root: str | Path | None = None, T: int | None = None, options: dict[str, Any] | None = None,
               input_shape: tuple[int, ...] | None = None, dt: float | None = None,
               sensor_size: Any = None) -> Deployment:
    """Open ``target`` (``networks.open_source``) with ``data`` (module docstring) as one :class:`Deployment`.

    ``data`` None takes a run folder's own dataset; a ``str`` that names a registered dataset is read from
    ``root`` with dataset ``options``; anything else is the user's own data (``data.inputs.as_frame_source``).
    Nothing is written (``out`` is only recorded)."""
    source = open_source(target, input_shape=input_shape, dt=dt)
    if source.run is not None:
        given = [flag for flag, v in (("data", data), ("root", root), ("T", T), ("options", options),
                                      ("labels", labels)) if v is not None and v != {}]
        if given:
            raise ConfigError(f"{', '.join(given)} belong(s) to a NIR file or module; {target} is a run folder, whose "
                              "config names its data (leave them out, or give a GRAPH.nir)")
        return _run_deployment(source, out)
    if data is None:
        raise ConfigError(f"{source.graph_path or source.name} is a {source.kind}: name the data that feeds it "
                          f"(--data NAME, see `spikinghash data list`, or --inputs FILE.npz)")
    if isinstance(data, str) and data in {i.name for i in list_datasets()}:
        return _dataset_deployment(source, data, root, options or {}, T, out)
    if isinstance(data, str) and not data.endswith(".npz") and not Path(data).is_file():
        dataset_info(data)  # an unknown dataset name: refused with the list of names
    frames, steps = _user_data(source, data, labels, T, sensor_size)
    _check_frames(source, source.net, frames.frame_shape, "the given frames")
    desc = frames.describe()
    n_classes = _classes_of(source.net, frames.labels)
    data = {"data": desc["kind"], "root": None, "options": {}, "inputs": desc}
    return Deployment(source, {"train": frames, "query": frames}, data, steps,
                      _fingerprint(source, {"data": frames.fingerprint(), "T": steps}),
                      None if out is None else Path(out), n_classes=n_classes)


def _run_deployment(source: Source, out: str | Path | None) -> Deployment:
    run = source.run
    info = run.data.info
    data = {"data": str(run.cfg.data), "root": None if run.cfg.data_root is None else
            str(Path(run.cfg.data_root).resolve()), "options": dict(run.cfg.data_options), "inputs": None}
    splits = {"train": run.data.train, "query": run.data.query, "database": run.data.database}
    return Deployment(source, splits, data, int(run.cfg.T), run.fingerprint,
                      run.run_dir if out is None else Path(out), run.cfg.map_k, tuple(info.similar_classes),
                      len(info.classes) or None)


def _dataset_deployment(source: Source, name: str, root: str | Path | None, options: dict[str, Any],
                        T: int | None, out: str | Path | None) -> Deployment:
    info = dataset_info(name)  # an unknown name is refused before the graph is lowered
    steps = steps_of(source, T)
    splits = _dataset_splits(name, root, options, steps)
    query = splits["query"]
    _check_frames(source, source.net, query.frame_shape, f"{name}'s frames")
    classes = len(query.split.info.classes or info.classes) or None
    data = {"data": name, "root": None if root is None else str(Path(root).resolve()), "options": dict(options),
            "inputs": None}
    settings = {"data": name, "root": data["root"], "T": steps, "options": dict(options)}
    return Deployment(source, splits, data, steps, _fingerprint(source, settings),
                      None if out is None else Path(out), "all", tuple(query.split.info.similar_classes), classes)


def reopen(out: str | Path) -> Deployment:
    """The deployment recorded in ``OUT/graph.json`` by an earlier ``simulate``/``energy``/``report`` of it."""
    path = Path(out) / GRAPH_JSON
    try:
        desc = json.loads(path.read_text())
        source, inputs = desc["source"], desc.get("inputs")
        target = source.get("run") or source["path"]
        if target is None:
            raise ValueError("its network was held in memory only")
        if source.get("run"):
            return deployment(target, out=out)
        if inputs is None:
            return deployment(target, desc["data"], out=out, root=desc.get("root"), T=desc["T"],
                              options=desc.get("options") or {})
        if not inputs.get("path"):
            raise ValueError("its inputs were arrays given in Python, not a file")
        return deployment(target, inputs["path"], out=out, T=desc["T"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} cannot be reopened ({type(err).__name__}: {err}); run `spikinghash simulate "
                        f"SOURCE --data NAME|--inputs FILE.npz --out {out}` again") from None
