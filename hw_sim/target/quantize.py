"""Calibrate a canonical graph on data and quantize it to Loihi-like integers (an :class:`IntNet`): the one
quantizer, with what it may choose given as :class:`~.rules.Rules` (plain Loihi, netx's format, the QAT grid).

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
- bias: ``S·max|bias| <= 4095·2**E_b`` (13-bit mantissa; ``E_b`` = 7, or the rules' fixed ``bias_exp``);
- weights: ``S·gain·q·max|W| / 64 <= 254·2**E_w`` (255 for one-signed layers; ``E_w`` = 7, or the rules'
  largest exponent for the path: netx's is 0).

The largest S gives the finest resolution of voltage, leak and weights relative to the
threshold; the rules may round it down to a power of two over the gain (the QAT grid). Each path's
``weight_exp`` is then the smallest exponent (up to ``E_w``) whose mantissas fit, and each neuron's
``bias_exp`` likewise (or the rules' fixed one). ``IntNeuron.limited_by`` names the binding bound.

Input quantum: event counts (integral calibration frames within ``2**bits - 1``) keep 1;
otherwise ``max|x| / (2**bits - 1)`` so the calibration range fills the graded spikes.

Fixed scales (``scales=``, e.g. a QAT model's ``qat_scales`` from the NIR metadata) replace
the choice of ``S``; everything else is derived as above. ``limited_by`` is then ``"fixed"``,
followed by the bounds that S exceeds (``"fixed, exceeds drive"``): a soft bound (drive,
negative_v) shows up in the wrap and saturation counters of a simulation, a hard one
(weights, bias) in ``max_rel_weight_error`` / ``max_bias_error`` of :func:`quant_summary`,
and a threshold beyond 17 bits is refused. Rules with ``lower_fixed`` (netx) first divide a fixed
scale by the smallest power of two with which its mantissas fit their exponents (``"fixed / 2**3 for
weights:a->n"``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import nir
import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.float_sim import LayerStats, simulate_float
from spikinghash.hw_sim.frontend.graph import CanonicalNet, Path, as_frames
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.kinds.neurons import IntNeuron, uniform_value
from spikinghash.hw_sim.spec import (ACT_SHIFT, BIAS_EXP_MAX, BIAS_MANT_MAX, BIAS_MANT_MIN, UV_MAX, VTH_MAX, VTH_SHIFT,
                                     WEIGHT_EXP_MAX, sign_mode, weight_range, weight_step)
from spikinghash.hw_sim.target.int_net import IntNet, IntSynapse
from spikinghash.hw_sim.target.rules import LOIHI, Rules, power_of_two_below

HEADROOM = 0.5
TOLERANCE = 1e-12  # relative: a fixed scale this close to a bound is within it


def input_coding(frames: np.ndarray, bits: int) -> tuple[float, bool]:
    """(quantum, signed) of the graded-spike input for calibration frames (see module docstring)."""
    peak, top = float(np.abs(frames).max(initial=0.0)), (1 << bits) - 1
    integral = bool(np.all(frames == np.round(frames)))
    quantum = 1.0 if peak == 0.0 or (integral and peak <= top) else peak / top
    return quantum, bool(frames.min(initial=0.0) < 0)


def weight_cap(mode: str) -> int:
    """The largest ``|w|`` an 8-bit mantissa of sign ``mode`` holds for either sign the mode allows (mixed: 254)."""
    lo, hi = weight_range(mode)
    return min(v for v in (-lo, hi) if v > 0)


def _weight_values(target: np.ndarray, mode: str, exp: int) -> tuple[np.ndarray, bool]:
    """The mantissa values (on the mode's step) nearest ``target / 2**exp``, and whether they are in range."""
    step, (lo, hi) = weight_step(mode), weight_range(mode)
    values = step * np.rint(target / (step * 2.0 ** exp)).astype(np.int64)
    return values, bool(values.min(initial=0) >= lo and values.max(initial=0) <= hi)


def weight_mantissas(target: np.ndarray, mode: str, exp_max: int = WEIGHT_EXP_MAX) -> tuple[np.ndarray, int]:
    """8-bit weight values and the smallest ``weight_exp`` in [0, exp_max] with ``values << exp ≈ target``
    (clipped to the range at ``exp_max`` when none fits)."""
    for exp in range(exp_max + 1):
        values, fits = _weight_values(target, mode, exp)
        if fits:
            return values, exp
    return np.clip(values, *weight_range(mode)), exp_max


def _bias_fits(target: np.ndarray, exp: Any) -> Any:
    """Where ``rint(target / 2**exp)`` is a 13-bit bias mantissa."""
    mant = np.rint(target / 2.0 ** exp)
    return (mant >= BIAS_MANT_MIN) & (mant <= BIAS_MANT_MAX)


def bias_mantissas(target: np.ndarray, exp: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron ``bias_mant`` (13 bit) and ``bias_exp`` with ``mant << exp ≈ target``: the smallest exponent
    (3 bit) that fits, or ``exp`` for every neuron (a format's fixed one); clipped where none fits."""
    exps = np.full(target.shape, BIAS_EXP_MAX if exp is None else exp, dtype=np.int64)
    if exp is None:
        for e in range(BIAS_EXP_MAX, -1, -1):
            exps = np.where(_bias_fits(target, e), e, exps)
    mant = np.clip(np.rint(target / 2.0 ** exps), BIAS_MANT_MIN, BIAS_MANT_MAX).astype(np.int64)
    return mant, exps


@dataclass(frozen=True)
class Calibration:
    """What the quantizer measures once on calibration frames: per-layer ``stats`` of the float simulation and
    the input coding (``quantum``, ``signed``, ``input_bits``)."""

    stats: dict[str, LayerStats]
    quantum: float
    signed: bool
    input_bits: int = 8


def calibrate(net: CanonicalNet, calib_frames: Any, input_bits: int = 8) -> Calibration:
    """The float simulation of ``calib_frames [T, B, *input_shape]`` and the input coding they need."""
    frames = as_frames(calib_frames, net).numpy()
    quantum, signed = input_coding(frames, input_bits)
    return Calibration(simulate_float(net, frames).stats, quantum, signed, input_bits)


def _path_gain(net: CanonicalNet, path: Path, quantum: float) -> float:
    gain = uniform_value(net.neurons[path.target].gain, path.target, "r·dt/tau (input gain)")
    return gain * (quantum if path.source == net.input_name else 1.0)


def _weight_target(net: CanonicalNet, path: Path, quantum: float, scale: float) -> np.ndarray:
    """``S·gain·q·W / 64``: the path's weights in integer units of ``a_in`` (before ``<< 6``)."""
    return scale * _path_gain(net, path, quantum) * net.synapses[path.key].weight / (1 << ACT_SHIFT)


def _weight_mode(net: CanonicalNet, path: Path) -> str:
    """The sign mode of the path's integer weights (a negative input gain flips the float weights' signs)."""
    w = net.synapses[path.key].weight
    return sign_mode(w * np.sign(_path_gain(net, path, 1.0)))


def _bias_target(net: CanonicalNet, name: str, scale: float) -> np.ndarray:
    """``S·(gain·Σb + leak)``: the layer's per-step bias in v units."""
    layer = net.neurons[name]
    return scale * (layer.gain * sum(net.synapses[p.key].bias for p in net.paths[name]) + layer.leak)


def _extra_exp(fits: Callable[[int], bool], exp: int) -> int:
    """The smallest d >= 0 with ``fits(exp + d)`` (halving a scale d times moves its mantissas d exponents)."""
    d = 0
    while not fits(exp + d) and d < 64:
        d += 1
    return d


def _lowering(net: CanonicalNet, name: str, quantum: float, rules: Rules, scale: float) -> tuple[int, list[str]]:
    """The smallest d with which ``scale / 2**d`` needs no larger exponent than ``rules`` allow, and what needs it."""
    bias = _bias_target(net, name, scale)
    needs = {"bias": _extra_exp(lambda e: bool(np.all(_bias_fits(bias, e))), rules.bias_exp_max)}
    for path in net.paths[name]:
        target, mode = _weight_target(net, path, quantum, scale), _weight_mode(net, path)
        needs[f"weights:{path.key}"] = _extra_exp(lambda e: _weight_values(target, mode, e)[1],
                                                  rules.weight_exp_max(net.synapses[path.key]))
    d = max(needs.values())
    return d, [what for what, n in needs.items() if n == d > 0]


def layer_scale(net: CanonicalNet, name: str, stats: LayerStats, quantum: float,
                rules: Rules = LOIHI) -> tuple[float, str]:
    """The largest scale S of layer ``name`` within every integer range the ``rules`` allow (rounded as they
    say), and the bound that set it; with the rules' fixed scale, that scale (lowered if they say so) and the
    bounds it exceeds (module docstring)."""
    layer = net.neurons[name]
    bounds = {"drive": HEADROOM * UV_MAX / stats.max_drive if stats.max_drive > 0 else np.inf,
              "negative_v": HEADROOM * UV_MAX / -stats.min_h if stats.min_h < 0 else np.inf,
              "bias": BIAS_MANT_MAX * 2.0 ** rules.bias_exp_max / stats.max_bias if stats.max_bias > 0 else np.inf}
    if layer.spiking:
        vth = uniform_value(layer.threshold, name, "v_threshold")
        if vth <= 0:
            raise ConfigError(f"neuron node {name!r} ({layer.kind}): v_threshold={vth} must be positive for "
                              "Loihi's unsigned vth; supported: thresholds > 0")
        bounds["threshold"] = VTH_MAX * (1 << VTH_SHIFT) / vth
    else:  # a readout: the positive potential is what is read, it must not saturate
        bounds["positive_v"] = HEADROOM * UV_MAX / stats.max_h if stats.max_h > 0 else np.inf
    for path in net.paths[name]:
        syn = net.synapses[path.key]
        peak = abs(_path_gain(net, path, quantum)) * float(np.abs(syn.weight).max(initial=0.0))
        bounds[f"weights:{path.key}"] = weight_cap(sign_mode(syn.weight)) * 2.0 ** rules.weight_exp_max(syn) * \
            (1 << ACT_SHIFT) / peak if peak > 0 else np.inf
    if rules.scales is None:
        limit = min(bounds, key=bounds.__getitem__)
        if not np.isfinite(bounds[limit]):
            scale, limit = 1.0, "nothing (no input, no bias)"
        else:
            scale = float(bounds[limit])
        if rules.scale_rounding == "power_of_two":
            gain = rules.gains[name] if rules.gains is not None else \
                uniform_value(layer.gain, name, "r·dt/tau (input gain)")
            return power_of_two_below(scale, gain), f"{limit}, rounded to a power of two"
        return scale, limit
    scale, label = float(rules.scales[name]), "fixed"
    if rules.lower_fixed:
        d, needs = _lowering(net, name, quantum, rules, scale)
        if d:
            scale, label = scale / 2.0 ** d, f"fixed / 2**{d} for {', '.join(needs)}"
    exceeded = [bound for bound, value in bounds.items() if scale > value * (1 + TOLERANCE)]
    return scale, label + (f", exceeds {', '.join(exceeded)}" if exceeded else "")


def _check_rules(net: CanonicalNet, rules: Rules) -> None:
    """ConfigError for fixed scales or gains that miss a layer, and for scales that are no positive number."""
    for what, given in (("fixed scales", rules.scales), ("power-of-two gains", rules.gains)):
        missing = [] if given is None else sorted(set(net.neurons) - set(given))
        if missing:
            raise ConfigError(f"{what} lack neuron layer(s) {missing}; give one per layer (a QAT model's NIR export "
                              "lists its scales in metadata['spikinghash']['qat_scales'])")
    for name in net.neurons if rules.scales is not None else ():
        fixed = float(rules.scales[name])
        if not (np.isfinite(fixed) and fixed > 0):
            raise ConfigError(f"fixed scale {fixed} of layer {name!r} must be a positive number")


def quantize_net(net: CanonicalNet, cal: Calibration, rules: Rules = LOIHI) -> IntNet:
    """Integer parameters of every layer from the calibration ``cal`` under ``rules`` (module docstring)."""
    _check_rules(net, rules)
    neurons: dict[str, IntNeuron] = {}
    synapses: dict[str, IntSynapse] = {}
    for name, layer in net.neurons.items():
        scale, limit = layer_scale(net, name, cal.stats[name], cal.quantum, rules)
        vth = int(np.rint(scale * float(layer.threshold.flat[0]) / (1 << VTH_SHIFT))) if layer.spiking else VTH_MAX
        if vth < 1:
            raise ConfigError(f"neuron layer {name!r}: the threshold rounds to 0 at scale {scale:.3g} (bound: "
                              f"{limit}); lower that layer's weights, biases or input range")
        for path in net.paths[name]:
            syn = net.synapses[path.key]
            values, exp = weight_mantissas(_weight_target(net, path, cal.quantum, scale), _weight_mode(net, path),
                                           rules.weight_exp_max(syn))
            kind = "conv" if syn.geometry() is not None and net.lava_delay(path) == 0 and not path.recurrent \
                else "matrix"
            synapses[path.key] = IntSynapse(values, exp, kind)
        mant, exp = bias_mantissas(_bias_target(net, name, scale), rules.bias_exp)
        neurons[name] = IntNeuron(layer.current_decay_int(), layer.voltage_decay_int(), vth, mant, exp, scale, limit)
    return IntNet(net, synapses, neurons, cal.quantum, cal.input_bits, cal.signed)


def _canonical(graph: nir.NIRGraph | CanonicalNet | str | os.PathLike) -> CanonicalNet:
    return graph if isinstance(graph, CanonicalNet) else load(graph)


def quantize(graph: nir.NIRGraph | CanonicalNet | str | os.PathLike, calib_frames: Any,
             input_bits: int = 8, scales: dict[str, float] | None = None, rules: Rules = LOIHI) -> IntNet:
    """Calibrate on ``calib_frames [T, B, *input_shape]`` with the float simulation, then quantize under
    ``rules`` (with ``scales`` fixed, if given: see the module docstring)."""
    net = _canonical(graph)
    return quantize_net(net, calibrate(net, calib_frames, input_bits), rules.fixed(scales))


def quantize_with_cost(graph: nir.NIRGraph | CanonicalNet | str | os.PathLike, calib_frames: Any, rules: Rules,
                       input_bits: int = 8, scales: dict[str, float] | None = None
                       ) -> tuple[IntNet, dict[str, dict[str, Any]]]:
    """Quantize under ``rules`` (``scales`` fixed if given) and what they cost against plain Loihi rules.

    Returns the IntNet and per layer ``{"scale", "limited_by", "scale_divided_by", "vth", "max_bias_change",
    "max_bias_change_thresholds"}``: ``scale_divided_by`` = the plain scale over this one; the bias change is
    against the plain quantization at the same scale, in v units and in units of the threshold ``vth << 6``."""
    net = _canonical(graph)
    cal = calibrate(net, calib_frames, input_bits)
    fitted = quantize_net(net, cal, rules.fixed(scales))
    plain = {n: layer_scale(net, n, cal.stats[n], cal.quantum, LOIHI.fixed(scales))[0] for n in net.neurons}
    same = quantize_net(net, cal, LOIHI.fixed({n: q.scale for n, q in fitted.neurons.items()}))
    changes = {}
    for name, q in fitted.neurons.items():
        change = float(np.abs(q.bias() - same.neurons[name].bias()).max(initial=0))
        changes[name] = {"scale": q.scale, "limited_by": q.limited_by, "scale_divided_by": plain[name] / q.scale,
                         "vth": q.vth, "max_bias_change": change,
                         "max_bias_change_thresholds": change / q.threshold_v()}
    return fitted, changes


def qat_scales(net: CanonicalNet) -> dict[str, float] | None:
    """The fixed scales a QAT model's export stored in the NIR metadata (None for other graphs)."""
    scales = (net.metadata.get("spikinghash") or {}).get("qat_scales")
    return None if scales is None else {str(k): float(np.asarray(v)) for k, v in dict(scales).items()}


def quant_summary(int_net: IntNet) -> dict[str, Any]:
    """Per layer: scale, binding bound, vth, decays; per path: weight_exp, kind and relative weight error."""
    net = int_net.net
    paths = {}
    for path in net.all_paths():
        q = int_net.synapses[path.key]
        target = _weight_target(net, path, int_net.input_quantum, int_net.neurons[path.target].scale)
        peak = max(np.abs(target).max(initial=0.0), 1e-300)
        err = np.abs((q.weight << q.weight_exp) - target).max(initial=0.0) / peak
        paths[path.key] = {"weight_exp": q.weight_exp, "kind": q.kind, "lava_delay": net.lava_delay(path),
                           "max_rel_weight_error": float(err)}
    layers = {}
    for name, n in int_net.neurons.items():
        bias_err = np.abs(n.bias() - _bias_target(net, name, n.scale)).max(initial=0.0)
        layers[name] = {"scale": n.scale, "limited_by": n.limited_by, "vth": n.vth, "du": n.du, "dv": n.dv,
                        "lag": net.lags[name], "max_bias_error": float(bias_err),
                        "bias_exp_max": int(np.max(n.bias_exp))}
    return {"input_quantum": int_net.input_quantum, "input_bits": int_net.input_bits, "layers": layers, "paths": paths}
