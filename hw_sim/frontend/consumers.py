"""Which installed NIR consumers can run a graph, found by trying each, recorded in the graph's metadata.

Each probe builds the consumer's executable form of the graph and runs it for two steps on
one sample; a consumer that runs but is known to compute something else is reported with the
reason (a rule, each rule checked by ``tests/export/test_consumers.py``):

* ``nirtorch`` — nirtorch 2.6's interpreter with our node map (``export/nir_executable.py``);
* ``snntorch.import_nir`` — ``snntorch.import_nir.import_from_nir`` (snnTorch 1.0.0). It hard-codes
  ``dt = 1e-4`` (``β = 1 − 1e-4/τ``), maps ``IF`` to a Leaky with ``β = 0.9``, always resets to
  zero, needs one threshold per layer and ``R·dt/τ = 1`` (otherwise it rescales the threshold by
  ``R·dt/τ``, exact only if that is one value), and its ``Flatten`` also merges the batch axis
  (exact for one sample at a time). ``portable`` rewrites a graph to fit.

``spikinghash.hw_sim`` itself is probed by the caller's choice: ``record_consumers(graph,
{"spikinghash.hw_sim": spikinghash.hw_sim.frontend.read.load})``. What snnTorch's importer makes of each
node kind is the ``snntorch`` facet of its registry entry (``kinds``).
Results are ``"yes"`` or ``"no: <reason>"`` by consumer name, in ``graph.metadata["consumers"]``.
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any, Callable, Mapping

import nir
import numpy as np
import torch

from spikinghash.hw_sim.frontend.passes import graph_dt
from spikinghash.hw_sim.kinds import kind_of, role_of

Probe = Callable[[nir.NIRGraph], Any]


def _input_shape(graph: nir.NIRGraph) -> tuple[int, ...]:
    node = next(v for v in graph.nodes.values() if role_of(v) == "input")
    return tuple(int(s) for s in np.asarray(node.input_type["input"]).ravel())


def _probe_frames(graph: nir.NIRGraph) -> torch.Tensor:
    """Two steps of one sample, ``[2, 1, *input shape]``, non-negative and deterministic."""
    shape = _input_shape(graph)
    return torch.rand((2, 1, *shape), generator=torch.Generator().manual_seed(0))


def run_nirtorch(graph: nir.NIRGraph) -> None:
    """nirtorch's interpreter (``export/nir_executable.py``) on two steps of one sample."""
    from spikinghash.export.nir_executable import NIRExecutable

    NIRExecutable(graph)(_probe_frames(graph))


def run_snntorch_import(graph: nir.NIRGraph) -> None:
    """``import_from_nir`` on a copy of ``graph`` (it edits its argument), stepped twice on one sample."""
    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):  # it prints progress and warnings
        net = import_from_nir(copy.deepcopy(graph))
        state = None
        with torch.no_grad():
            for frame in _probe_frames(graph):
                _, state = net(frame, state)


def _nodes(graph: nir.NIRGraph) -> list[tuple[str, nir.NIRNode]]:
    found = []
    for name, node in graph.nodes.items():
        found.append((name, node))
        if role_of(node) == "graph":
            found += [(f"{name}.{n}", v) for n, v in _nodes(node)]
    return found


def snntorch_import_inexact(graph: nir.NIRGraph) -> list[str]:
    """Why ``import_from_nir`` would compute other spikes than the graph's equations (empty: exact),
    one line per reason with the nodes it concerns."""
    dt, _ = graph_dt(graph)
    why: dict[str, list[str]] = {}
    for name, node in _nodes(graph):
        kind = kind_of(node)
        if kind is None or kind.snntorch is None:
            reasons = [f"no {type(node).__name__} node in its importer"]
        else:
            reasons = kind.snntorch(node, dt)
        for reason in reasons:
            why.setdefault(reason, []).append(name)
    return [f"{reason} ({len(names)} node(s): {', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
            for reason, names in why.items()]


def _probe(run: Probe, graph: nir.NIRGraph) -> str:
    try:
        run(graph)
    except Exception as err:  # any failure of a third-party consumer means "cannot run it"
        message = " ".join(str(err).split())[:200]
        return f"no: {type(err).__name__}: {message}"
    return "yes"


def probe_consumers(graph: nir.NIRGraph, extra: Mapping[str, Probe] | None = None) -> dict[str, str]:
    """``{consumer: "yes" | "no: reason"}`` for nirtorch, snnTorch's importer and the ``extra`` probes
    (each a function that raises if it cannot take the graph)."""
    result = {**{name: _probe(run, graph) for name, run in (extra or {}).items()},
              "nirtorch": _probe(run_nirtorch, graph)}
    verdict = _probe(run_snntorch_import, graph)
    inexact = snntorch_import_inexact(graph)
    if verdict == "yes" and inexact:
        verdict = "no: runs, but computes other spikes: " + "; ".join(inexact)
    elif verdict != "yes" and inexact:
        verdict += " (also: " + "; ".join(inexact) + ")"
    result["snntorch.import_nir"] = verdict
    return result


def record_consumers(graph: nir.NIRGraph, extra: Mapping[str, Probe] | None = None) -> dict[str, str]:
    """:func:`probe_consumers`, also written into ``graph.metadata["consumers"]``; returns the dict."""
    consumers = probe_consumers(graph, extra)
    if not isinstance(graph.metadata, dict):
        graph.metadata = {}
    graph.metadata["consumers"] = dict(consumers)
    return consumers
