"""The paper's energy model (Section IV-A): Eq. 25 (synaptic operations) and Eq. 26 (energy), one function each.

Which operations of a graph enter which term (the first layer by input kind, spike layers at their
input's rate) is :mod:`.layer_cost`' business; every Eq. 26 figure in ``energy.json`` is priced here.
"""

from __future__ import annotations

from typing import Iterable

from spikinghash.energy.targets import E_AC_PJ, E_MAC_PJ


def synaptic_ops(rate: float, steps: int, flops: float) -> float:
    """Eq. 25: ``SOP = R × T × FLOPs``.

    Args:
        rate: firing rate R of the layer's input spikes (spikes per neuron per time step, in [0, 1]).
        steps: time steps T per sample.
        flops: the layer's FLOPs (MACs) for ONE time step of one sample.

    Returns:
        synaptic operations (accumulates) per sample.
    """
    return rate * steps * flops  # Eq. 25


def snn_energy_pj(first_layer_macs: float, sops: Iterable[float]) -> float:
    """Eq. 26: ``E = E_MAC × FLOPs_first_layer + E_AC × Σ SOP``, in pJ per sample.

    ``first_layer_macs``: the multiply-accumulates of the layers fed by non-spike values, over every
    evaluation in a sample (once for a static image, T times for event frames); ``sops``: every
    other layer's SOP (Eq. 25).
    """
    return E_MAC_PJ * first_layer_macs + E_AC_PJ * sum(sops)  # Eq. 26
