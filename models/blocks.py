"""The two residual block types (paper Eqs. 4, 6, 15, 16) and a table to build them by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import Tensor, nn

from spikinghash.models.arch_config import ArchCfg
from spikinghash.models.spiking_attention import SpikingSelfAttention
from spikinghash.models.spiking_mlp import SpikingMLP
from spikinghash.models.wave_mixer import SpikingWaveMixer


@dataclass(frozen=True)
class BlockSite:
    """Where a block sits: its width and the ``[T, C, H, W]`` extent of its input."""

    dim: int
    T: int
    height: int
    width: int


class MixerBlock(nn.Module):
    """X = X + Mixer(X) (Eq. 4 with SWM, Eq. 15 with SSA); X = X + MLP(X) (Eqs. 6, 16).

    The residual stream stays float (membrane-shortcut style); each branch starts with a
    spiking neuron. ``[T, B, C, H, W] -> [T, B, C, H, W]``.
    """

    def __init__(self, mixer: nn.Module, mlp: SpikingMLP) -> None:
        super().__init__()
        self.mixer = mixer
        self.mlp = mlp

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.mixer(x)
        return x + self.mlp(x)


def _mlp(arch: ArchCfg, dim: int) -> SpikingMLP:
    return SpikingMLP(dim, int(round(dim * arch.mlp_ratio)), arch.neuron)


def _waveformer(arch: ArchCfg, site: BlockSite, temporal: bool) -> MixerBlock:
    swm = SpikingWaveMixer(
        site.dim, site.T, site.height, site.width,
        levels=arch.dwt_levels, temporal=temporal, groups=arch.mixer_groups,
        entry_neuron=arch.neuron, neuron=arch.swm_neuron,
    )
    return MixerBlock(swm, _mlp(arch, site.dim))


def _transformer(arch: ArchCfg, site: BlockSite) -> MixerBlock:
    heads = max(1, site.dim // arch.head_dim)
    ssa = SpikingSelfAttention(site.dim, heads, arch.attn_scale, arch.neuron, arch.attn_neuron)
    return MixerBlock(ssa, _mlp(arch, site.dim))


#: Block kinds by the name used in :class:`~spikinghash.models.arch_config.StageCfg`.
BLOCKS: dict[str, Callable[[ArchCfg, BlockSite], MixerBlock]] = {
    "swm": lambda arch, site: _waveformer(arch, site, temporal=True),   # Waveformer Block, 3D DWT
    "swm2d": lambda arch, site: _waveformer(arch, site, temporal=False),  # Table XI, 2D DWT
    "ssa": _transformer,                                                  # Transformer Block
}
