r"""Export a neuromorphic profile (``*_nir`` models) to a NIR graph (``docs/deploy_contract.md``).

Graph layout (canonical form): ``input`` (frames ``[C, H, W]``, one per step) and every LIF
node are sources; every path from a source to the next LIF node (or ``output``) is
``[Flatten] → [Delay] → one weighted node`` (``Conv2d``, ``Scale`` or ``Affine``); a LIF node
sums the currents of all paths ending in it (residual fan-in). Each weighted node, ``Delay``
and ``Flatten`` has exactly one successor: a projection that feeds several populations (the
residual stream) is written once per target, as the chip needs one synapse set per target.
``output`` is fed by the hash LIF layer; code bit j = 1 iff neuron j spiked at all T steps
(Eq. 18).

Node names are the model's module paths (``backbone.stages.1.blocks.0.swm.levels.0.t_sn``);
a weighted node written for the k-th of several targets gets the suffix ``.k``, its delay
``<weighted>.delay``. Weights are in the model's floating dtype.

Neuron mapping (exact, discrete; our LIF is Eqs. 1–3 with V_reset = 0)::

    ours:  H[t] = (1 - 1/γ)·V[t-1] + I[t]/γ;  spike iff H[t] > v_th;  V[t] = 0 if spike else H[t]
    NIR:   v[t] = v[t-1] + (dt/τ)·(v_leak - v[t-1] + r·I[t]), Euler step dt
    hence  tau = γ·dt,  r = 1,  v_leak = 0,  v_threshold = v_th,  v_reset = 0

with ``I[t]`` the summed output of the incoming weighted nodes at step t (bias every step),
and every parameter an array of the layer's shape. Folds at export:

* batch norm (running statistics) into the preceding convolution / linear layer:
  ``s = γ_bn/√(σ² + ε)``, ``W' = s·W``, ``b' = s·(b − μ) + β_bn``;
* the hash head ``BN(Linear(mean_{h,w}(S)))`` into one ``Affine`` on the flattened head
  spikes: ``W'[l, c·hw + p] = s_l·W[l, c]/(h·w)``;
* the channel mixer after the band sum (``BandMixer``) into one grouped 1×1 ``Conv2d``;
* a Hadamard mixer shared by the channels into a ``Scale`` of the full ``[C·K, H, W]`` shape.

Each synapse operation converts itself (``to_nir`` in ``models/neuromorphic_ops.py``, beside
its float forward); this module walks the projections and wires the nodes.

The classification layer is training-only (Eq. 23) and is not exported.

A quantization-aware model (``models/qat_layers.py``: ``model.qat_grid``, a
:class:`~spikinghash.models.fake_quant.QatGrid`) is exported on its grid: every weight and
bias snapped exactly as its forward pass fake-quantizes them (idempotent on the values it
computed), neuron parameters in float64 (``dt/tau`` stays exactly the model's ``1/γ``), and
the per-layer scales in ``metadata["spikinghash"]["qat_scales"]`` for ``hw_sim``.
"""

from __future__ import annotations

import os

import nir
import numpy as np
import torch
from torch import Tensor, nn

from spikinghash.atomic_io import atomic_path
from spikinghash.errors import ConfigError
from spikinghash.export.nir_check import check_nir_exportable, type_check
from spikinghash.models.batch_norm import fold_batch_norm
from spikinghash.models.hash_heads import SpikingHashHead
from spikinghash.models.lif import LIFParams
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.models.neuromorphic_ops import INPUT, Projection

Shape = tuple[int, ...]
__all__ = ["DEFAULT_DT", "export_nir", "fold_batch_norm", "hash_affine", "lif_node", "to_nir_graph", "weighted_node",
           "write_graph"]

#: Default simulation step (seconds): only the ratio tau/dt matters to the dynamics.
DEFAULT_DT = 1e-3


