"""The counted activity of a canonical NIR graph per sample: what every energy model prices.

Input: a :class:`~spikinghash.hw_sim.frontend.graph.CanonicalNet` (any graph in the canonical form, not only
our model family), a spike-count dict (``nir_count.spike_counts`` / ``hw_sim_counts.npz``: per-neuron
totals over samples and steps, ``samples``, ``T``) and the :class:`~.input_profile.InputProfile` of the
frames. Only public attributes of the graph are read: ``paths``, ``synapses`` (``weight``,
``out_shape``, ``matrix``), ``neurons`` (``shape``, class name), ``input_name``, ``dt``.

Per synapse path: dense FLOPs of one step (Eq. 25's FLOPs), weight bytes at 8 bits, the source's
firing rate, and the exact synaptic events per sample (spikes × fan-out, :func:`fan_out`;
for the input path, nonzero input values × fan-out). Per neuron layer: neurons, updates per sample
(neurons × T) and spikes per sample. Everything that depends on the spikes is linear in them, so
:meth:`Activity.scaled` gives the activity at any other mean firing rate (the break-even solve).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np

from spikinghash.energy.input_profile import InputProfile
from spikinghash.errors import DataError
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.kinds.synapses import Synapse


@dataclass(frozen=True)
class PathActivity:
    """One synapse path per sample. ``flops``: dense MACs of one step (padding positions count);
    ``synapses``: nonzero matrix entries; ``source_rate``: spikes per source neuron per step (None
    when the source is the graph's input); ``events``: synaptic events per sample over T steps."""

    key: str
    type: str
    source: str
    target: str
    from_input: bool
    flops: float
    weight_bytes: int
    synapses: int
    source_rate: float | None
    events: float


@dataclass(frozen=True)
class NeuronActivity:
    """One neuron layer per sample: ``updates`` = neurons × T, ``spikes`` fired over the T steps."""

    name: str
    kind: str
    neurons: int
    updates: float
    spikes: float


@dataclass(frozen=True)
class Activity:
    """What a sample costs to run, counted on the graph; ``spike_counts`` names the view ("integer"/"float")."""

    steps: int
    dt: float
    input: InputProfile
    paths: tuple[PathActivity, ...]
    neurons: tuple[NeuronActivity, ...]
    spike_counts: str

    @property
    def mean_rate(self) -> float:
        """All spikes over all neuron updates (neuron-weighted mean firing rate)."""
        updates = sum(n.updates for n in self.neurons)
        return sum(n.spikes for n in self.neurons) / updates if updates else 0.0

    def scaled(self, k: float) -> "Activity":
        """The same graph with every neuron's spikes multiplied by ``k`` (the input unchanged)."""
        paths = tuple(p if p.from_input else replace(p, source_rate=p.source_rate * k, events=p.events * k)
                      for p in self.paths)
        return replace(self, paths=paths, neurons=tuple(replace(n, spikes=n.spikes * k) for n in self.neurons))

    def at_rate(self, rate: float) -> "Activity":
        """The activity scaled so that :attr:`mean_rate` equals ``rate``."""
        if self.mean_rate == 0:
            raise DataError("no neuron fired in the measured samples; the firing rate cannot be scaled")
        return self.scaled(rate / self.mean_rate)


def fan_out(syn: Synapse) -> np.ndarray:
    """Targets per input element, ``[prod(in_shape)]`` (C-order): nonzero entries of each matrix column
    (padding and zero weights are no synapse)."""
    return np.asarray((syn.matrix(syn.weight) != 0).sum(axis=0)).ravel()


def _spikes(counts: Mapping[str, np.ndarray], view: str, name: str, layer: object) -> np.ndarray:
    key, shape = f"{view}/{name}", tuple(layer.shape)  # type: ignore[attr-defined]
    if key not in counts:
        if getattr(layer, "spiking", True) is False:  # a readout (LI, I, CubaLI) never fires
            return np.zeros(shape)
        raise DataError(f"spike counts lack {key!r}; the counts were made from another graph")
    c = np.asarray(counts[key], dtype=np.float64)
    if c.shape != tuple(shape):
        raise DataError(f"spike counts {key!r} have shape {list(c.shape)}, the layer has {list(shape)}; the "
                        "counts were made from another graph")
    return c


def count_activity(net: CanonicalNet, counts: Mapping[str, np.ndarray], view: str,
                   input_profile: InputProfile) -> Activity:
    """The :class:`Activity` of ``net`` from measured spike ``counts`` (view "integer" or "float")."""
    samples, steps = int(counts["samples"]), int(counts["T"])
    if input_profile.events_per_sample.shape != tuple(net.input_shape):
        raise DataError(f"input events have shape {list(input_profile.events_per_sample.shape)}, the graph's "
                        f"input is {list(net.input_shape)}; measure the frames this graph reads")
    per_neuron = {n: _spikes(counts, view, n, layer) / samples
                  for n, layer in net.neurons.items()}
    neurons = tuple(NeuronActivity(n, str(getattr(layer, "kind", type(layer).__name__)), int(np.prod(layer.shape)),
                                   float(steps * np.prod(layer.shape)), float(per_neuron[n].sum()))
                    for n, layer in net.neurons.items())
    paths = []
    for path in net.all_paths():
        syn = net.synapses[path.key]
        from_input = path.source == net.input_name
        src = input_profile.events_per_sample if from_input else per_neuron[path.source]
        fo = fan_out(syn)
        rate = None if from_input else float(src.sum()) / (steps * src.size)
        paths.append(PathActivity(path.key, type(syn).__name__.replace("Synapse", ""), path.source, path.target,
                                  from_input, float(syn.flops()), int(np.asarray(syn.weight).size), int(fo.sum()),
                                  rate, float(np.asarray(src, dtype=np.float64).ravel() @ fo)))
    return Activity(steps, float(net.dt), input_profile, tuple(paths), neurons, view)
