"""Architecture settings of the neuromorphic (NIR-expressible) profile of Spikinghash.

A profile keeps the paper model's widths, depths, MLP ratio, DWT levels, mixer groups and
neurons (Table I, ``arch_config.py``), and changes only what a Loihi-class target cannot run:

* a max-pool after a downsample convolution becomes stride 2 of that convolution (same
  output grid, ``ceil(n/2)``);
* every block, including the paper's Spiking Transformer blocks of stages 3–4, is a
  neuromorphic Spiking Waveformer block (no Q·Kᵀ·V product of two spike tensors).

The neurons must reset to 0 (``v_reset = 0``), which the NIR mapping of the deployment
contract requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spikinghash.errors import ConfigError
from spikinghash.models.arch_config import ArchCfg
from spikinghash.models.hash_heads import HASH_NEURON
from spikinghash.models.lif import LIFParams
from spikinghash.models.wave_mixer import SWM_NEURON

_NEURON_FIELDS = ("neuron", "swm_neuron", "hash_neuron")


@dataclass(frozen=True)
class NirStageCfg:
    """One stage: a downsample layer [SN; Conv 3×3 with ``stride``; BN], then ``depth`` blocks.

    Attributes:
        dim: channels of the stage.
        depth: number of neuromorphic Waveformer blocks (0: the stage only downsamples).
        stride: 1, or 2 where the paper has a max-pool (halves H and W, rounding up).
    """

    dim: int
    depth: int = 1
    stride: int = 1

    def __post_init__(self) -> None:
        if self.dim < 1 or self.depth < 0 or self.stride not in (1, 2):
            raise ConfigError(
                f"stage dim={self.dim}, depth={self.depth}, stride={self.stride}; "
                "need dim >= 1, depth >= 0 and stride 1 or 2"
            )


@dataclass(frozen=True)
class NirArchCfg:
    """Everything about a neuromorphic profile that does not depend on the data.

    Attributes:
        stem_dim: output channels of the stem (Conv 3×3 + BN on the input frames).
        stages: the stages in order.
        mlp_ratio: hidden width of every MLP (Eq. 5) relative to the stage width.
        dwt_levels: levels J of the undecimated 3D Haar transform in each mixer.
        mixer_groups: channel-mixer groups N (Eqs. 11–12).
        neuron: neurons reading the residual stream (block entries, MLP, downsample, head).
        swm_neuron: neurons inside the mixer (on Haar coefficients and mixer outputs).
        hash_neuron: the hash-layer neurons (Eq. 18).
        hash_bn: batch norm between the hash layer's linear map and its neurons (folded into
            the exported ``Affine``).
    """

    stem_dim: int
    stages: tuple[NirStageCfg, ...]
    mlp_ratio: float = 4.0
    dwt_levels: int = 2
    mixer_groups: int = 8
    neuron: LIFParams = LIFParams()
    swm_neuron: LIFParams = SWM_NEURON
    hash_neuron: LIFParams = HASH_NEURON
    hash_bn: bool = True

    def __post_init__(self) -> None:
        if self.stem_dim < 1 or not self.stages:
            raise ConfigError("an architecture needs stem_dim >= 1 and at least one stage")
        if self.mlp_ratio <= 0 or self.dwt_levels < 1 or self.mixer_groups < 1:
            raise ConfigError(
                f"mlp_ratio={self.mlp_ratio}, dwt_levels={self.dwt_levels}, "
                f"mixer_groups={self.mixer_groups}: all must be positive"
            )
        for name in _NEURON_FIELDS:
            params: LIFParams = getattr(self, name)
            if params.v_reset != 0.0:
                raise ConfigError(
                    f"{name}.v_reset = {params.v_reset}: a NIR-exportable neuron resets to 0 "
                    "(Loihi resets v to 0); use v_reset=0.0"
                )


def nir_profile(arch: ArchCfg) -> NirArchCfg:
    """The neuromorphic profile of a paper architecture (see the module docstring)."""
    return NirArchCfg(
        stem_dim=arch.stem_dim,
        stages=tuple(NirStageCfg(s.dim, s.depth, 2 if s.maxpool else 1) for s in arch.stages),
        mlp_ratio=arch.mlp_ratio,
        dwt_levels=arch.dwt_levels,
        mixer_groups=arch.mixer_groups,
        neuron=arch.neuron,
        swm_neuron=arch.swm_neuron,
        hash_neuron=arch.hash_neuron,
        hash_bn=arch.hash_bn,
    )


def nir_arch_from_dict(data: dict[str, Any]) -> NirArchCfg:
    """Inverse of ``dataclasses.asdict`` on a :class:`NirArchCfg` (e.g. read back from JSON)."""
    fields = dict(data)
    try:
        fields["stages"] = tuple(NirStageCfg(**stage) for stage in fields["stages"])
        for name in _NEURON_FIELDS:
            if name in fields:
                fields[name] = LIFParams(**fields[name])
        return NirArchCfg(**fields)
    except (TypeError, KeyError) as err:
        raise ConfigError(
            f"not a neuromorphic architecture description ({err}); pass the 'arch' entry of a "
            "saved *_nir model config"
        ) from None
