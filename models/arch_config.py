"""Architecture settings as small frozen dataclasses, and the Spikinghash series (Table I).

A model is ``ArchCfg`` plus the data-dependent build arguments (``in_channels``,
``img_size``, ``T``, ``bits``, ``num_classes``). New variants (an ablation, a
neuromorphic profile) are new ``ArchCfg`` values, not new code.

Where Table I is silent we chose (and the parameter counts of Tables II/III support):
one block per listed stage; MLP ratio 4; stem width = last stage width / 8 (Spikingformer's
tokenizer convention); Ti's stage 1 and 3 widths 64 and 256 (Spikingformer-2-256 tokenizer).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from spikinghash.errors import ConfigError
from spikinghash.models.hash_heads import HASH_NEURON
from spikinghash.models.lif import LIFParams
from spikinghash.models.spiking_attention import ATTN_NEURON
from spikinghash.models.wave_mixer import SWM_NEURON

#: Block kinds (see ``models/blocks.py``): 3D SWM, 2D SWM (Table XI), SSA.
BLOCK_KINDS = ("swm", "swm2d", "ssa")
SWM_KINDS = ("swm", "swm2d")


@dataclass(frozen=True)
class StageCfg:
    """One stage: a downsample layer [SN; Conv 3×3; BN; MP if ``maxpool``], then blocks.

    Attributes:
        dim: channels of the stage (D_i in Table I).
        depth: number of blocks (0 for Ti's "-" stages, which only downsample).
        block: one of :data:`BLOCK_KINDS`.
        maxpool: max-pool 3×3, stride 2, padding 1 after the convolution (halves H, W).
    """

    dim: int
    depth: int = 1
    block: str = "ssa"
    maxpool: bool = False

    def __post_init__(self) -> None:
        if self.dim < 1 or self.depth < 0:
            raise ConfigError(f"stage dim={self.dim}, depth={self.depth}; need dim >= 1 and depth >= 0")
        if self.block not in BLOCK_KINDS:
            raise ConfigError(f"unknown block kind {self.block!r}; use one of {BLOCK_KINDS}")


@dataclass(frozen=True)
class ArchCfg:
    """Everything about a model that does not depend on the data.

    Attributes:
        stem_dim: output channels of the stem (Conv 3×3, stride 1, + BN).
        stages: the stages in order.
        mlp_ratio: hidden width of every MLP (Eq. 5) as a multiple of the stage width.
        head_dim: channels per SSA head (heads = dim // head_dim).
        attn_scale: SSA scaling factor s (Eq. 14), Spikingformer's 0.125.
        dwt_levels: levels of the SWM wavelet transform (paper: 2).
        mixer_groups: channel-mixer groups N (Eqs. 11–12).
        neuron: neurons reading the float residual stream or a batch norm.
        swm_neuron: neurons inside the SWM (on wavelet coefficients and mixer outputs).
        attn_neuron: the neuron after Q Kᵀ V (Eq. 14); Spikingformer uses v_th = 0.5.
        hash_neuron: the hash-layer neurons (Eq. 18).
        hash_bn: batch norm between the hash layer's Linear and its neurons (not in Eq. 18;
            on by default, measured in ``SpikingHashHead``); ``False`` gives the paper's literal layer.
    """

    stem_dim: int
    stages: tuple[StageCfg, ...]
    mlp_ratio: float = 4.0
    head_dim: int = 32
    attn_scale: float = 0.125
    dwt_levels: int = 2
    mixer_groups: int = 8
    neuron: LIFParams = LIFParams()
    swm_neuron: LIFParams = SWM_NEURON
    attn_neuron: LIFParams = ATTN_NEURON
    hash_neuron: LIFParams = HASH_NEURON
    hash_bn: bool = True

    def __post_init__(self) -> None:
        if self.stem_dim < 1 or not self.stages:
            raise ConfigError("an architecture needs stem_dim >= 1 and at least one stage")
        if self.mlp_ratio <= 0 or self.head_dim < 1 or self.dwt_levels < 1 or self.mixer_groups < 1:
            raise ConfigError(
                f"mlp_ratio={self.mlp_ratio}, head_dim={self.head_dim}, dwt_levels={self.dwt_levels}, "
                f"mixer_groups={self.mixer_groups}: all must be positive"
            )


def arch_from_dict(data: dict[str, Any]) -> ArchCfg:
    """Inverse of ``dataclasses.asdict`` on an :class:`ArchCfg` (e.g. read back from JSON)."""
    fields = dict(data)
    fields["stages"] = tuple(StageCfg(**stage) for stage in fields["stages"])
    for name in ("neuron", "swm_neuron", "attn_neuron", "hash_neuron"):
        if name in fields:
            fields[name] = LIFParams(**fields[name])
    try:
        return ArchCfg(**fields)
    except TypeError as err:
        raise ConfigError(f"not an architecture description ({err}); pass the 'arch' entry of a saved config") from None


def replace_blocks(arch: ArchCfg, old: str, new: str) -> ArchCfg:
    """The same architecture with every ``old`` block kind swapped for ``new``."""
    stages = tuple(dataclasses.replace(s, block=new) if s.block == old else s for s in arch.stages)
    return dataclasses.replace(arch, stages=stages)


def two_d_swm(arch: ArchCfg) -> ArchCfg:
    """Table XI ablation "2D-SWM": 2D DWT in the SWM, no time axis in its weights."""
    return replace_blocks(arch, "swm", "swm2d")


def all_ssa(arch: ArchCfg) -> ArchCfg:
    """Table XII ablation "all-SSA": SSA blocks in stages 1–2 as well."""
    return replace_blocks(arch, "swm", "ssa")


def _series(stem: int, dims: tuple[int, int, int, int], depths: tuple[int, int, int, int], early_mp: bool) -> ArchCfg:
    """Table I layout: SWM in stages 1–2, SSA in 3–4, MP always in 3–4, in 1–2 if ``early_mp``."""
    kinds = ("swm", "swm", "ssa", "ssa")
    pools = (early_mp, early_mp, True, True)
    return ArchCfg(
        stem_dim=stem,
        stages=tuple(StageCfg(d, n, k, p) for d, n, k, p in zip(dims, depths, kinds, pools)),
    )


SPIKINGHASH_TI = _series(32, (64, 128, 256, 256), (0, 1, 0, 1), early_mp=True)
SPIKINGHASH_S = _series(48, (96, 192, 192, 384), (1, 1, 1, 1), early_mp=False)
SPIKINGHASH_M = _series(48, (96, 192, 384, 384), (1, 1, 1, 1), early_mp=False)
SPIKINGHASH_L = _series(64, (128, 256, 384, 512), (1, 1, 1, 1), early_mp=True)
SPIKINGHASH_XL = _series(64, (128, 256, 512, 512), (1, 1, 1, 1), early_mp=True)


def spikingformer_arch(dim: int, depth: int, maxpools: int) -> ArchCfg:
    """Spikingformer(-CML)-``depth``-``dim``: its tokenizer (widths D/8, D/4, D/2, D, D; the
    last conv is its relative position embedding), then ``depth`` SSA blocks at width D.

    ``maxpools`` max-pools go on the last downsample layers that are not the last one
    (at most 3 of them), plus on the last one only when 4 are asked for.
    """
    if dim % 8:
        raise ConfigError(f"Spikingformer width {dim} must be a multiple of 8 (the stem has D/8 channels)")
    dims = (dim // 4, dim // 2, dim, dim)
    pools = tuple(i >= 3 - maxpools for i in range(3)) + (maxpools >= 4,)
    depths = (0, 0, 0, depth)
    return ArchCfg(
        stem_dim=dim // 8,
        stages=tuple(StageCfg(d, n, "ssa", p) for d, n, p in zip(dims, depths, pools)),
    )
