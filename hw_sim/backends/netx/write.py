"""Write an :class:`IntNet` as lava-dl netx's HDF5 network (``netx.hdf5.Network`` loads it).

Why here and not in ``export/``: the file holds the *integer* network (hw_sim's quantization),
and ``export`` may not import ``hw_sim`` (layer order); ``hw_sim`` may import ``export``.

netx describes a sequential list of layers (``lava/lib/dl/netx/hdf5.py``)::

    layer/0  type "input", shape [C, H, W] or [N]            (no neuron: the frames enter the next layer)
    layer/i  type "flatten"                                   (before a dense layer fed by a 3-D layer)
    layer/i  type "dense": shape [N], weight [N, in] (C-order flattened input), bias [N], neuron
    layer/i  type "conv":  shape [C, H, W], weight [out, in/groups, kh, kw] (cross-correlation, torch
             order), stride/padding/dilation [H, W], groups, bias [C] or [W, H, C], neuron
    neuron   type "CUBA", iDecay, vDecay, vThMant, refDelay, gradedSpike

netx builds Lava's own processes from it: ``LIF``/``LIFReset`` with ``du = iDecay - 1``,
``dv = vDecay``, ``vth = vThMant``, ``bias_mant = bias``, ``bias_exp = 6``; ``Dense`` with the
weights, exponent and bit count its ``optimize_weight_bits`` picks; ``Conv`` with the weights as
written (no exponent). So an IntNet maps exactly when:

- ``iDecay = du + 1``, ``vDecay = dv``, ``vThMant = vth`` (always exact);
- every bias ``bias_mant << bias_exp`` is a multiple of 64 with ``|bias / 64| <= 4095`` (netx fixes
  ``bias_exp = 6``);
- a dense layer's effective weights ``w << weight_exp`` come back unchanged from netx's
  ``optimize_weight_bits`` and Lava's 8-bit clip and truncation (:func:`netx_dense_effective`):
  in practice ``weight_exp = 0`` and a positive weight in the matrix. Beyond 8 bits netx clips
  mixed-sign weights to [-256, 254] and zeroes one-signed ones; a matrix without a positive weight
  is mis-scaled (``[-128, 0]`` loads as ``[-64, 0]``, ``[-255, 0]`` as zeros); a matrix of zeros
  makes it raise;
- a conv layer is one Lava ``Conv`` can hold (int8 geometry) and whose sum either is realised as
  ``Conv`` in the IntNet or provably stays below 2**23 (Lava's Conv wraps at 24 bits).

:func:`fit_for_netx` quantizes a graph so that all of this holds, with the one quantizer under netx's
rules (``target.rules.netx_rules``: dense weights at exponent 0, so a layer's scale is bounded where its
8-bit weights fill the mantissas; ``bias_exp = 6``, so the bias bound is ``4095 << 6`` and every bias is
rounded on the 64-unit grid), and says what that cost; :func:`write_netx` writes such an IntNet and
refuses any other with the reasons.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Any

import numpy as np

from spikinghash.atomic_io import atomic_path
from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.lava.build import conv_bound, lava_matrix
from spikinghash.hw_sim.frontend.graph import CanonicalNet, Path
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.kinds.neurons import IntNeuron
from spikinghash.hw_sim.spec import BIAS_MANT_MAX, BIAS_MANT_MIN, CONV_WRAP, effective_weights
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.target.quantize import quantize_with_cost
from spikinghash.hw_sim.target.rules import NETX_BIAS_EXP, netx_rules

FIX = "quantize with spikinghash.hw_sim.backends.netx.write.fit_for_netx (spikinghash export netx does)"


# -- which graphs netx can describe ----------------------------------------------------------

def _listed(reasons: list[str], shown: int = 4) -> str:
    """The first ``shown`` reasons, and how many more (a real model's graph can have hundreds)."""
    more = len(reasons) - shown
    return "; ".join(reasons[:shown]) + (f"; and {more} more" if more > 0 else "")


def sequential_paths(net: CanonicalNet) -> list[Path]:
    """The one path into each neuron layer, in order, if ``net`` is a chain netx can describe.

    Refused (ConfigError, one line per reason): fan-in (a layer summing several paths), skips and
    fan-out (a path from any source but the previous layer), recurrence, Delays and an output that is
    not the last layer. Every neuron kind is accepted: hw_sim runs each as Lava's LIF (readouts with
    the largest threshold), which is what netx's CUBA neuron is."""
    order, reasons = list(net.neurons), []
    previous = net.input_name
    for i, name in enumerate(order):
        paths = net.paths[name]
        if len(paths) != 1:
            reasons.append(f"fan-in: layer {name!r} sums {len(paths)} paths ({', '.join(p.key for p in paths)})")
        for p in paths:
            if p.source == name or p.source in order[i:]:
                reasons.append(f"recurrence: path {p.key!r} comes from {p.source!r}, at or after its target")
            elif p.source != previous:
                reasons.append(f"skip: path {p.key!r} comes from {p.source!r}, not from the previous layer "
                               f"{previous!r}")
            if p.delay:
                reasons.append(f"delay: path {p.key!r} carries a Delay of {p.delay} steps")
        previous = name
    if order and net.output != order[-1]:
        reasons.append(f"the hash layer {net.output!r} is not the last layer {order[-1]!r}")
    if reasons:
        raise ConfigError("netx describes a sequential chain of layers (one path each from the previous layer, "
                          f"no delays, no recurrence); this graph is not one: {_listed(reasons)}; run it with "
                          "`--backend lava` (our Lava build runs any canonical graph)")
    return [net.paths[name][0] for name in order]


# -- what netx's loader makes of the values ---------------------------------------------------

def lava_dense_effective(weights: np.ndarray, weight_exp: int, num_weight_bits: int) -> np.ndarray:
    """The effective weights (``a_out = Σ w·x``, float64 ``[out, in]``) of Lava's bit-accurate ``Dense`` given
    ``weights``, ``weight_exp`` and ``num_weight_bits`` and no sign mode (as netx builds it): the target's clip
    and truncation (``spec.effective_weights``), then the shift (a negative exponent divides; the result is
    exact only where it is an integer)."""
    return effective_weights(weights, num_weight_bits) * 2.0 ** weight_exp


def netx_dense_effective(weight: np.ndarray) -> np.ndarray | None:
    """The effective integer weights (``a_out = Σ w·x``) that netx's ``create_dense`` plus Lava's
    bit-accurate ``Dense`` make of a file's ``weight`` ``[out, in]``, or None where they are no
    integer weights at all (netx raised, or the exponent drops bits). float64 ``[out, in]``.

    netx's own ``optimize_weight_bits`` is called, then :func:`lava_dense_effective`: the check is what
    the loader does, not a re-derivation."""
    from lava.lib.dl.netx.utils import optimize_weight_bits

    try:  # netx prints its clipping warnings and divides by zero on one-signed matrices: keep both quiet
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(divide="ignore"):
            w, num_bits, exp, _ = optimize_weight_bits(np.asarray(weight).astype(int))
    except (OverflowError, ValueError):  # an all-zero matrix: int(inf) inside netx
        return None
    scaled = lava_dense_effective(w, exp, num_bits)
    return scaled if np.all(scaled == np.rint(scaled)) else None


def _netx_bias(name: str, neuron: IntNeuron) -> tuple[np.ndarray, list[str]]:
    """The file's bias (``bias_mant`` for ``bias_exp = 6``) and the reasons it cannot hold the IntNet's."""
    bias = neuron.bias()
    mant = bias >> NETX_BIAS_EXP
    reasons = []
    if np.any(mant << NETX_BIAS_EXP != bias):
        reasons.append(f"layer {name!r}: bias {int(bias[mant << NETX_BIAS_EXP != bias].flat[0])} is not a "
                       f"multiple of 64 (netx fixes bias_exp = {NETX_BIAS_EXP})")
    if mant.size and (mant.min() < BIAS_MANT_MIN or mant.max() > BIAS_MANT_MAX):
        reasons.append(f"layer {name!r}: bias / 64 reaches {int(np.abs(mant).max())}, beyond Lava's 13-bit "
                       "bias_mant")
    return mant, reasons


# -- one layer group per path ----------------------------------------------------------------

Layer = dict[str, Any]


def _layer(int_net: IntNet, path: Path) -> tuple[Layer, list[str]]:
    """The path's layer group (its synapse kind's ``netx_layer``) and every reason netx cannot hold it exactly:
    a dense layer's weights must come back unchanged from netx's own weight optimisation, a conv layer's sum
    must stay where netx's Lava ``Conv`` wraps exactly as the IntNet's realisation does."""
    syn, q = int_net.net.synapses[path.key], int_net.synapses[path.key]
    layer, why = syn.netx_layer(q.weight, q.weight_exp)
    reasons = [f"path {path.key!r}: {w}" for w in why]
    if layer.get("type") == "dense":
        weight = layer["weight"]
        loaded = netx_dense_effective(weight)
        if loaded is None or not np.array_equal(loaded, weight):
            what = "raises or drops bits" if loaded is None else \
                f"changes up to {float(np.abs(loaded - weight).max()):g} units"
            reasons.append(f"path {path.key!r}: netx's weight optimisation {what} on weights w << weight_exp "
                           f"(weight_exp={q.weight_exp}, range [{weight.min()}, {weight.max()}]); netx keeps "
                           "8-bit weights with exponent <= 0")
    elif layer.get("type") == "conv" and not why and q.kind != "conv" and \
            conv_bound(int_net, path, lava_matrix(int_net, path)) >= CONV_WRAP:
        reasons.append(f"path {path.key!r}: its sum can reach 2**23, where netx's Lava Conv wraps and the "
                       "IntNet's matrix realisation does not")
    return layer, reasons


def _bias_entry(shape: tuple[int, ...], mant: np.ndarray) -> np.ndarray:
    """Dense: [N]; conv: [C] when uniform per channel (slayer's form), else per neuron in Lava's (W, H, C)."""
    if len(shape) == 1:
        return mant
    per_channel = mant.reshape(shape[0], -1)
    if np.all(per_channel == per_channel[:, :1]):
        return per_channel[:, 0].copy()
    return mant.transpose(2, 1, 0)


def netx_layers(int_net: IntNet) -> list[Layer]:
    """The file's layer groups in order (input, [flatten], dense/conv ...) with a ``name`` each (our layer name,
    kept as an HDF5 attribute netx ignores); ConfigError with every reason the IntNet cannot be written."""
    net = int_net.net
    paths = sequential_paths(net)
    layers: list[Layer] = [{"type": "input", "shape": np.array(net.input_shape), "name": net.input_name}]
    reasons: list[str] = []
    for path in paths:
        if path.flatten and len(net.shapes[path.source]) == 3:
            layers.append({"type": "flatten", "name": f"{path.source}:flatten"})
        layer, why = _layer(int_net, path)
        mant, why_bias = _netx_bias(path.target, int_net.neurons[path.target])
        reasons += why + why_bias
        if layer:
            layer.update(bias=_bias_entry(net.neurons[path.target].shape, mant), name=path.target,
                         neuron=int_net.neurons[path.target].netx_neuron())
            layers.append(layer)
    if reasons:
        raise ConfigError(f"this integer network has no exact netx form: {_listed(reasons)}; {FIX}")
    return layers


def _put(group: Any, layer: Layer) -> None:
    for key, value in layer.items():
        if key == "name":
            group.attrs["name"] = value
        elif key == "type":
            group.create_dataset("type", (1,), "S10", [value.encode("ascii")])  # netx decodes value[0]
        elif isinstance(value, dict):
            _put(group.create_group(key), value)
        else:
            group.create_dataset(key, data=value)


def write_netx(int_net: IntNet, path: str | os.PathLike) -> None:
    """Write ``int_net`` as a netx HDF5 network to ``path`` (atomically); ConfigError if it has no exact netx form.

    The root attribute ``spikinghash`` (JSON) records what netx does not: layer names and lags (Lava
    latency in steps), dt, and the input coding (quantum, bits, signed) that turns frames into the
    graded spikes the first layer expects (``Network(..., input_message_bits=bits)``)."""
    import h5py

    layers = netx_layers(int_net)
    net = int_net.net
    meta = {"format": "lava-dl netx hdf5", "layers": [n for n in net.neurons], "lags": dict(net.lags),
            "dt": net.dt, "input_quantum": int_net.input_quantum, "input_bits": int_net.input_bits,
            "input_signed": int_net.input_signed, "output": net.output}
    with atomic_path(path, suffix=".net") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["spikinghash"] = json.dumps(meta)
            group = f.create_group("layer")
            for i, layer in enumerate(layers):
                _put(group.create_group(str(i)), layer)


# -- quantize so that the netx form is exact ---------------------------------------------------

def fit_for_netx(graph: Any, calib_frames: Any, input_bits: int = 8, scales: dict[str, float] | None = None,
                 wide_conv_weights: bool = False) -> tuple[IntNet, dict[str, Any]]:
    """Quantize ``graph`` (NIR graph, file or CanonicalNet) on ``calib_frames [T, B, *input_shape]`` under netx's
    rules (``target.rules.netx_rules``) into an IntNet that :func:`write_netx` writes exactly, and what that
    cost against plain quantization (``target.quantize.quantize_with_cost``). A graph netx cannot describe is
    refused before any calibration (:func:`sequential_paths`).

    Returns the IntNet and per layer ``{"scale", "limited_by", "scale_divided_by", "vth", "max_bias_change",
    "max_bias_change_thresholds"}`` (bias changes in v units and in units of the layer's threshold)."""
    net = graph if isinstance(graph, CanonicalNet) else load(graph)
    sequential_paths(net)
    return quantize_with_cost(net, calib_frames, netx_rules(wide_conv_weights), input_bits, scales)
