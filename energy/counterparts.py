"""The ANN of the same architecture: the same synapse paths and layers, one pass per sample (no time steps).

==============  ===========================================================================
counterpart     per sample
==============  ===========================================================================
ann_fp32        every layer's FLOPs of one pass as fp32 MACs: ``E_MAC × Σ FLOPs`` (compute only;
                :func:`fp32_pass`, also for an ONNX-counted graph's layers)
ann_int8        45 nm with the SNN's memory model, 8-bit weights and activations: per MAC a
                weight read + an 8×8 multiply + a 32-bit add; per path each input activation
                read once (reused over its fan-out, as a spike's one message is); per output
                a bias add, the activation (an add) and one activation write
ann_lowbit      the same at ``b = ceil(log2(T+1))``-bit activations (Yan, Bai & Wong, arXiv
                2409.08290: T binary steps carry at most T+1 levels): b×8 multiplies, b-bit
                activation reads/writes; the input stays 8 bit
==============  ===========================================================================
"""

from __future__ import annotations

import math
from typing import Iterable

from spikinghash.energy.activity import Activity
from spikinghash.energy.costs import ModelCost
from spikinghash.energy.targets import E_MAC_PJ, HOROWITZ_2014, HOROWITZ_45NM, int_add_pj, int_mult_pj, sram_read_pj
from spikinghash.hw_sim.spec import DRIVE_BITS, WEIGHT_BITS

INPUT_BITS = 8  # the input data at 8 bits in both integer counterparts
YAN_2024 = "Yan, Bai & Wong, arXiv 2409.08290: an SNN of T steps vs an ANN of ceil(log2(T+1))-bit activations"


def lowbit_width(steps: int) -> int:
    """``ceil(log2(T+1))``: the activation bits an ANN needs for the T+1 spike counts of T steps."""
    return max(1, math.ceil(math.log2(steps + 1)))


def fp32_pass(layers: Iterable[tuple[str, float]]) -> ModelCost:
    """The fp32 ANN: ``E_MAC × FLOPs`` of one pass for every ``(layer, FLOPs of one step)`` (pJ per sample)."""
    cost = ModelCost("ann_fp32", "ANN, fp32 MACs (45 nm, no memory)",
                     {"E_MAC_pj": E_MAC_PJ, "source": HOROWITZ_2014, "passes": "one pass per sample (no time steps)"})
    for name, flops in layers:
        cost.add(name, "synaptic", E_MAC_PJ * flops)
    return cost


def ann_fp32(act: Activity) -> ModelCost:
    """:func:`fp32_pass` of every synapse path, under its target neuron layer."""
    return fp32_pass((p.target, p.flops) for p in act.paths)


def ann_integer(act: Activity, act_bits: int, name: str, label: str) -> ModelCost:
    """An integer ANN at ``act_bits``-bit activations (8-bit weights) under the 45 nm memory model."""
    cost = ModelCost(name, label, {
        "source": HOROWITZ_45NM, "activation_bits": act_bits, "weight_bits": WEIGHT_BITS, "input_bits": INPUT_BITS,
        "mac": f"weight read ({WEIGHT_BITS} bit) + {act_bits}x{WEIGHT_BITS} multiply (input path "
               f"{INPUT_BITS}x{WEIGHT_BITS}) + {DRIVE_BITS}-bit add",
        "activations": "each input of a path read once per pass; each output: bias add + activation add + write",
        "passes": "one pass per sample (no time steps)"})
    sizes = {n.name: n.neurons for n in act.neurons}
    input_elems = int(act.input.events_per_sample.size)
    for p in act.paths:
        src_bits = INPUT_BITS if p.from_input else act_bits
        src_elems = input_elems if p.from_input else sizes[p.source]
        mac = int_mult_pj(src_bits, WEIGHT_BITS) + int_add_pj(DRIVE_BITS)
        cost.add(p.target, "synaptic", p.flops * mac)
        cost.add(p.target, "memory", p.flops * sram_read_pj(p.weight_bytes * WEIGHT_BITS / 8, WEIGHT_BITS)
                 + src_elems * sram_read_pj(src_elems * src_bits / 8, src_bits))
    for n in act.neurons:
        cost.add(n.name, "neuron", n.neurons * 2 * int_add_pj(DRIVE_BITS))
        cost.add(n.name, "memory", n.neurons * sram_read_pj(n.neurons * act_bits / 8, act_bits))
    return cost


def ann_int8(act: Activity) -> ModelCost:
    return ann_integer(act, 8, "ann_int8", "ANN, int8 with memory (45 nm)")


def ann_lowbit(act: Activity) -> ModelCost:
    b = lowbit_width(act.steps)
    cost = ann_integer(act, b, "ann_lowbit", f"ANN, {b}-bit activations with memory (45 nm)")
    cost.assumptions["source_of_width"] = YAN_2024
    return cost


#: The ANN counterparts, in the order reports list them.
COUNTERPARTS = {"ann_fp32": ann_fp32, "ann_int8": ann_int8, "ann_lowbit": ann_lowbit}
