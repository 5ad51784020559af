"""The fixed power-of-two integer grid a quantization-aware (QAT) model is fine-tuned on.

Post-training quantization (``hw_sim.quantize``) rounds every weight to an 8-bit mantissa,
and a neuron whose potential lay near its threshold flips; the flips cascade through the
layers. QAT fine-tunes the float model on the grid the integer network will use, so the
deployed weights are exactly the trained ones. This module derives that grid from the
exported graph calibrated as ``spikinghash simulate`` does; it follows the same Loihi rules
as the quantizer (8-bit weight mantissas, weight_exp, 13-bit bias mantissas, ``vth << 6``):

- Each layer's scale is rounded *down* to ``S = 2**k / gain`` (``S·gain`` a power of two; a
  smaller S keeps every calibrated range).
- For a path into layer ``n`` with input quantum q (1 for spikes and event counts) and
  weight_exp ``e`` (the quantizer's choice at that S), the float weight step is
  ``2**e·64/(S·gain·q)``, twice that for mixed-sign weights (Lava keeps even values), with
  8-bit ranges [-128, 127]·step (mixed), [0, 255] or [-255, 0] (one-signed). A projection
  feeding several layers keeps the coarsest of their grids, within all their ranges.
- Thresholds snap to ``vth·64/S``.
- Biases: a layer's integer bias is ``S·gain·Σ_paths b``; each projection's bias is put on
  ``2**B/(S·gain)`` (coarsest over its targets) with ``B`` = the layer's largest ``bias_exp``
  at that S, and at least ``T - 1`` so that Loihi's truncating ``v·(1 - dv)`` stays exact over
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
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.spec import ACT_SHIFT, BIAS_EXP_MAX, BIAS_MANT_MAX, VTH_SHIFT, sign_mode
from spikinghash.hw_sim.target.quantize import MIXED_CAP, SIGNED_CAP, bias_mantissas, weight_mantissas

#: Multiples of the step an 8-bit mantissa holds, by Lava sign mode (mixed: even values in [-256, 254]).
K_RANGE = {"mixed": (-256 // 2, MIXED_CAP // 2), "excitatory": (0, SIGNED_CAP), "inhibitory": (-SIGNED_CAP, 0)}


def derive_grid(net: CanonicalNet, int_net: IntNet, T: int, gains: Mapping[str, float],
                thresholds: Mapping[str, float], bases: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """The grid of the graph ``net`` calibrated as ``int_net`` (module docstring), in ``QatGrid``'s JSON form.

    Args:
        gains: neuron node -> input gain of its LIF (``1/γ``).
        thresholds: neuron node -> float threshold.
        bases: weighted node -> (base name before the fan-out suffix, target neuron node).

    Returns:
        ``{"scales", "thresholds", "weights": {base: {"step", "lo", "hi"}}, "bias_steps",
        "bias_limits", "info"}`` (without the format tag).
    """
    scales = {n: 2.0 ** math.floor(math.log2(int_net.neurons[n].scale * gains[n])) / gains[n] for n in gains}
    snapped = {n: float(np.rint(scales[n] * thresholds[n] / (1 << VTH_SHIFT))) * (1 << VTH_SHIFT) / scales[n]
               for n in gains}
    bounds: dict[str, list[tuple[float, float, float]]] = {}  # base -> [(step, lo·step, hi·step)]
    layer_bias_step: dict[str, float] = {}
    layer_bias_exp: dict[str, int] = {}
    for layer, paths in net.paths.items():
        s_g = scales[layer] * gains[layer]
        total_bias = sum(net.synapses[p.key].bias for p in paths)
        _, bias_exp = bias_mantissas(s_g * total_bias)
        layer_bias_exp[layer] = max(int(np.max(bias_exp)), T - 1)
        layer_bias_step[layer] = 2.0 ** layer_bias_exp[layer] / s_g
        for p in paths:
            q = int_net.input_quantum if p.source == net.input_name else 1.0
            unit = (1 << ACT_SHIFT) / (s_g * q)  # float weight per integer unit of a_in << 6
            w = net.synapses[p.key].weight
            mode = sign_mode(w)
            _, exp = weight_mantissas(w / unit, mode)
            step = 2.0 ** (exp + (mode == "mixed")) * unit  # mixed: even values, one step = 2 units << exp
            lo, hi = K_RANGE[mode]
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
    info = {"calibrated_scales": {n: int_net.neurons[n].scale for n in gains}, "input_quantum": int_net.input_quantum,
            "T": T}
    return {"scales": scales, "thresholds": snapped, "weights": weights, "bias_steps": bias_steps,
            "bias_limits": bias_limits, "info": info}
