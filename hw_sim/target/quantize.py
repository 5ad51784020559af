"""Calibrate a canonical graph on data and quantize it to Loihi-like integers (an :class:`IntNet`).

Rule (per neuron layer n, with the float layer ``H = decay·V + gain·I + leak``):

The integer voltage is ``v ≈ S_n · H``, one scale ``S_n`` per layer (integer units per float
unit). Then the threshold is ``vth = rint(S·v_th / 64)`` (Loihi compares ``v > vth << 6``),
a path's integer weights target ``S·gain·q·W / 64`` (``a_in << 6`` lands in u; q = the
input quantum for paths from the Input, 1 for spike inputs) as 8-bit mantissas ``<<
weight_exp``, and the per-step bias ``S·(gain·Σb + leak)`` becomes ``bias_mant << bias_exp``.
``du = 4095`` (u holds only this step's input; CubaLIF/CubaLI: ``round(4096·dt/tau_syn) − 1``),
``dv = round(4096·dt/tau)`` (0 for IF and I). Readouts (LI, I, CubaLI) never fire: ``vth = 2**17 − 1``,
and their positive potential is bounded like the negative one (it is the read value).

``S`` is the largest value that keeps every integer in range, each bound from the float
simulation of the calibration frames (``HEADROOM`` = 1/2: calibration maxima use half of
the 24-bit range, so unseen inputs up to twice as strong neither wrap nor saturate):

- threshold: ``vth <= 2**17 - 1``;
- drive: ``S·max|gain·Σ W·x| <= HEADROOM·2**23`` (u would wrap at 24 bits);
- negative potential: ``S·max(-H) <= HEADROOM·2**23`` (v would saturate; a positive
  saturation lies above threshold and changes no spike; for readouts also ``S·max(H)``);
- bias: ``S·max|bias| <= 4095·2**7`` (13-bit mantissa, exponent <= 7);
- weights: ``S·gain·q·max|W| / 64 <= 254·2**7`` (255 for one-signed layers; exponent <= 7).

The largest S gives the finest resolution of voltage, leak and weights relative to the
threshold. Each path's ``weight_exp`` is then the smallest exponent whose mantissas fit,
and each neuron's ``bias_exp`` likewise. ``IntNeuron.limited_by`` names the binding bound.

Input quantum: event counts (integral calibration frames within ``2**bits - 1``) keep 1;
otherwise ``max|x| / (2**bits - 1)`` so the calibration range fills the graded spikes.

Fixed scales (``scales=``, e.g. a QAT model's ``qat_scales`` from the NIR metadata) replace
the choice of ``S``; everything else is derived as above. ``limited_by`` is then ``"fixed"``,
followed by the bounds that S exceeds (``"fixed, exceeds drive"``): a soft bound (drive,
negative_v) shows up in the wrap and saturation counters of a simulation, a hard one
(weights, bias) in ``max_rel_weight_error`` / ``max_bias_error`` of :func:`quant_summary`,
and a threshold beyond 17 bits is refused.
"""

from __future__ import annotations

import os
from typing import Any

import nir
import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.float_sim import LayerStats, simulate_float
from spikinghash.hw_sim.frontend.graph import CanonicalNet, Path, as_frames
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.kinds.neurons import IntNeuron, uniform_value
from spikinghash.hw_sim.spec import (ACT_SHIFT, BIAS_EXP_MAX, BIAS_MANT_MAX, BIAS_MANT_MIN, UV_MAX, VTH_MAX, VTH_SHIFT,
                                     WEIGHT_EXP_MAX, sign_mode)
from spikinghash.hw_sim.target.int_net import IntNet, IntSynapse

HEADROOM = 0.5
MIXED_CAP, SIGNED_CAP = 254, 255  # largest |weight| value of mixed-sign / one-signed 8-bit mantissas


def input_coding(frames: np.ndarray, bits: int) -> tuple[float, bool]:
    """(quantum, signed) of the graded-spike input for calibration frames (see module docstring)."""
    peak, top = float(np.abs(frames).max(initial=0.0)), (1 << bits) - 1
    integral = bool(np.all(frames == np.round(frames)))
    quantum = 1.0 if peak == 0.0 or (integral and peak <= top) else peak / top
    return quantum, bool(frames.min(initial=0.0) < 0)


