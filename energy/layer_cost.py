"""Eq. 26 per counted layer (operation): one record per layer, the first-layer rule, and the totals per sample.

A layer enters Eq. 26 one of two ways (``docs/energy.md``):

- ``"mac"``: its input is not spikes: ``n × FLOPs`` multiply-accumulates for the ``n`` evaluations a
  sample makes of it, the ``E_MAC × FLOPs_first_layer`` term;
- ``"ac"``: its input is spikes (or it only adds): ``SOP = R × T × FLOPs`` accumulates (Eq. 25),
  the ``E_AC × Σ SOP`` term.

The layer fed by the graph's input (the "first layer") takes the way the measured input kind
(:mod:`.input_profile`) gives, :data:`FIRST_LAYER`: the paper's rule, one for every graph and counter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from spikinghash.energy.equations import snn_energy_pj, synaptic_ops

PRICING = ("mac", "ac")

#: Eq. 26's first layer by input kind: (what it costs, pricing, evaluated at every step?).
FIRST_LAYER: dict[str, tuple[str, str, bool]] = {
    "static": ("MACs once (a static image: the encoding layer's output is the same at every step)", "mac", False),
    "event_frames": ("MACs at every step (event frames: new values at each of the T steps)", "mac", True),
    "binary_events": ("ACs at the input's event rate, Eq. 25 (binary events are spikes)", "ac", True),
}


@dataclass(frozen=True)
class LayerCost:
    """Eq. 26's cost of one layer per sample.

    ``flops``: MACs of one time step (one sample); ``input_rate``: firing rate R of its spike
    input (None when the input is not spikes); ``sops``: Eq. 25 (0 for MAC layers);
    ``mac_count`` / ``ac_count``: operations per sample over all its evaluations; ``energy_pj``:
    Eq. 26's share of this layer (pJ per sample).
    """

    name: str
    type: str
    flops: float
    input_rate: float | None
    sops: float
    mac_count: float
    ac_count: float
    energy_pj: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def price_layer(name: str, op_type: str, flops: float, steps: int, pricing: str,
                rate: float | None = None) -> LayerCost:
    """A :class:`LayerCost` for ``flops`` MACs per step: ``"mac"``, evaluated ``steps`` times per sample, or
    ``"ac"``, Eq. 25's SOP at input ``rate`` over ``steps`` time steps; Eq. 26 prices either."""
    if pricing not in PRICING:
        raise ValueError(f"pricing must be one of {PRICING}, got {pricing!r}")
    if pricing == "mac":
        macs = steps * flops
        return LayerCost(name, op_type, flops, None, 0.0, macs, 0.0, snn_energy_pj(macs, []))
    if rate is None:
        raise ValueError(f"layer {name!r}: an accumulate layer needs its input firing rate")
    sop = synaptic_ops(rate, steps, flops)
    return LayerCost(name, op_type, flops, rate, sop, 0.0, sop, snn_energy_pj(0.0, [sop]))


def price_input_layer(name: str, op_type: str, flops: float, steps: int, kind: str, rate: float) -> LayerCost:
    """The layer fed by the graph's input, priced by the input ``kind`` (:data:`FIRST_LAYER`); ``rate``: the
    input's nonzero values per element per step (used for binary events only)."""
    if kind not in FIRST_LAYER:
        raise ValueError(f"input kind must be one of {tuple(FIRST_LAYER)}, got {kind!r}")
    _, pricing, every_step = FIRST_LAYER[kind]
    return price_layer(name, op_type, flops, steps if every_step else 1, pricing, rate)


def totals(layers: Sequence[LayerCost]) -> dict[str, float]:
    """Per-sample totals: FLOPs (one step), SOPs, MAC/AC counts and Eq. 26's energy (pJ per sample)."""
    return {
        "flops_per_step": sum(l.flops for l in layers),
        "sops": sum(l.sops for l in layers),
        "mac_count": sum(l.mac_count for l in layers),
        "ac_count": sum(l.ac_count for l in layers),
        "energy_pj": snn_energy_pj(sum(l.mac_count for l in layers), [l.sops for l in layers]),
    }
