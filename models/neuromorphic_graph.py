"""The wiring of a neuromorphic network: neuron populations and the projections feeding them.

The network is stored the way the deployment contract describes it: a list of neuron
populations in topological order, each with the projections (synaptic paths, see
``neuromorphic_ops.Projection``) whose currents it sums. The residual stream of the paper
(Eqs. 4, 6) is such a fan-in: every population that reads the stream sums the currents of all
the projections added to it so far. :func:`run_layers` executes this description, and the NIR
exporter translates the same description, so the float model and the exported graph cannot
disagree about the structure.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from torch import Tensor, nn

from spikinghash.models.neuromorphic_ops import INPUT, Projection


class Layer(NamedTuple):
    """A neuron population.

    Attributes:
        population: module path of its LIF module (relative to the owning backbone).
        shape: neurons per sample and step, ``(C, H, W)``.
        inputs: module paths of the projections whose currents it sums (fan-in).
    """

    population: str
    shape: tuple[int, int, int]
    inputs: tuple[str, ...]


class Wiring:
    """Collects :class:`Layer` entries while a network is built, and checks their order."""

    def __init__(self) -> None:
        self.layers: list[Layer] = []
        self.shapes: dict[str, tuple[int, int, int]] = {}
        self._sources: dict[str, str] = {}

    def add_input(self, shape: tuple[int, int, int]) -> None:
        """Declare the network input ``(C, H, W)`` (the source :data:`INPUT`)."""
        self.shapes[INPUT] = shape

    def project(self, path: str, projection: Projection) -> str:
        """Record a projection (whose source must exist already); returns ``path``."""
        if projection.source not in self.shapes:
            raise ValueError(f"projection {path} reads {projection.source}, which is not built yet")
        self._sources[path] = projection.source
        return path

    def layer(self, population: str, shape: tuple[int, int, int], inputs: Sequence[str]) -> str:
        """Record a population fed by ``inputs`` (recorded projections); returns ``population``."""
        missing = [p for p in inputs if p not in self._sources]
        if not inputs or missing:
            raise ValueError(f"population {population} needs recorded input projections, missing {missing}")
        self.layers.append(Layer(population, shape, tuple(inputs)))
        self.shapes[population] = shape
        return population


def run_layers(owner: nn.Module, layers: Sequence[Layer], x: Tensor) -> Tensor:
    """Run every population of ``layers`` (paths relative to ``owner``) on input ``x``.

    Each projection's current is computed once and reused by all populations it feeds;
    a tensor is dropped after its last use.

    Args:
        owner: the module the paths are relative to.
        layers: populations in topological order.
        x: network input ``[T, B, C, H, W]``.

    Returns:
        Spikes ``[T, B, ...]`` of the last population.
    """
    last_use: dict[str, int] = {}
    for i, layer in enumerate(layers):
        for path in layer.inputs:
            last_use[path] = i
            last_use[owner.get_submodule(path).source] = i
    spikes: dict[str, Tensor] = {INPUT: x}
    currents: dict[str, Tensor] = {}
    for i, layer in enumerate(layers):
        total: Tensor | None = None
        for path in layer.inputs:
            if path not in currents:
                projection = owner.get_submodule(path)
                currents[path] = projection(spikes[projection.source])
            total = currents[path] if total is None else total + currents[path]
        spikes[layer.population] = owner.get_submodule(layer.population)(total)
        for name in [n for n, j in last_use.items() if j == i]:
            spikes.pop(name, None)
            currents.pop(name, None)
    return spikes[layers[-1].population]