def weight_mantissas(target: np.ndarray, mode: str) -> tuple[np.ndarray, int]:
    """8-bit weight values and the smallest ``weight_exp`` in [0, 7] with ``values << exp ≈ target``."""
    for exp in range(WEIGHT_EXP_MAX + 1):
        if mode == "mixed":
            values = 2 * np.rint(target / 2.0 ** (exp + 1)).astype(np.int64)
            fits = values.min(initial=0) >= -256 and values.max(initial=0) <= MIXED_CAP
        else:
            values = np.rint(target / 2.0 ** exp).astype(np.int64)
            fits = np.abs(values).max(initial=0) <= SIGNED_CAP
        if fits:
            return values, exp
    top = 2 * np.rint(target / 2.0 ** (WEIGHT_EXP_MAX + 1)) if mode == "mixed" else np.rint(target / 2.0 ** 7)
    lo, hi = (-256, MIXED_CAP) if mode == "mixed" else (-SIGNED_CAP, SIGNED_CAP)
    return np.clip(top, lo, hi).astype(np.int64), WEIGHT_EXP_MAX


def bias_mantissas(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron ``bias_mant`` (13 bit) and smallest ``bias_exp`` (3 bit) with ``mant << exp ≈ target``."""
    exp = np.full(target.shape, BIAS_EXP_MAX, dtype=np.int64)
    for e in range(BIAS_EXP_MAX, -1, -1):
        fits = (np.rint(target / 2.0 ** e) >= BIAS_MANT_MIN) & (np.rint(target / 2.0 ** e) <= BIAS_MANT_MAX)
        exp = np.where(fits, e, exp)
    mant = np.clip(np.rint(target / 2.0 ** exp), BIAS_MANT_MIN, BIAS_MANT_MAX).astype(np.int64)
    return mant, exp


def _path_gain(net: CanonicalNet, path: Path, quantum: float) -> float:
    gain = uniform_value(net.neurons[path.target].gain, path.target, "r·dt/tau (input gain)")
    return gain * (quantum if path.source == net.input_name else 1.0)


def layer_scale(net: CanonicalNet, name: str, stats: LayerStats, quantum: float,
                fixed: float | None = None) -> tuple[float, str]:
    """The largest scale S of layer ``name`` within every integer range, and the bound that set it;
    with ``fixed``, that scale and the bounds it exceeds (module docstring)."""
    layer = net.neurons[name]
    bounds = {"drive": HEADROOM * UV_MAX / stats.max_drive if stats.max_drive > 0 else np.inf,
              "negative_v": HEADROOM * UV_MAX / -stats.min_h if stats.min_h < 0 else np.inf,
              "bias": BIAS_MANT_MAX * 2.0 ** BIAS_EXP_MAX / stats.max_bias if stats.max_bias > 0 else np.inf}
    if layer.spiking:
        vth = uniform_value(layer.threshold, name, "v_threshold")
        if vth <= 0:
            raise ConfigError(f"neuron node {name!r} ({layer.kind}): v_threshold={vth} must be positive for "
                              "Loihi's unsigned vth; supported: thresholds > 0")
        bounds["threshold"] = VTH_MAX * (1 << VTH_SHIFT) / vth
    else:  # a readout: the positive potential is what is read, it must not saturate
        bounds["positive_v"] = HEADROOM * UV_MAX / stats.max_h if stats.max_h > 0 else np.inf
    for path in net.paths[name]:
        w = net.synapses[path.key].weight
        peak = abs(_path_gain(net, path, quantum)) * float(np.abs(w).max(initial=0.0))
        cap = MIXED_CAP if sign_mode(w) == "mixed" else SIGNED_CAP
        bounds[f"weights:{path.key}"] = cap * 2.0 ** WEIGHT_EXP_MAX * (1 << ACT_SHIFT) / peak if peak > 0 else np.inf
    limit = min(bounds, key=bounds.__getitem__)
    if fixed is None:
        return float(bounds[limit]), limit
    exceeded = [bound for bound, value in bounds.items() if fixed > value * (1 + 1e-12)]
    return float(fixed), "fixed" + (f", exceeds {', '.join(exceeded)}" if exceeded else "")


def quantize_net(net: CanonicalNet, stats: dict[str, LayerStats], quantum: float, signed: bool,
                 input_bits: int = 8, scales: dict[str, float] | None = None) -> IntNet:
    """Integer parameters of every layer from calibration ``stats`` (see the module docstring);
    ``scales`` (layer name -> S, every layer) fixes the scales instead of choosing them."""
    neurons: dict[str, IntNeuron] = {}
    synapses: dict[str, IntSynapse] = {}
    if scales is not None:
        missing = sorted(set(net.neurons) - set(scales))
        if missing:
            raise ConfigError(f"fixed scales lack neuron layer(s) {missing}; give one scale per layer (a QAT "
                              "model's NIR export lists them all in metadata['spikinghash']['qat_scales'])")
    for name, layer in net.neurons.items():
        fixed = None if scales is None else float(scales[name])
        if fixed is not None and not (np.isfinite(fixed) and fixed > 0):
            raise ConfigError(f"fixed scale {fixed} of layer {name!r} must be a positive number")
        scale, limit = layer_scale(net, name, stats[name], quantum, fixed)
        if not np.isfinite(scale):
            scale, limit = 1.0, "nothing (no input, no bias)"
        vth = int(np.rint(scale * float(layer.threshold.flat[0]) / (1 << VTH_SHIFT))) if layer.spiking else VTH_MAX
        if vth < 1:
            raise ConfigError(f"neuron layer {name!r}: the threshold rounds to 0 at scale {scale:.3g} (bound: "
                              f"{limit}); lower that layer's weights, biases or input range")
        for path in net.paths[name]:
            syn = net.synapses[path.key]
            target = scale * _path_gain(net, path, quantum) * syn.weight / (1 << ACT_SHIFT)
            values, exp = weight_mantissas(target, sign_mode(syn.weight))
            kind = "conv" if syn.geometry() is not None and net.lava_delay(path) == 0 and not path.recurrent \
                else "matrix"
            synapses[path.key] = IntSynapse(values, exp, kind)
        bias = sum(net.synapses[p.key].bias for p in net.paths[name])
        mant, exp = bias_mantissas(scale * (layer.gain * bias + layer.leak))
        neurons[name] = IntNeuron(layer.current_decay_int(), layer.voltage_decay_int(), vth, mant, exp, scale, limit)
    return IntNet(net, synapses, neurons, quantum, input_bits, signed)


def quantize(graph: nir.NIRGraph | CanonicalNet | str | os.PathLike, calib_frames: Any,
             input_bits: int = 8, scales: dict[str, float] | None = None) -> IntNet:
    """Calibrate on ``calib_frames [T, B, *input_shape]`` with the float simulation, then quantize
    (with ``scales`` fixed, if given: see the module docstring)."""
    net = graph if isinstance(graph, CanonicalNet) else load(graph)
    frames = as_frames(calib_frames, net).numpy()
    quantum, signed = input_coding(frames, input_bits)
    return quantize_net(net, simulate_float(net, frames).stats, quantum, signed, input_bits, scales)


def qat_scales(net: CanonicalNet) -> dict[str, float] | None:
    """The fixed scales a QAT model's export stored in the NIR metadata (None for other graphs)."""
    scales = (net.metadata.get("spikinghash") or {}).get("qat_scales")
    return None if scales is None else {str(k): float(np.asarray(v)) for k, v in dict(scales).items()}


def quant_summary(int_net: IntNet) -> dict[str, Any]:
    """Per layer: scale, binding bound, vth, decays; per path: weight_exp, kind and relative weight error."""
    net = int_net.net
    paths = {}
    for path in net.all_paths():
        q, syn = int_net.synapses[path.key], net.synapses[path.key]
        n = int_net.neurons[path.target]
        target = n.scale * _path_gain(net, path, int_net.input_quantum) * syn.weight / (1 << ACT_SHIFT)
        peak = max(np.abs(target).max(initial=0.0), 1e-300)
        err = np.abs((q.weight << q.weight_exp) - target).max(initial=0.0) / peak
        paths[path.key] = {"weight_exp": q.weight_exp, "kind": q.kind, "lava_delay": net.lava_delay(path),
                           "max_rel_weight_error": float(err)}
    layers = {}
    for name, n in int_net.neurons.items():
        layer = net.neurons[name]
        bias = sum(net.synapses[p.key].bias for p in net.paths[name])
        bias_err = np.abs(n.bias() - n.scale * (layer.gain * bias + layer.leak)).max(initial=0.0)
        layers[name] = {"scale": n.scale, "limited_by": n.limited_by, "vth": n.vth, "du": n.du, "dv": n.dv,
                        "lag": net.lags[name], "max_bias_error": float(bias_err),
                        "bias_exp_max": int(np.max(n.bias_exp))}
    return {"input_quantum": int_net.input_quantum, "input_bits": int_net.input_bits, "layers": layers, "paths": paths}
