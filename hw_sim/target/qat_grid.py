"""The fixed power-of-two integer grid a quantization-aware (QAT) model is fine-tuned on.

Post-training quantization (``target.quantize`` under plain rules) rounds every weight to an 8-bit mantissa,
and a neuron whose potential lay near its threshold flips; the flips cascade through the
layers. QAT fine-tunes the float model on the grid the integer network will use, so the
deployed weights are exactly the trained ones.

The grid is the one quantizer's result, read back in float units: the exported graph is calibrated
as ``spikinghash simulate`` does and quantized under :func:`~.rules.qat_rules` (each layer's scale
rounded *down* to ``S = 2**k / gain``, ``S·gain`` a power of two over the model's own gains; a smaller
S keeps every calibrated range). From that integer network:

- For a path into layer ``n`` with input quantum q (1 for spikes and event counts) and
  weight_exp ``e``, the float weight step is ``2**e·64/(S·gain·q)`` (one integer unit of
  ``a_in << 6`` is ``64/(S·gain·q)``), twice that for mixed-sign weights (Lava keeps even values),
  with the 8-bit ranges of ``spec.weight_range`` in steps. A projection feeding several layers keeps
  the coarsest of their grids, within all their ranges.
- Thresholds snap to ``vth·64/S``.
- Biases: a layer's integer bias is ``S·gain·Σ_paths b``; each projection's bias is put on
  ``2**B/(S·gain)`` (coarsest over its targets) with ``B`` = the layer's largest ``bias_exp``,
  and at least ``T - 1`` so that Loihi's truncating ``v·(1 - dv)`` stays exact over
  T steps. Each bias is clamped to its share of the 13-bit bias mantissa at that exponent
  (1/n for a layer fed by n paths; above bias_exp 7 the range shrinks by 2**(B-7)).

All steps are powers of two when gain and q are (tau = 2, event counts), so the grid values
are exact in float32 and the integer quantizer reproduces them bit for bit.

Not modelled: the input quantum of non-integral frames (its step is not a power of two, so
the weights of the first layer are rounded once more by the quantizer), and a ``T`` above 7
(v's granularity 2**6 then no longer covers the truncation of every step).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.spec import (ACT_SHIFT, BIAS_EXP_MAX, BIAS_MANT_MAX, VTH_SHIFT, sign_mode, weight_range,
                                     weight_step)
from spikinghash.hw_sim.target.quantize import calibrate, layer_scale, quantize_net
from spikinghash.hw_sim.target.rules import qat_rules


def derive_grid(net: CanonicalNet, calib_frames: Any, T: int, gains: Mapping[str, float],
                bases: Mapping[str, tuple[str, str]], input_bits: int = 8) -> dict[str, Any]:
    """The grid of the graph ``net`` calibrated on ``calib_frames [T', B, *input_shape]`` (module docstring), in
    ``QatGrid``'s JSON form.

    Args:
        T: time steps the model runs (the bias exponent's floor ``T - 1``).
        gains: neuron node -> input gain of its LIF (``1/γ``).
        bases: weighted node -> (base name before the fan-out suffix, target neuron node).

    Returns:
        ``{"scales", "thresholds", "weights": {base: {"step", "lo", "hi"}}, "bias_steps",
        "bias_limits", "info"}`` (without the format tag).
    """
    cal = calibrate(net, calib_frames, input_bits)
    on_grid = quantize_net(net, cal, qat_rules(gains))
    scales = {n: on_grid.neurons[n].scale for n in gains}
    snapped = {n: on_grid.neurons[n].vth * (1 << VTH_SHIFT) / scales[n] for n in gains}
    bounds: dict[str, list[tuple[float, float, float]]] = {}  # base -> [(step, lo·step, hi·step)]
    layer_bias_step: dict[str, float] = {}
    layer_bias_exp: dict[str, int] = {}
    # Integer units back to float ones, here only: one v unit is 1/(S·gain) of the input's float unit, one
    # unit of a_in (before << 6) 64/(S·gain·q).
    for layer, paths in net.paths.items():
        s_g = scales[layer] * gains[layer]
        layer_bias_exp[layer] = max(int(np.max(on_grid.neurons[layer].bias_exp)), T - 1)
        layer_bias_step[layer] = 2.0 ** layer_bias_exp[layer] / s_g
        for p in paths:
            q = on_grid.input_quantum if p.source == net.input_name else 1.0
            unit = (1 << ACT_SHIFT) / (s_g * q)
            mode = sign_mode(net.synapses[p.key].weight)
            step = weight_step(mode) * 2.0 ** on_grid.synapses[p.key].weight_exp * unit
            lo, hi = (v // weight_step(mode) for v in weight_range(mode))
            bounds.setdefault(bases[p.synapse][0], []).append((step, lo * step, hi * step))
    weights = {}
    for base, entries in bounds.items():
        step = max(e[0] for e in entries)
        weights[base] = {"step": step, "lo": math.ceil(max(e[1] for e in entries) / step - 1e-9),
                         "hi": math.floor(min(e[2] for e in entries) / step + 1e-9)}
    bias_steps: dict[str, float] = {}
    for base, target in bases.values():
        bias_steps[base] = max(bias_steps.get(base, 0.0), layer_bias_step[target])
    # A layer sums the biases of its n paths: each may use 1/n of the mantissa range. Above bias_exp 7 (T > 8)
    # a multiple of 2**B is held as m << 7 with m = k·2**(B - 7), so the range shrinks by that factor.
    bias_limits: dict[str, int] = {}
    for base, target in bases.values():
        share = BIAS_MANT_MAX // len(net.paths[target]) * 2.0 ** min(0, BIAS_EXP_MAX - layer_bias_exp[target])
        limit = int(share * layer_bias_step[target] // bias_steps[base])
        bias_limits[base] = min(bias_limits.get(base, limit), limit)
    info = {"calibrated_scales": {n: layer_scale(net, n, cal.stats[n], cal.quantum)[0] for n in gains},
            "input_quantum": on_grid.input_quantum, "T": T}
    return {"scales": scales, "thresholds": snapped, "weights": weights, "bias_steps": bias_steps,
            "bias_limits": bias_limits, "info": info}
