"""The SNN's energy under four models, each priced from one :class:`~.activity.Activity`.

============  ===================================================================================
model         what a sample costs (figures in ``targets.py``, conventions in ``docs/energy.md``)
============  ===================================================================================
eq26_paper    Eq. 26 as the paper writes it: E_MAC × FLOPs of the first layer + E_AC × Σ SOP of
              the rest. First layer ×1 for static images (the paper's CIFAR convention), × T for
              event frames, accumulates at the input's rate for binary events.
eq26_ours     our counting before this model table (``layers.price_layer``): the input-fed paths
              always MACs × T, every other path Eq. 25's SOP × E_AC. Numbers unchanged.
mem45         45 nm with memory (Horowitz 2014): per synaptic event a weight read (SRAM sized by
              the layer's weight bytes at 8 bit) + a 32-bit add (+ an 8-bit multiply for a graded
              input value); per neuron update a state read + write (u, v: 2 × 24 bit) + the
              update's integer ops; per spike (and per input event) one routing-table read.
loihi         Loihi per-op figures (Davies 2018) + Loihi 2 static power × T × step time.
============  ===================================================================================

Every model is affine in the spikes (a + b × rate), which :mod:`.compare` uses for break-even rates.
"""

from __future__ import annotations

from typing import Callable

from spikinghash.energy.activity import Activity
from spikinghash.energy.costs import INPUT_ROW, STATIC_ROW, ModelCost
from spikinghash.energy.layers import price_layer
from spikinghash.energy.targets import (DRIVE_BITS, E_AC_PJ, E_MAC_PJ, HOROWITZ_2014,
                                        HOROWITZ_45NM, LOIHI2_STATIC_SOURCE, LOIHI2_STATIC_W, NEURON_UPDATE,
                                        ROUTING_MESSAGE_BITS, ROUTING_TABLE_BYTES, STATE_BITS, TARGETS,
                                        WEIGHT_BITS, int_add_pj, int_mult_pj, sram_read_pj)

PJ_PER_J = 1e12


def eq26_paper(act: Activity) -> ModelCost:
    """Eq. 26 with the paper's first-layer convention chosen by the input kind (labelled in the result)."""
    first = {"static": "MACs once (static image: the paper's CIFAR convention, no factor T)",
             "event_frames": "MACs at every step (event frames: × T)",
             "binary_events": "ACs at the input's event rate (binary events are spikes)"}[act.input.kind]
    cost = ModelCost("eq26_paper", "Eq. 26 as the paper writes it (45 nm, fp32)",
                     {"input_kind": act.input.kind, "first_layer": first, "E_MAC_pj": E_MAC_PJ,
                      "E_AC_pj": E_AC_PJ, "source": HOROWITZ_2014})
    for p in act.paths:
        if p.from_input and act.input.kind == "static":
            pj = E_MAC_PJ * p.flops  # Eq. 26: E_MAC × FLOPs_Conv^1, one evaluation
        elif p.from_input and act.input.kind == "event_frames":
            pj = E_MAC_PJ * act.steps * p.flops
        else:
            rate = act.input.rate if p.from_input else p.source_rate
            pj = E_AC_PJ * rate * act.steps * p.flops  # Eq. 26: E_AC × SOP, SOP = R × T × FLOPs (Eq. 25)
        cost.add(p.target, "synaptic", pj)
    return cost


def eq26_ours(act: Activity) -> ModelCost:
    """The counting of ``nir_count.nir_layers`` (input-fed paths: T × FLOPs MACs), via ``price_layer``."""
    cost = ModelCost("eq26_ours", "Eq. 26, our counting (first layer always MACs × T)",
                     {"first_layer": "MACs at every step, whatever the input (energy_pj_per_sample_float/_integer)",
                      "E_MAC_pj": E_MAC_PJ, "E_AC_pj": E_AC_PJ, "source": HOROWITZ_2014})
    for p in act.paths:
        priced = (price_layer(p.key, p.type, p.flops, act.steps, "mac") if p.from_input
                  else price_layer(p.key, p.type, p.flops, act.steps, "ac", p.source_rate))
        cost.add(p.target, "synaptic", priced.energy_pj)
    return cost


def _state_bytes(neurons: int, state_vars: int) -> float:
    return neurons * state_vars * STATE_BITS / 8


