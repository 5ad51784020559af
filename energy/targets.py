"""Energy per operation: the 45 nm figures (Eq. 26's E_AC and E_MAC among them), SRAM by capacity, the
neuron update of the integer target, and the Loihi-class chip's figures.

Every figure lives here once, with its source; the rest of :mod:`spikinghash.energy` only looks them
up. The integer target's bit widths are ``hw_sim.spec``'s and the integer ops of one neuron update are
``hw_sim.kinds.neurons``' (``UPDATE_MULTS``, ``UPDATE_ADDS``): this module prices them, it does not
repeat them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spikinghash.hw_sim.kinds.neurons import UPDATE_ADDS, UPDATE_MULTS
from spikinghash.hw_sim.spec import DECAY_BITS, DRIVE_BITS, STATE_BITS

#: Source of the 45 nm figures (32-bit float, 0.9 V): M. Horowitz, "Computing's energy problem
#: (and what we can do about it)", ISSCC 2014. E_AC = one FP32 add; E_MAC = FP32 mult (3.7) + add (0.9).
HOROWITZ_2014 = "Horowitz, ISSCC 2014 (45 nm, 32-bit float)"
E_AC_PJ = 0.9  # pJ per accumulate (Eq. 26)
E_MAC_PJ = 4.6  # pJ per multiply-accumulate (Eq. 26)


# ---------------------------------------------------------------------------------------------
# 45 nm per-operation and memory figures (Horowitz, ISSCC 2014, Fig. "Energy table", 45 nm, 0.9 V).
# One table, one source per entry; ``docs/energy.md`` explains how each is used.
# ---------------------------------------------------------------------------------------------

HOROWITZ_45NM = "Horowitz, 'Computing's energy problem', ISSCC 2014 (45 nm, 0.9 V)"


@dataclass(frozen=True)
class OpEnergy:
    """One tabulated energy figure, in pJ, with its source."""

    pj: float
    what: str
    source: str = HOROWITZ_45NM


OPS_45NM: dict[str, OpEnergy] = {
    "add_int8": OpEnergy(0.03, "8-bit integer add"),
    "add_int32": OpEnergy(0.1, "32-bit integer add"),
    "mult_int8": OpEnergy(0.2, "8-bit integer multiply"),
    "mult_int32": OpEnergy(3.1, "32-bit integer multiply"),
    "add_fp32": OpEnergy(0.9, "32-bit float add (Eq. 26's E_AC)"),
    "mult_fp32": OpEnergy(3.7, "32-bit float multiply (E_MAC = 3.7 + 0.9)"),
}

#: 64-bit SRAM (cache) read by capacity in bytes, ascending; a memory larger than the last entry is DRAM.
SRAM_64BIT_READ_PJ: tuple[tuple[int, float], ...] = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
DRAM_64BIT_READ_PJ = 1300.0  # Horowitz 2014: DRAM 1.3-2.6 nJ per 64-bit access; the lower figure
WORD_BITS = 64  # the width the SRAM figures are given for


def sram_word_pj(capacity_bytes: float) -> float:
    """Energy (pJ) of one 64-bit read from an SRAM of ``capacity_bytes``.

    Between tabulated sizes the figure follows the power law through the two neighbours (SRAM read
    energy grows with the bit-line and word-line lengths, about as the square root of the capacity:
    4× the size 2× the energy from 8 to 32 KB, 32× the size 5× from 32 KB to 1 MB). Below 8 KB the
    8 KB figure (no extrapolation to smaller arrays); above 1 MB the memory is DRAM.
    """
    (s0, e0) = SRAM_64BIT_READ_PJ[0]
    if capacity_bytes <= s0:
        return e0
    for (lo, e_lo), (hi, e_hi) in zip(SRAM_64BIT_READ_PJ, SRAM_64BIT_READ_PJ[1:]):
        if capacity_bytes <= hi:
            return e_lo * (capacity_bytes / lo) ** (math.log(e_hi / e_lo) / math.log(hi / lo))
    return DRAM_64BIT_READ_PJ


def sram_read_pj(capacity_bytes: float, bits: float) -> float:
    """Energy (pJ) to read ``bits`` from an SRAM of ``capacity_bytes``: ``bits / 64`` of its 64-bit read
    (:func:`sram_word_pj`; per bit, as the bit lines switched). A write is priced as a read (Horowitz
    gives reads only)."""
    return sram_word_pj(capacity_bytes) * bits / WORD_BITS


def int_add_pj(bits: int) -> float:
    """An integer add of ``bits`` width: the 8-bit figure up to 8 bits, else the 32-bit one (next tabulated
    width at or above; the 24-bit state and the int32 drive both cost a 32-bit add)."""
    return OPS_45NM["add_int8"].pj if bits <= 8 else OPS_45NM["add_int32"].pj


def int_mult_pj(bits_a: int, bits_b: int) -> float:
    """An integer multiply ``bits_a × bits_b``: the 8×8 figure scaled by the partial-product bits
    ``bits_a·bits_b / 64`` (an array multiplier's work; 8×8 → 0.2 pJ, 3×8 → 0.075 pJ, 12×24 → 0.9 pJ)."""
    return OPS_45NM["mult_int8"].pj * bits_a * bits_b / 64.0


def neuron_update_pj() -> float:
    """One neuron update of the integer target at 45 nm, in pJ: ``UPDATE_MULTS`` multiplies of a
    ``DECAY_BITS`` decay by a ``STATE_BITS`` state and ``UPDATE_ADDS`` adds at ``DRIVE_BITS`` (every
    neuron kind runs Lava's LIF datapath, ``hw_sim.kinds.lif_kernel``): 2 × 0.9 + 4 × 0.1 = 2.2 pJ."""
    return UPDATE_MULTS * int_mult_pj(DECAY_BITS, STATE_BITS) + UPDATE_ADDS * int_add_pj(DRIVE_BITS)


#: Per spike, one routing message: one 64-bit read of the core's routing (axon) table, priced as a
#: 64-bit read of the smallest tabulated SRAM (8 KB, 10 pJ; Horowitz 2014). Our assumption, not a chip figure.
ROUTING_TABLE_BYTES = 8 * 1024
ROUTING_MESSAGE_BITS = 64


# ---------------------------------------------------------------------------------------------
# The Loihi-class chip: Loihi's per-operation figures and Loihi 2's static power.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChipOps:
    """Per-operation energy of a neuromorphic chip, in pJ.

    ``synaptic_op_pj``: one synaptic spike operation (one spike delivered to one target synapse);
    ``neuron_active_pj`` / ``neuron_inactive_pj``: one neuron update (one neuron, one time step)
    in which the neuron fires / does not fire.
    """

    synaptic_op_pj: float
    neuron_active_pj: float
    neuron_inactive_pj: float
    source: str


LOIHI_OPS = ChipOps(synaptic_op_pj=23.6, neuron_active_pj=81.0, neuron_inactive_pj=52.0,
                    source="Davies et al., 'Loihi: a neuromorphic manycore processor with on-chip learning', "
                           "IEEE Micro 38(1), 2018, Table 1 (pre-silicon figures, 14 nm)")

# Loihi 2 running lava-dl's PilotNet benchmark (lava-dl tutorials, netx/pilotnet_*/benchmark.ipynb,
# Loihi2Power profiler): 0.232 W static of 0.679 W total, for one chip (the figures as quoted in issue 15;
# the stored copy of the notebook was not re-read for them here). Charged in full (the whole chip is
# powered) over the run's time: T steps × the step time.
LOIHI2_STATIC_W = 0.232
LOIHI2_TOTAL_W = 0.679
LOIHI2_STATIC_SOURCE = ("lava-dl PilotNet benchmark on Loihi 2 (tutorials/lava/lib/dl/netx, Loihi2Power "
                        "profiler): 0.232 W static of 0.679 W total, one chip")
