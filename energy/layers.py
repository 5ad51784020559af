"""One record per counted layer (operation) and the per-sample totals built from them.

A layer is priced one of two ways (``docs/energy.md``):

- ``"mac"``: its input is not spikes (the encoding layer on frames, real-valued products):
  ``T × FLOPs`` multiply-accumulates, the ``E_MAC × FLOPs_first_layer`` term of Eq. 26;
- ``"ac"``: its input is spikes (or it only adds): ``SOP = R × T × FLOPs`` accumulates
  (Eq. 25), the ``E_AC × Σ SOP`` term of Eq. 26.

The ANN counterpart prices every layer's FLOPs of ONE pass (no time steps) as MACs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from spikinghash.energy.equations import snn_energy_pj, synaptic_ops
from spikinghash.energy.targets import E_MAC_PJ

PRICING = ("mac", "ac")


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer per sample.

    ``flops``: MACs of one time step (one sample); ``input_rate``: firing rate R of its spike
    input (None when the input is not spikes); ``sops``: Eq. 25 (0 for MAC layers);
    ``mac_count`` / ``ac_count``: operations per sample over all T steps; ``energy_pj``: Eq. 26's
    share of this layer; ``ann_energy_pj``: ``E_MAC × flops`` (one ANN pass).
    """

    name: str
    type: str
    flops: float
    input_rate: float | None
    sops: float
    mac_count: float
    ac_count: float
    energy_pj: float
    ann_energy_pj: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def price_layer(name: str, op_type: str, flops: float, steps: int, pricing: str,
                rate: float | None = None) -> LayerCost:
    """A :class:`LayerCost` for ``flops`` MACs per step priced as ``pricing`` ("mac" or "ac" at ``rate``)."""
    if pricing not in PRICING:
        raise ValueError(f"pricing must be one of {PRICING}, got {pricing!r}")
    if pricing == "mac":
        macs = steps * flops
        return LayerCost(name, op_type, flops, None, 0.0, macs, 0.0, snn_energy_pj(macs, []), E_MAC_PJ * flops)
    if rate is None:
        raise ValueError(f"layer {name!r}: an accumulate layer needs its input firing rate")
    sop = synaptic_ops(rate, steps, flops)
    return LayerCost(name, op_type, flops, rate, sop, 0.0, sop, snn_energy_pj(0.0, [sop]), E_MAC_PJ * flops)


def totals(layers: Sequence[LayerCost]) -> dict[str, float]:
    """Per-sample totals: FLOPs (one step), SOPs, MAC/AC counts, SNN energy (Eq. 26) and ANN energy, in pJ."""
    return {
        "flops_per_step": sum(l.flops for l in layers),
        "sops": sum(l.sops for l in layers),
        "mac_count": sum(l.mac_count for l in layers),
        "ac_count": sum(l.ac_count for l in layers),
        "energy_pj": snn_energy_pj(sum(l.mac_count for l in layers), [l.sops for l in layers]),
        "ann_energy_pj": sum(l.ann_energy_pj for l in layers),
    }