def mem45(act: Activity) -> ModelCost:
    """45 nm with memory (module table); integer widths of ``hw_sim`` (8-bit weights, 24-bit u/v, int32 drive)."""
    route = sram_read_pj(ROUTING_TABLE_BYTES, ROUTING_MESSAGE_BITS)
    cost = ModelCost("mem45", "45 nm integer with memory (Horowitz 2014)", {
        "source": HOROWITZ_45NM,
        "synaptic_event": "weight read (8 bit, SRAM of the layer's weight bytes) + 32-bit add",
        "graded_input_event": "also an 8-bit multiply (input value × weight)" if not act.input.binary else None,
        "neuron_update": "u, v read + write (2 × 24 bit, SRAM of the layer's state bytes) + 2 mults 12×24 bit "
                         "+ 4 adds 32 bit (Lava's LIF datapath, every neuron kind)",
        "neuron_update_pj": NEURON_UPDATE.pj(),
        "routing_message_pj": route,
        "routing_message": "per spike and per input event: one 64-bit routing-table read, 8 KB SRAM",
        "sram_pricing": "64-bit read by capacity: 10 / 20 / 100 pJ at 8 KB / 32 KB / 1 MB, power law in "
                        "between, 8 KB figure below, DRAM (1.3 nJ) above 1 MB; per bit read; a write priced as a read"})
    input_mult = 0.0 if act.input.binary else int_mult_pj(WEIGHT_BITS, WEIGHT_BITS)
    for p in act.paths:
        per_event = int_add_pj(DRIVE_BITS) + (input_mult if p.from_input else 0.0)
        cost.add(p.target, "synaptic", p.events * per_event)
        cost.add(p.target, "memory", p.events * sram_read_pj(p.weight_bytes * WEIGHT_BITS / 8, WEIGHT_BITS))
    cost.add(INPUT_ROW, "memory", float(act.input.events_per_sample.sum()) * route)
    for n in act.neurons:
        ops = NEURON_UPDATE
        state = sram_read_pj(_state_bytes(n.neurons, ops.state_vars), ops.state_vars * STATE_BITS)
        cost.add(n.name, "neuron", n.updates * ops.pj())
        cost.add(n.name, "memory", n.updates * 2 * state + n.spikes * route)  # read + write, then messages
    return cost


def loihi(act: Activity, step_s: float | None = None) -> ModelCost:
    """Loihi's per-op figures (``targets.TARGETS['loihi']``) + Loihi 2 static power × T × ``step_s``.

    ``step_s``: wall time of one time step; default the graph's own ``dt`` (NIR metadata), i.e. the
    chip runs in real time at the graph's time step. Synaptic events include the input events.
    """
    tgt = TARGETS["loihi"]
    step = act.dt if step_s is None else float(step_s)
    cost = ModelCost("loihi", "Loihi-class (per-op figures + static power)", {
        "per_op_source": tgt.source, "synaptic_op_pj": tgt.synaptic_op_pj,
        "neuron_active_pj": tgt.neuron_active_pj, "neuron_inactive_pj": tgt.neuron_inactive_pj,
        "static_w": LOIHI2_STATIC_W, "static_source": LOIHI2_STATIC_SOURCE, "step_s": step,
        "run_s": act.steps * step,
        "time_step": "graph dt (NIR metadata): real-time at the graph's step" if step_s is None else "given",
        "memory": "inside the per-op figures (weights and state live in the cores' SRAM)"})
    for p in act.paths:
        cost.add(p.target, "synaptic", tgt.synaptic_op_pj * p.events)
    for n in act.neurons:
        cost.add(n.name, "neuron", tgt.neuron_active_pj * n.spikes + tgt.neuron_inactive_pj * (n.updates - n.spikes))
    dynamic = cost.total
    cost.add(STATIC_ROW, "static", LOIHI2_STATIC_W * act.steps * step * PJ_PER_J)
    cost.assumptions["static_equals_dynamic_at_step_s"] = dynamic / (LOIHI2_STATIC_W * act.steps * PJ_PER_J)
    return cost


#: The SNN models, in the order reports list them.
MODELS: dict[str, Callable[[Activity], ModelCost]] = {
    "eq26_paper": eq26_paper, "eq26_ours": eq26_ours, "mem45": mem45, "loihi": loihi}
