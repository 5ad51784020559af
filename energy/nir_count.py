"""Counting on an exported NIR graph (the neuromorphic profile) from measured spike counts.

Input: a :class:`~spikinghash.hw_sim.graph.CanonicalNet` and a spike-count dict as the deploy
step writes to ``RUN_DIR/hw_sim_counts.npz``: for every neuron layer ``L`` the keys
``"float/L"`` and/or ``"integer/L"`` = per-neuron spike totals over all samples and steps
(the layer's neuron shape), and the scalars ``"samples"`` and ``"T"``.

Two views of one graph:

- the paper's (Eqs. 25-26): one :class:`LayerCost` per synapse path; the path fed by the
  input frames is priced as MACs, every other path as accumulates at its source's rate;
- the hardware's: synaptic events = Σ over source neurons of spikes × fan-out (the nonzero
  entries in that neuron's column of the synapse matrix, exact), and neuron updates per
  sample (active = the neuron fired in that step), priced with a :class:`HardwareTarget`.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

from spikinghash.energy.layers import LayerCost, price_layer
from spikinghash.energy.targets import TARGETS, HardwareTarget
from spikinghash.errors import DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.kinds.synapses import Synapse

def spike_counts(rasters: Mapping[str, Mapping[str, np.ndarray]], steps: int) -> dict[str, np.ndarray]:
    """The ``hw_sim_counts.npz`` dict from spike rasters: ``rasters`` maps a view ("float" / "integer") to
    per-layer spikes ``[T, B, *shape]`` (the ``spikes`` of a ``FloatRun`` / ``IntRun``), same B in all."""
    out: dict[str, np.ndarray] = {}
    samples = 0
    for view, layers in rasters.items():
        for layer, raster in layers.items():
            out[f"{view}/{layer}"] = np.asarray(raster, dtype=np.int64).sum(axis=(0, 1))
            samples = raster.shape[1]
    out["samples"], out["T"] = np.array(samples), np.array(steps)
    return out


def load_spike_counts(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a spike-count file; :class:`DataError` if it is missing or lacks ``samples``/``T``."""
    if not os.path.isfile(path):
        raise DataError(f"spike-count file {os.fspath(path)!r} not found; run `spikinghash simulate RUN_DIR "
                        "--backend fast` first")
    with np.load(path) as f:
        counts = {k: f[k] for k in f.files}
    if "samples" not in counts or "T" not in counts or int(counts["samples"]) < 1:
        raise DataError(f"{os.fspath(path)} lacks the scalars 'samples' (>= 1) and 'T'; write it again")
    return counts


def has_view(counts: Mapping[str, np.ndarray], net: CanonicalNet, view: str) -> bool:
    return all(f"{view}/{n}" in counts for n in net.neurons)


def _layer_counts(counts: Mapping[str, np.ndarray], net: CanonicalNet, view: str, layer: str) -> np.ndarray:
    key = f"{view}/{layer}"
    if key not in counts:
        raise DataError(f"spike counts lack {key!r}; the counts were made from another graph")
    c = np.asarray(counts[key], dtype=np.float64)
    if c.shape != net.neurons[layer].shape:
        raise DataError(f"spike counts {key!r} have shape {list(c.shape)}, the layer has "
                        f"{list(net.neurons[layer].shape)}; the counts were made from another graph")
    return c


def firing_rates(net: CanonicalNet, counts: Mapping[str, np.ndarray], view: str) -> dict[str, float]:
    """Spikes per neuron per time step of every neuron layer (averaged over samples, steps, neurons)."""
    samples, steps = int(counts["samples"]), int(counts["T"])
    return {n: float(_layer_counts(counts, net, view, n).sum()) / (samples * steps * int(np.prod(layer.shape)))
            for n, layer in net.neurons.items()}


def mean_firing_rate(net: CanonicalNet, counts: Mapping[str, np.ndarray], view: str) -> float:
    """All spikes over all neuron-steps (neuron-weighted mean rate)."""
    samples, steps = int(counts["samples"]), int(counts["T"])
    spikes = sum(float(_layer_counts(counts, net, view, n).sum()) for n in net.neurons)
    return spikes / (samples * steps * sum(int(np.prod(l.shape)) for l in net.neurons.values()))


def nir_layers(net: CanonicalNet, counts: Mapping[str, np.ndarray], view: str) -> list[LayerCost]:
    """One :class:`LayerCost` per synapse path (Eqs. 25-26); the input-fed paths are the MAC layers."""
    rates = firing_rates(net, counts, view)
    steps = int(counts["T"])
    out = []
    for path in net.all_paths():
        syn = net.synapses[path.key]
        kind = type(syn).__name__.replace("Synapse", "")
        flops = syn.flops()
        if path.source == net.input_name:
            out.append(price_layer(path.key, kind, flops, steps, "mac"))
        else:
            out.append(price_layer(path.key, kind, flops, steps, "ac", rates[path.source]))
    return out


def fan_out(syn: Synapse) -> np.ndarray:
    """Targets per input element, ``[prod(in_shape)]`` (C-order): nonzero entries of each matrix column."""
    return np.asarray((syn.matrix(syn.weight) != 0).sum(axis=0)).ravel()


def hardware_view(net: CanonicalNet, counts: Mapping[str, np.ndarray], view: str,
                  target: HardwareTarget | str = "loihi", input_events: np.ndarray | None = None) -> dict[str, Any]:
    """Synaptic events and neuron updates per sample, priced with ``target``.

    ``input_events``: nonzero input values per input element per sample, summed over the T
    steps (``[*input_shape]``; graded input spikes, one event per nonzero value); without it
    the input paths are left out (``"input_included": false``).
    """
    tgt = TARGETS[target] if isinstance(target, str) else target
    samples, steps = int(counts["samples"]), int(counts["T"])
    events: dict[str, float] = {}
    for path in net.all_paths():
        syn = net.synapses[path.key]
        if path.source == net.input_name:
            if input_events is None:
                continue
            src = np.asarray(input_events, dtype=np.float64)
        else:
            src = _layer_counts(counts, net, view, path.source) / samples
        events[path.key] = float(src.ravel() @ fan_out(syn))
    updates = {n: steps * int(np.prod(l.shape)) for n, l in net.neurons.items()}
    active = {n: float(_layer_counts(counts, net, view, n).sum()) / samples for n in net.neurons}
    syn_events, n_active = sum(events.values()), sum(active.values())
    n_inactive = sum(updates.values()) - n_active
    energy = (tgt.synaptic_op_pj * syn_events + tgt.neuron_active_pj * n_active
              + tgt.neuron_inactive_pj * n_inactive)
    return {"target": tgt.name, "source": tgt.source, "spike_counts": view,
            "input_included": input_events is not None,
            "synaptic_events_per_sample": syn_events, "synaptic_events_per_path": events,
            "neuron_updates_per_sample": sum(updates.values()), "active_neuron_updates_per_sample": n_active,
            "inactive_neuron_updates_per_sample": n_inactive, "energy_pj_per_sample": energy}


def neuron_table(net: CanonicalNet, counts: Mapping[str, np.ndarray], view: str) -> list[dict[str, Any]]:
    """Per neuron layer: neurons, updates per sample (neurons × T), spikes per sample, firing rate."""
    samples, steps = int(counts["samples"]), int(counts["T"])
    rates = firing_rates(net, counts, view)
    return [{"name": n, "neurons": int(np.prod(l.shape)), "updates_per_sample": steps * int(np.prod(l.shape)),
             "spikes_per_sample": float(_layer_counts(counts, net, view, n).sum()) / samples,
             "firing_rate": rates[n]} for n, l in net.neurons.items()]
