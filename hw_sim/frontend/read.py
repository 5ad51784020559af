"""Read a network into the canonical graph: a NIR file or graph object, lowered (``passes``) and parsed
(``graph.parse``). This is the front end's one door; a run folder, an snnTorch module or any other source is
first made a NIR graph by its own exporter (``spikinghash.export``), then enters here."""

from __future__ import annotations

import os

import nir

from spikinghash.errors import DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet, parse
from spikinghash.hw_sim.frontend.passes import lower


def load(graph: nir.NIRGraph | str | os.PathLike, source: str | None = None) -> CanonicalNet:
    """Lower a graph object or a NIR file (``nir.write``'s HDF5, read as :func:`read_graph` does) to the
    canonical form (``passes.lower``: any standard NIR graph, type-checked) and parse it into a
    :class:`CanonicalNet`; ``source`` names a graph object in messages (a file is named by its path)."""
    if isinstance(graph, nir.NIRGraph):
        return parse(lower(graph, source=source or "the graph"))
    return parse(lower(read_graph(graph), source=f"NIR file {os.fspath(graph)!r}"))


def read_graph(path: str | os.PathLike) -> nir.NIRGraph:
    """The NIR graph of a file as written (``nir.read`` without NIR's own type check, which rejects every grouped
    ``Conv2d`` and every edge into a nested graph's ``sub.input``; the lowering's type-check pass runs the
    corrected one); :class:`DataError` if the file is missing or is no NIR graph."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"NIR file {path!r} not found; export the model first (spikinghash export nir RUN_DIR)")
    try:
        return nir.read(path, type_check=False)
    except Exception as err:  # h5py and nir raise many types (OSError, KeyError, ValueError, ...)
        what = (f"{type(err).__name__}: {err}" if str(err) else
                "it names a node type nir 1.0.8 does not know" if isinstance(err, (AssertionError, KeyError))
                else type(err).__name__)
        raise DataError(f"NIR file {path!r} cannot be read as a NIR graph ({what}); write it again with nir.write "
                        "(nir 1.0.8 node types), or re-export a run with `spikinghash export nir RUN_DIR`") from None


def read_checked(path: str | os.PathLike) -> nir.NIRGraph:
    """Read a NIR file and check that it lowers (every pass, NIR's type check included); returns the graph as read.

    A file that is not a readable NIR graph raises :class:`DataError`; one whose node kinds or shapes do not fit
    together, :class:`~spikinghash.errors.ConfigError` naming the node.
    """
    graph = read_graph(path)
    lower(graph, source=f"NIR file {os.fspath(path)!r}")
    return graph