def _array(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def weighted_node(projection: Projection, in_shape: Shape) -> nir.NIRNode:
    """The NIR weighted node of ``projection``: its operation's own ``to_nir`` (``models/neuromorphic_ops.py``)."""
    to_nir = getattr(projection.op, "to_nir", None)
    if to_nir is None:
        raise TypeError(f"{type(projection.op).__name__} has no to_nir(): every synapse operation of a "
                        "neuromorphic profile converts itself to one NIR weighted node")
    return to_nir(in_shape)


def lif_node(params: LIFParams, shape: Shape, dt: float, dtype: np.dtype) -> nir.LIF:
    """The NIR LIF of a layer of our LIF neurons (mapping in the module docstring)."""
    if params.v_reset != 0.0:
        raise ValueError(f"v_reset = {params.v_reset}: the NIR mapping needs v_reset = 0")

    def full(value: float) -> np.ndarray:
        return np.full(shape, value, dtype=dtype)

    return nir.LIF(tau=full(params.tau * dt), r=full(1.0), v_leak=full(0.0),
                   v_threshold=full(params.v_threshold), v_reset=full(0.0))


def hash_affine(head: SpikingHashHead, in_shape: Shape) -> nir.Affine:
    """Global average pooling, the hash Linear and its BN as one ``Affine`` on the flat spikes."""
    weight, bias = fold_batch_norm(head.linear.weight, head.linear.bias, head.norm)
    positions = int(np.prod(in_shape[1:]))
    # Flatten order is (c, h, w): position p of channel c is column c·hw + p.
    return nir.Affine(weight=_array((weight / positions).repeat_interleave(positions, dim=1)), bias=_array(bias))


def to_nir_graph(model: NeuromorphicHashNet, *, T: int, dt: float, model_name: str) -> nir.NIRGraph:
    """The NIR graph of ``model`` (see the module docstring), type-checked and canonical.

    NIR's own type check runs through :func:`~spikinghash.export.nir_check.type_check`, which
    corrects NIR 1.0.8's input type of grouped convolutions (read the file back with
    ``nir.read(path, type_check=False)`` for the same reason).
    """
    backbone = model.backbone
    dtype = next(model.parameters()).dtype
    np_dtype = np.dtype(str(dtype).removeprefix("torch."))
    grid = getattr(model, "qat_grid", None)
    neuron_dtype = np.dtype(np.float64) if grid is not None else np_dtype
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type={"input": np.array(backbone.input_shape)})}
    edges: list[tuple[str, str]] = []
    shapes: dict[str, Shape] = {INPUT: backbone.input_shape}
    targets: dict[str, list[str]] = {}
    for layer in backbone.layers:
        for path in layer.inputs:
            targets.setdefault(path, []).append(layer.population)

    def node_name(path: str) -> str:
        return "input" if path == INPUT else f"backbone.{path}"

    with torch.no_grad():
        for layer in backbone.layers:
            population = node_name(layer.population)
            for path in layer.inputs:
                projection = backbone.get_submodule(path)
                assert isinstance(projection, Projection)
                fan_out = targets[path]
                name = node_name(path) if len(fan_out) == 1 else f"{node_name(path)}.{fan_out.index(layer.population)}"
                source_shape = shapes[projection.source]
                nodes[name] = weighted_node(projection, source_shape)
                if grid is not None:
                    grid.snap_node(node_name(path), nodes[name])
                source = node_name(projection.source)
                if projection.delay:
                    delay = f"{name}.delay"
                    nodes[delay] = nir.Delay(delay=np.full(source_shape, projection.delay * dt, dtype=np_dtype))
                    edges += [(source, delay), (delay, name)]
                else:
                    edges.append((source, name))
                edges.append((name, population))
            # After its inputs: the graph object lists nodes in topological order (an HDF5 file
            # returns them alphabetically; the executable sorts them again).
            params = backbone.get_submodule(layer.population).params
            nodes[population] = lif_node(params, layer.shape, dt, neuron_dtype)
            shapes[layer.population] = layer.shape
        head = model.hash_head
        assert isinstance(head, SpikingHashHead)
        head_shape = backbone.layers[-1].shape
        bits = head.linear.out_features
        nodes["hash_head.flatten"] = nir.Flatten(input_type={"input": np.array(head_shape)}, start_dim=0, end_dim=-1)
        nodes["hash_head.linear"] = hash_affine(head, head_shape)
        if grid is not None:
            grid.snap_node("hash_head.linear", nodes["hash_head.linear"])
        nodes["hash_head.sn"] = lif_node(head.sn.params, (bits,), dt, neuron_dtype)
        nodes["output"] = nir.Output(output_type={"output": np.array([bits])})
        edges += [(node_name(backbone.layers[-1].population), "hash_head.flatten"),
                  ("hash_head.flatten", "hash_head.linear"), ("hash_head.linear", "hash_head.sn"),
                  ("hash_head.sn", "output")]
    channels, height, width = backbone.input_shape
    metadata = {
        "dt": dt,
        "T": T,
        "spikinghash": {
            "model": model_name,
            "bits": bits,
            "input": "frames",
            "input_shape": [channels, height, width],
            "code": "AND over the T steps of the spikes of the node feeding output (Eq. 18)",
        },
    }
    if grid is not None:
        metadata["spikinghash"]["qat_scales"] = dict(grid.scales)  # type: ignore[index]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)
    type_check(graph)
    return graph


def export_nir(model: nn.Module, path: str | os.PathLike, *, T: int | None = None, dt: float = DEFAULT_DT,
               model_name: str | None = None) -> nir.NIRGraph:
    """Write ``model`` as a NIR file (``nir.write``, HDF5), atomically, and return the graph.

    (``spikinghash export nir`` also rewrites it for snnTorch on ``--portable`` and records which installed
    consumers run it: ``pipeline.export.write_with_consumers``.)

    Args:
        model: a neuromorphic profile (``spikinghash_*_nir``); any other model raises a
            :class:`~spikinghash.errors.ConfigError` listing every operation NIR cannot express.
        path: the ``.nir`` file to write.
        T: time steps per sample stored in the metadata (default: the model's ``T``); the graph
            itself does not depend on it.
        dt: simulation step in seconds (``tau = γ·dt``).
        model_name: the registered name, for the metadata and messages (default: class name).
    """
    name = model_name if model_name is not None else type(model).__name__
    check_nir_exportable(model, name)
    assert isinstance(model, NeuromorphicHashNet)
    steps = T if T is not None else int(model.build_args["T"])
    if steps < 1 or not dt > 0:
        raise ConfigError(f"T={steps}, dt={dt}: give T >= 1 time steps and a step dt > 0 seconds")
    graph = to_nir_graph(model, T=steps, dt=dt, model_name=name)
    write_graph(graph, path)
    return graph


def write_graph(graph: nir.NIRGraph, path: str | os.PathLike) -> None:
    """``nir.write`` (HDF5) to ``path`` atomically: an interrupted write leaves the old file or none."""
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
