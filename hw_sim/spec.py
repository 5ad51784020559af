"""The Loihi-like integer target, described once: every bit width, rounding, wrap and clipping rule.

Everything else reads this module: the neuron kernel (``kinds/lif_kernel``), the synapses' fixed-point
step (``kinds/synapses``), the quantizer and the QAT grid (``target/``), the three backends
(``backends/``) and the energy models (``spikinghash.energy``). The facts are those of Lava's
bit-accurate models (``lava/proc/lif/models.py``, ``lava/proc/dense/models.py``,
``lava/proc/conv/models.py``, ``lava/utils/weightutils.py``), read from the installed lava-nc 0.10:

==================  ==========================================================================
quantity            rule
==================  ==========================================================================
u, v                signed 24 bit; u wraps (one step of 2**24), v saturates at ±(2**23 − 1)
du, dv              unsigned 12 bit; a decay multiplies by ``(4096 − d) / 4096`` and truncates
                    toward zero (``sign(p)·(|p| >> 12)``)
vth                 unsigned 17 bit, compared as ``v > vth << 6``
a_in                the int32 sum of the input ports, shifted ``<< 6`` into u
bias                ``bias_mant << bias_exp``: signed 13-bit mantissa, unsigned 3-bit exponent
weights             8-bit mantissas ``<< weight_exp`` (exponent 0..7); the sign mode takes one bit
                    of a mixed-sign layer (even values in [−256, 254]); one-signed layers use all 8
                    (``[0, 255]`` or ``[−255, 0]``); Lava clips, then truncates (:func:`effective_weights`)
Dense/Sparse out    ``wrap32(Σ w·x << weight_exp)`` (the int32 output port)
Conv out            the sum cast to int32, then wrapped at 24 bits
graded input        ``num_message_bits`` up to 16 bits per value
synaptic delay      6 bits (at most 63 steps beyond the one every synapse adds)
Conv geometry       kernel size, stride, padding, dilation and groups held as int8
==================  ==========================================================================

The module constants below are plain ints so that the compiled LIF loop (numba) reads them as
compile-time constants; :func:`describe` lists them for reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STATE_BITS = 24  # u, v: signed
UV_MAX = 1 << (STATE_BITS - 1)  # u wraps at ±UV_MAX; v saturates at ±(UV_MAX − 1)
DECAY_BITS = 12  # du, dv: unsigned; decays are MSB-aligned to 2**12
DECAY_UNIT = 1 << DECAY_BITS
VTH_BITS = 17  # vth: unsigned
VTH_MAX = (1 << VTH_BITS) - 1
VTH_SHIFT = 6  # vth is compared as vth << 6 with the 24-bit v
ACT_SHIFT = 6  # a_in << 6 lands in u
BIAS_MANT_BITS = 13  # bias_mant: signed
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << (BIAS_MANT_BITS - 1)), (1 << (BIAS_MANT_BITS - 1)) - 1
BIAS_EXP_BITS = 3  # bias_exp: unsigned
BIAS_EXP_MAX = (1 << BIAS_EXP_BITS) - 1
WEIGHT_BITS = 8  # weight mantissas (the sign mode decides the range)
WEIGHT_EXP_MAX = 7  # weight_exp: 0..7
DRIVE_BITS = 32  # a_in and the synapses' output ports: int32
CONV_OUT_BITS = 24  # Lava's Conv (PyConvModelFixed) wraps its output at 24 bits (signed_clamp)
CONV_WRAP = 1 << (CONV_OUT_BITS - 1)
INPUT_BITS_MAX = 16  # graded spikes (num_message_bits) of the input
DELAY_BITS = 6  # synaptic delays (DelayDense / DelaySparse) beyond the one step every synapse adds
MAX_DELAY = (1 << DELAY_BITS) - 1
CONV_FIELD_MAX = 127  # Lava's Conv holds kernel size, stride, padding, dilation and groups as int8
NEURON_STATE_VARS = 2  # u (current) and v (voltage) per neuron

SIGN_MODES = ("mixed", "excitatory", "inhibitory")


def sign_mode(values: np.ndarray) -> str:
    """Lava's ``determine_sign_mode``: "excitatory" if all >= 0, "inhibitory" if all <= 0, else "mixed"."""
    values = np.asarray(values)
    if values.size == 0 or values.min() >= 0:
        return "excitatory"
    return "inhibitory" if values.max() <= 0 else "mixed"


def weight_range(mode: str) -> tuple[int, int]:
    """The integer weight values (before ``<< weight_exp``) an 8-bit mantissa of sign ``mode`` holds unchanged:
    mixed ``[−256, 254]`` (even values only: the sign takes one bit), excitatory ``[0, 255]``, inhibitory
    ``[−255, 0]``."""
    top = (1 << WEIGHT_BITS) - 1
    return {"mixed": (-(1 << WEIGHT_BITS), top - 1), "excitatory": (0, top), "inhibitory": (-top, 0)}[mode]


def weight_step(mode: str) -> int:
    """The spacing of the values of :func:`weight_range` (2 for mixed sign, 1 otherwise)."""
    return 2 if mode == "mixed" else 1


def effective_weights(values: np.ndarray, num_weight_bits: int = WEIGHT_BITS) -> np.ndarray:
    """What Lava's bit-accurate Dense/Sparse make of integer weights: ``clip_weights`` to 8 bits for the sign
    mode, then ``truncate_weights`` to ``num_weight_bits`` (the sign bit of a mixed layer dropped), int64."""
    mode = sign_mode(values)
    w = np.asarray(values).astype(np.int64)
    if mode == "inhibitory":
        w = -w
    lo = -(1 << WEIGHT_BITS) if mode == "mixed" else 0
    w = np.clip(w, lo, (1 << WEIGHT_BITS) - 1)
    shift = WEIGHT_BITS - num_weight_bits + (mode == "mixed")
    w = (w >> shift) << shift
    return -w if mode == "inhibitory" else w


def wrap(x: Any, bits: int) -> Any:
    """Two's-complement wrap of integers (Python, numpy or torch int64) to ``bits`` bits."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def decay(x: int, factor: int) -> int:
    """``trunc(x · factor / 4096)`` toward zero, as Lava's ``sign(p) · (|p| >> 12)`` (one Python or numba int)."""
    p = x * factor
    return (p >> DECAY_BITS) if p >= 0 else -((-p) >> DECAY_BITS)


def describe() -> dict[str, Any]:
    """Every width and limit of the target, for reports (plain JSON values)."""
    return {"state_bits": STATE_BITS, "decay_bits": DECAY_BITS, "vth_bits": VTH_BITS, "vth_shift": VTH_SHIFT,
            "act_shift": ACT_SHIFT, "bias_mant_bits": BIAS_MANT_BITS, "bias_exp_bits": BIAS_EXP_BITS,
            "weight_bits": WEIGHT_BITS, "weight_exp_max": WEIGHT_EXP_MAX, "drive_bits": DRIVE_BITS,
            "conv_out_bits": CONV_OUT_BITS, "input_bits_max": INPUT_BITS_MAX, "delay_bits": DELAY_BITS,
            "decay_rounding": "toward zero", "v_overflow": "saturate", "u_overflow": "wrap"}
