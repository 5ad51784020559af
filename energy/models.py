"""The SNN's energy under three models, each priced from one :class:`~.activity.Activity`.

============  ===================================================================================
model         what a sample costs (figures in ``targets.py``, conventions in ``docs/energy.md``)
============  ===================================================================================
eq26          Eq. 26: E_MAC × FLOPs of the first layer + E_AC × Σ SOP of the rest, the first layer
              by input kind (``layers.FIRST_LAYER``: MACs once for a static image, × T for event
              frames, accumulates at the input's rate for binary events). The same figures as the
              per-layer ``float`` / ``integer`` views (:func:`eq26_layers`).
mem45         45 nm with memory (Horowitz 2014): per synaptic event a weight read (SRAM sized by
              the layer's weight bytes) + a 32-bit add (+ an 8-bit multiply for a graded input
              value); per neuron update a state read + write (u, v) + the update's integer ops;
              per spike (and per input event) one routing-table read.
loihi         Loihi per-op figures (Davies 2018) + Loihi 2 static power × T × step time.
============  ===================================================================================

Every model is affine in the spikes (a + b × rate), which :mod:`.break_even` uses for break-even rates.
"""

from __future__ import annotations

from typing import Callable

from spikinghash.energy.activity import Activity
from spikinghash.energy.costs import INPUT_ROW, STATIC_ROW, ModelCost
from spikinghash.energy.layer_cost import FIRST_LAYER, LayerCost, price_input_layer, price_layer
from spikinghash.energy.targets import (E_AC_PJ, E_MAC_PJ, HOROWITZ_2014, HOROWITZ_45NM, LOIHI2_STATIC_SOURCE,
                                        LOIHI2_STATIC_W, LOIHI_OPS, ROUTING_MESSAGE_BITS, ROUTING_TABLE_BYTES,
                                        int_add_pj, int_mult_pj, neuron_update_pj, sram_read_pj)
from spikinghash.hw_sim.kinds.neurons import UPDATE_ADDS, UPDATE_MULTS
from spikinghash.hw_sim.spec import DECAY_BITS, DRIVE_BITS, NEURON_STATE_VARS, STATE_BITS, WEIGHT_BITS

PJ_PER_J = 1e12


def eq26_layers(act: Activity) -> list[LayerCost]:
    """Eq. 26 per synapse path: the input-fed paths by the input kind, every other path Eq. 25's SOP at its
    source's firing rate (pJ per sample)."""
    return [price_input_layer(p.key, p.type, p.flops, act.steps, act.input.kind, act.input.rate) if p.from_input
            else price_layer(p.key, p.type, p.flops, act.steps, "ac", p.source_rate) for p in act.paths]


def eq26(act: Activity) -> ModelCost:
    """Eq. 26 (:func:`eq26_layers`), each path's share under its target neuron layer."""
    cost = ModelCost("eq26", "Eq. 26 (45 nm fp32, compute only)",
                     {"input_kind": act.input.kind, "first_layer": FIRST_LAYER[act.input.kind][0],
                      "E_MAC_pj": E_MAC_PJ, "E_AC_pj": E_AC_PJ, "source": HOROWITZ_2014})
    for p, layer in zip(act.paths, eq26_layers(act)):
        cost.add(p.target, "synaptic", layer.energy_pj)
    return cost


def mem45(act: Activity) -> ModelCost:
    """45 nm with memory (module table), at the integer target's widths (``hw_sim.spec``)."""
    route = sram_read_pj(ROUTING_TABLE_BYTES, ROUTING_MESSAGE_BITS)
    state_bits = NEURON_STATE_VARS * STATE_BITS
    cost = ModelCost("mem45", "45 nm integer with memory (Horowitz 2014)", {
        "source": HOROWITZ_45NM,
        "synaptic_event": f"weight read ({WEIGHT_BITS} bit, SRAM of the layer's weight bytes) + {DRIVE_BITS}-bit add",
        "graded_input_event": "also an 8-bit multiply (input value × weight)" if not act.input.binary else None,
        "neuron_update": f"u, v read + write ({NEURON_STATE_VARS} × {STATE_BITS} bit, SRAM of the layer's state "
                         f"bytes) + {UPDATE_MULTS} mults {DECAY_BITS}×{STATE_BITS} bit + {UPDATE_ADDS} adds "
                         f"{DRIVE_BITS} bit (Lava's LIF datapath, every neuron kind)",
        "neuron_update_pj": neuron_update_pj(),
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
        state = sram_read_pj(n.neurons * state_bits / 8, state_bits)
        cost.add(n.name, "neuron", n.updates * neuron_update_pj())
        cost.add(n.name, "memory", n.updates * 2 * state + n.spikes * route)  # read + write, then messages
    return cost


def loihi(act: Activity, step_s: float | None = None) -> ModelCost:
    """Loihi's per-op figures (``targets.LOIHI_OPS``) + Loihi 2 static power × T × ``step_s``.

    ``step_s``: wall time of one time step; default the graph's own ``dt`` (NIR metadata), i.e. the
    chip runs in real time at the graph's time step. Synaptic events include the input events.
    """
    ops = LOIHI_OPS
    step = act.dt if step_s is None else float(step_s)
    cost = ModelCost("loihi", "Loihi-class (per-op figures + static power)", {
        "per_op_source": ops.source, "synaptic_op_pj": ops.synaptic_op_pj,
        "neuron_active_pj": ops.neuron_active_pj, "neuron_inactive_pj": ops.neuron_inactive_pj,
        "static_w": LOIHI2_STATIC_W, "static_source": LOIHI2_STATIC_SOURCE, "step_s": step,
        "run_s": act.steps * step,
        "time_step": "graph dt (NIR metadata): real-time at the graph's step" if step_s is None else "given",
        "memory": "inside the per-op figures (weights and state live in the cores' SRAM)"})
    for p in act.paths:
        cost.add(p.target, "synaptic", ops.synaptic_op_pj * p.events)
    for n in act.neurons:
        cost.add(n.name, "neuron", ops.neuron_active_pj * n.spikes + ops.neuron_inactive_pj * (n.updates - n.spikes))
    dynamic = cost.total
    cost.add(STATIC_ROW, "static", LOIHI2_STATIC_W * act.steps * step * PJ_PER_J)
    cost.assumptions["static_equals_dynamic_at_step_s"] = dynamic / (LOIHI2_STATIC_W * act.steps * PJ_PER_J)
    return cost


#: The SNN models, in the order reports list them.
MODELS: dict[str, Callable[[Activity], ModelCost]] = {"eq26": eq26, "mem45": mem45, "loihi": loihi}
