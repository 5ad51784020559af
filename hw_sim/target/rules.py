"""What the quantizer may choose, one :class:`Rules` value per use: plain Loihi, netx's file format, the QAT grid.

The quantizer (``target.quantize``) applies the target's rules once, from ``spec`` (8-bit weight mantissas,
13-bit bias mantissas, the exponents, ``vth << 6``). A format or a training grid only narrows what it may
choose, and each narrowing enters the quantizer twice: as a bound on a layer's scale (named in
``IntNeuron.limited_by``) and as the exponents its mantissa search may use. Nothing is re-quantized
afterwards.

- ``scales``: fixed scales (a QAT model's ``qat_scales``) instead of chosen ones;
- ``scale_rounding``: ``"exact"`` keeps the largest scale within every bound; ``"power_of_two"`` rounds it
  down to ``S = 2**k / gain`` (``S·gain`` a power of two: the QAT grid's, whose float steps are then powers
  of two). ``gains`` gives the gain per layer when it is not the graph's own (a QAT model's ``1/γ``, which
  its float32 NIR export only approximates). Fixed scales are never rounded;
- the largest ``weight_exp`` of a layer's dense and conv paths (netx: 0, its loader keeps 8-bit weights);
- a fixed ``bias_exp`` (netx: 6, its CUBA mapping fixes it);
- ``lower_fixed``: a fixed scale whose weights or bias need larger exponents than these is divided by the
  smallest power of two that fits (mantissas on a power-of-two grid keep their values, one binary point
  lower); otherwise it is kept and the bounds it exceeds are reported.

Named sets: ``RULES`` (``rules(name)``) holds ``loihi`` and ``netx``, the names the backend registry uses;
:func:`netx_rules` and :func:`qat_rules` build the parameterised ones.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Mapping

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds.synapses import Synapse
from spikinghash.hw_sim.spec import BIAS_EXP_MAX, WEIGHT_EXP_MAX

SCALE_ROUNDINGS = ("exact", "power_of_two")
NETX_BIAS_EXP = 6  # netx's CUBA mapping fixes bias_exp = 6 (hdf5.Network.get_neuron_params)


@dataclass(frozen=True)
class Rules:
    """What the quantizer may choose (module docstring); the defaults are plain Loihi."""

    name: str = "loihi"
    scales: Mapping[str, float] | None = None  # layer -> fixed S (every layer)
    scale_rounding: str = "exact"
    gains: Mapping[str, float] | None = None  # layer -> gain the power-of-two rounding uses (default: the graph's)
    dense_weight_exp_max: int = WEIGHT_EXP_MAX
    conv_weight_exp_max: int = WEIGHT_EXP_MAX
    bias_exp: int | None = None  # None: the smallest exponent that fits, per neuron
    lower_fixed: bool = False

    def __post_init__(self) -> None:
        exps = (self.dense_weight_exp_max, self.conv_weight_exp_max)
        if self.scale_rounding not in SCALE_ROUNDINGS or not all(0 <= e <= WEIGHT_EXP_MAX for e in exps) or \
                not (self.bias_exp is None or 0 <= self.bias_exp <= BIAS_EXP_MAX):
            raise ConfigError(f"rules {self.name!r}: scale_rounding {self.scale_rounding!r} (one of "
                              f"{SCALE_ROUNDINGS}), weight exponents {exps} (0..{WEIGHT_EXP_MAX}) and bias_exp "
                              f"{self.bias_exp} (0..{BIAS_EXP_MAX} or None) out of range")

    def weight_exp_max(self, synapse: Synapse) -> int:
        """The largest ``weight_exp`` a path through ``synapse`` may use (its kind says whether netx writes it as a
        dense or a conv layer: ``Synapse.netx_type``)."""
        return self.dense_weight_exp_max if synapse.netx_type == "dense" else self.conv_weight_exp_max

    @property
    def bias_exp_max(self) -> int:
        return BIAS_EXP_MAX if self.bias_exp is None else self.bias_exp

    def fixed(self, scales: Mapping[str, float] | None) -> Rules:
        """These rules with ``scales`` fixed (unchanged for None)."""
        return self if scales is None else dataclasses.replace(self, scales=dict(scales))


def power_of_two_below(scale: float, gain: float) -> float:
    """``2**floor(log2(S·gain)) / gain``: the scale ``scale_rounding="power_of_two"`` makes of a chosen S."""
    return 2.0 ** math.floor(math.log2(scale * gain)) / gain


LOIHI = Rules()


def netx_rules(wide_conv_weights: bool = False) -> Rules:
    """lava-dl netx's format: dense weights at exponent 0 (netx's loader keeps 8-bit weights), conv weights too
    unless ``wide_conv_weights`` (netx hands kernels to Lava's ``Conv`` as written: ``w << e`` is exact on the
    CPU, but only exponent 0 keeps the 8-bit weights slayer writes for Loihi), ``bias_exp = 6``; fixed scales
    are lowered by powers of two where they need more."""
    return Rules("netx", dense_weight_exp_max=0, conv_weight_exp_max=WEIGHT_EXP_MAX if wide_conv_weights else 0,
                 bias_exp=NETX_BIAS_EXP, lower_fixed=True)


def qat_rules(gains: Mapping[str, float] | None = None) -> Rules:
    """The QAT grid's: every chosen scale rounded down to a power of two over ``gains`` (default the graph's)."""
    return Rules("qat", scale_rounding="power_of_two", gains=None if gains is None else dict(gains))


RULES: dict[str, Rules] = {"loihi": LOIHI, "netx": netx_rules()}


def rules(name: str) -> Rules:
    """The named rule set; ConfigError naming the choices otherwise."""
    if name not in RULES:
        raise ConfigError(f"unknown quantizer rules {name!r}; choose one of {', '.join(RULES)}")
    return RULES[name]
