"""The hierarchical spiking backbone (paper Sec. III-B, Fig. 2): stem, then four stages."""

from __future__ import annotations

from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.arch_config import SWM_KINDS, ArchCfg
from spikinghash.models.blocks import BLOCKS, BlockSite
from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.time_folded import TimeFolded


def _halve(n: int) -> int:
    """Output size of a 3×3, stride 2, padding 1 max-pool."""
    return (n + 1) // 2


def plan_sites(arch: ArchCfg, T: int, height: int, width: int) -> list[BlockSite]:
    """Input extent of every stage's blocks, checked against what the blocks need.

    Raises:
        ConfigError: ``T`` or the image size cannot be split by a stage's wavelet transform.
    """
    step = 2**arch.dwt_levels
    sites, bad, need = [], [], 1
    h, w, pools = height, width, 0
    for i, stage in enumerate(arch.stages, start=1):
        if stage.maxpool:
            h, w, pools = _halve(h), _halve(w), pools + 1
        sites.append(BlockSite(stage.dim, T, h, w))
        if not (stage.depth and stage.block in SWM_KINDS):
            continue
        # A side that is a multiple of step * 2**pools keeps this grid a multiple of step.
        need = max(need, step * 2**pools)
        if h % step or w % step:
            bad.append(f"{h}x{w} at stage {i}")
        if stage.block == "swm" and T % step:
            raise ConfigError(
                f"T = {T} time steps is not divisible by {step}, which the 3D Spiking WaveMixer's "
                f"{arch.dwt_levels}-level DWT along time needs; use T a multiple of {step} "
                "(or a *_2dswm model)"
            )
    if bad:
        raise ConfigError(
            f"img_size {height}x{width} gives grid(s) {', '.join(bad)}, where the Spiking WaveMixer's "
            f"{arch.dwt_levels}-level DWT needs multiples of {step}; use an img_size that is a "
            f"multiple of {need}"
        )
    return sites


def downsample(in_dim: int, out_dim: int, maxpool: bool, neuron: LIFParams) -> nn.Sequential:
    """[SN; Conv 3×3 stride 1; BN; MP 3×3 stride 2] (Table I), ``[T, B, C, H, W]`` in and out."""
    layers: list[nn.Module] = [nn.Conv2d(in_dim, out_dim, 3, padding=1, bias=False), nn.BatchNorm2d(out_dim)]
    if maxpool:
        layers.append(nn.MaxPool2d(3, stride=2, padding=1))
    return nn.Sequential(LIF(neuron), TimeFolded(*layers))


class SpikingBackbone(nn.Module):
    """Stem [Conv 3×3 + BN] then stages of (downsample, blocks).

    ``[T, B, in_channels, H, W]`` (float frames or event counts) -> ``[T, B, D_last, h, w]``
    float (the residual stream; no neuron at the end).
    """

    def __init__(self, arch: ArchCfg, in_channels: int, T: int, height: int, width: int) -> None:
        super().__init__()
        sites = plan_sites(arch, T, height, width)
        self.stem = TimeFolded(
            nn.Conv2d(in_channels, arch.stem_dim, 3, padding=1, bias=False), nn.BatchNorm2d(arch.stem_dim)
        )
        stages = []
        in_dim = arch.stem_dim
        for stage, site in zip(arch.stages, sites):
            blocks = [BLOCKS[stage.block](arch, site) for _ in range(stage.depth)]
            stages.append(nn.Sequential(downsample(in_dim, stage.dim, stage.maxpool, arch.neuron), *blocks))
            in_dim = stage.dim
        self.stages = nn.Sequential(*stages)
        self.out_dim = in_dim
        self.out_grid = (sites[-1].height, sites[-1].width)

    def forward(self, x: Tensor) -> Tensor:
        return self.stages(self.stem(x))
