"""The integer (Loihi-like) network: a canonical graph plus every layer's integer parameters.

One :class:`IntNet` is what every backend (``backends``: fast, lava, netx) executes, so they can be
compared bit for bit. Construction validates every value against the target's widths (``spec``),
so that Lava never silently clips or truncates anything the fast simulator would not:

- weights: 8-bit mantissas with a per-layer ``weight_exp`` in [0, 7]; mixed-sign layers
  use even values in [-256, 254] (the sign takes one of the 8 bits: value = 2·m, m in
  [-128, 127]), excitatory [0, 255], inhibitory [-255, 0] — Lava's ``clip_weights`` +
  ``truncate_weights`` with ``num_weight_bits = 8`` leave such values unchanged.
- ``du``, ``dv``: unsigned 12 bit; ``vth``: unsigned 17 bit (compared as ``vth << 6``);
  ``bias_mant``: signed 13 bit; ``bias_exp``: unsigned 3 bit.

First layer input: frames are sent as integer *graded spikes* (Lava ``num_message_bits``
= ``input_bits`` on the synapses fed by the Input): ``x_int = clip(rint(x / quantum),
lo, 2**bits - 1)`` with ``lo = -(2**bits - 1)`` if ``input_signed`` else 0. The quantum is
folded into the first layers' weights by the quantizer. Event counts keep quantum 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.frontend.graph import CanonicalNet, as_frames
from spikinghash.hw_sim.kinds.neurons import IntNeuron
from spikinghash.hw_sim.spec import (BIAS_EXP_MAX, BIAS_MANT_MAX, BIAS_MANT_MIN, DECAY_UNIT, INPUT_BITS_MAX, VTH_MAX,
                                     WEIGHT_EXP_MAX, effective_weights)

REALISATION_KINDS = ("conv", "matrix")


@dataclass(frozen=True)
class IntSynapse:
    """One path's integer synapse: effective weights (``weight`` before ``<< weight_exp``) and realisation.

    ``kind``: "conv" (Lava ``Conv``, weights sent as ``weight << weight_exp``) or "matrix"
    (``Dense``/``Sparse``, or their ``Delay`` versions when the path needs a Lava delay).
    """

    weight: np.ndarray  # 8-bit mantissas (mixed sign: 2·m, m signed 8 bit), shape of the float weight
    weight_exp: int  # 0..7, shared by the layer
    kind: str  # "conv" | "matrix"


@dataclass(frozen=True, eq=False)
class IntNet:
    """A canonical net with integer parameters: ``synapses`` by path key, ``neurons`` by layer name."""

    net: CanonicalNet
    synapses: dict[str, IntSynapse]
    neurons: dict[str, IntNeuron]
    input_quantum: float = 1.0
    input_bits: int = 8
    input_signed: bool = False

    def __post_init__(self) -> None:
        net = self.net
        if not 1 <= self.input_bits <= INPUT_BITS_MAX or not self.input_quantum > 0:
            raise ConfigError(f"input_bits={self.input_bits} / input_quantum={self.input_quantum}: need 1..{INPUT_BITS_MAX} "
                              "graded-spike bits and a positive quantum")
        for path in net.all_paths():
            q = self.synapses.get(path.key)
            if q is None:
                raise ConfigError(f"no integer synapse for path {path.key!r}; quantize the whole graph")
            _check_synapse(path.key, q, net.synapses[path.key], net.lava_delay(path))
        for name, layer in net.neurons.items():
            q = self.neurons.get(name)
            if q is None:
                raise ConfigError(f"no integer parameters for neuron layer {name!r}; quantize the whole graph")
            _check_neuron(name, q, layer.shape)


def _check_synapse(key: str, q: IntSynapse, synapse: Any, lava_delay: int) -> None:
    w = np.asarray(q.weight)
    if w.shape != synapse.weight.shape or not np.issubdtype(w.dtype, np.integer):
        raise ConfigError(f"path {key!r}: integer weight of shape {list(w.shape)}/{w.dtype}, expected integers "
                          f"of shape {list(synapse.weight.shape)}")
    if not np.array_equal(effective_weights(w), w):
        raise ConfigError(f"path {key!r}: weights are not 8-bit mantissas Lava keeps unchanged (mixed sign: even "
                          "values in [-256, 254]; one sign: |w| <= 255); round them with spec.effective_weights")
    if not 0 <= q.weight_exp <= WEIGHT_EXP_MAX or q.kind not in REALISATION_KINDS:
        raise ConfigError(f"path {key!r}: weight_exp={q.weight_exp} (0..{WEIGHT_EXP_MAX}) / kind={q.kind!r} "
                          f"({REALISATION_KINDS}) out of range")
    if q.kind == "conv" and (synapse.geometry() is None or lava_delay != 0):
        raise ConfigError(f"path {key!r}: kind='conv' needs a Conv2d that Lava's Conv can hold and no Lava delay; "
                          "use kind='matrix'")


def _check_neuron(name: str, q: IntNeuron, shape: tuple[int, ...]) -> None:
    checks = {"du": (q.du, 0, DECAY_UNIT - 1), "dv": (q.dv, 0, DECAY_UNIT - 1), "vth": (q.vth, 0, VTH_MAX),
              "bias_mant": (q.bias_mant, BIAS_MANT_MIN, BIAS_MANT_MAX), "bias_exp": (q.bias_exp, 0, BIAS_EXP_MAX)}
    for what, (value, lo, hi) in checks.items():
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < lo or arr.max() > hi:
            raise ConfigError(f"neuron layer {name!r}: {what} must be integers in [{lo}, {hi}], got "
                              f"[{arr.min()}, {arr.max()}]")
    if np.shape(q.bias_mant) != shape or np.shape(q.bias_exp) != shape:
        raise ConfigError(f"neuron layer {name!r}: bias_mant/bias_exp need the layer's shape {list(shape)}")


def quantize_input(int_net: IntNet, frames: Any, dtype: torch.dtype = torch.int64) -> tuple[Tensor, int]:
    """Graded integer input ``[T, B, *input_shape]`` (integer values, in ``dtype``: float32 holds every value of
    up to 16 graded-spike bits exactly) and how many values were clipped."""
    x = as_frames(frames, int_net.net)
    if int_net.input_quantum != 1.0:
        x = x / int_net.input_quantum
    hi = (1 << int_net.input_bits) - 1
    lo = -hi if int_net.input_signed else 0
    q = torch.round(x)
    if x.numel() and (float(q.min()) < lo or float(q.max()) > hi):
        clipped = int(((q < lo) | (q > hi)).sum())
        q = q.clamp(lo, hi)
    else:
        clipped = 0
    return q.to(dtype), clipped
