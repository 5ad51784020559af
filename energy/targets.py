"""Energy per operation: the 45 nm figures of Eq. 26 and a table of neuromorphic chip targets.

Every figure lives here once, with its source; the rest of :mod:`spikinghash.energy` only
looks them up. Another chip is one more :data:`TARGETS` entry.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Source of the 45 nm figures (32-bit float, 0.9 V): M. Horowitz, "Computing's energy problem
#: (and what we can do about it)", ISSCC 2014. E_AC = one FP32 add; E_MAC = FP32 mult (3.7) + add (0.9).
HOROWITZ_2014 = "Horowitz, ISSCC 2014 (45 nm, 32-bit float)"
E_AC_PJ = 0.9  # pJ per accumulate (Eq. 26)
E_MAC_PJ = 4.6  # pJ per multiply-accumulate (Eq. 26)


@dataclass(frozen=True)
class HardwareTarget:
    """Per-operation energy of a neuromorphic chip, in pJ.

    ``synaptic_op_pj``: one synaptic spike operation (one spike delivered to one target synapse);
    ``neuron_active_pj`` / ``neuron_inactive_pj``: one neuron update (one neuron, one time step)
    in which the neuron fires / does not fire.
    """

    name: str
    synaptic_op_pj: float
    neuron_active_pj: float
    neuron_inactive_pj: float
    source: str


TARGETS: dict[str, HardwareTarget] = {
    "loihi": HardwareTarget(
        "loihi", synaptic_op_pj=23.6, neuron_active_pj=81.0, neuron_inactive_pj=52.0,
        source="Davies et al., 'Loihi: a neuromorphic manycore processor with on-chip learning', "
               "IEEE Micro 38(1), 2018, Table 1 (pre-silicon figures, 14 nm)"),
}
DEFAULT_TARGET = "loihi"
