"""The NIR-expressible backbone: stem, stages of (downsample, blocks), a head neuron layer.

Every path between neuron layers is one projection (``neuromorphic_ops.Projection``); the
paper's float residual stream (Eqs. 4, 6, membrane shortcut) is the list of projections added
so far, and each layer that reads the stream sums their currents (NIR fan-in). Unlike the
paper backbone, the stream ends in a layer of spiking neurons (``head_sn``): in the canonical
form a weighted node (here the pooled hash ``Affine``) must read neurons, and one neuron
layer costs far fewer synapses than composing the pooled hash map with every projection of
the stream.
"""

from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.neuromorphic_config import NirArchCfg
from spikinghash.models.neuromorphic_graph import Layer, Wiring, run_layers
from spikinghash.models.neuromorphic_ops import INPUT, ConvBN, Projection
from spikinghash.models.neuromorphic_swm import NeuromorphicWaveMixer


class SpikingMLPPaths(nn.Module):
    """Eq. 5 as two projections: SN → Conv1×1+BN → SN → Conv1×1+BN → residual stream."""

    def __init__(self, wiring: Wiring, prefix: str, stream: Sequence[str], dim: int, hidden: int,
                 grid: tuple[int, int], neuron: LIFParams) -> None:
        super().__init__()
        self.sn1 = LIF(neuron)
        sn1 = wiring.layer(f"{prefix}.sn1", (dim, *grid), stream)
        self.fc1 = Projection(sn1, ConvBN(dim, hidden, 1))
        self.sn2 = LIF(neuron)
        sn2 = wiring.layer(f"{prefix}.sn2", (hidden, *grid), [wiring.project(f"{prefix}.fc1", self.fc1)])
        self.fc2 = Projection(sn2, ConvBN(hidden, dim, 1))
        self.outputs = (wiring.project(f"{prefix}.fc2", self.fc2),)


class WaveformerPaths(nn.Module):
    """A neuromorphic Spiking Waveformer block: X += SWM(X) (Eq. 4), X += MLP(X) (Eq. 6)."""

    def __init__(self, wiring: Wiring, prefix: str, stream: Sequence[str], arch: NirArchCfg, dim: int,
                 grid: tuple[int, int]) -> None:
        super().__init__()
        self.swm = NeuromorphicWaveMixer(
            wiring, f"{prefix}.swm", stream, dim, *grid, levels=arch.dwt_levels, groups=arch.mixer_groups,
            entry_neuron=arch.neuron, neuron=arch.swm_neuron,
        )
        hidden = int(round(dim * arch.mlp_ratio))
        self.mlp = SpikingMLPPaths(wiring, f"{prefix}.mlp", [*stream, *self.swm.outputs], dim, hidden, grid,
                                   arch.neuron)
        self.outputs = self.swm.outputs + self.mlp.outputs


class DownsamplePaths(nn.Module):
    """[SN; Conv 3×3 with stride 1 or 2; BN] (Table I, stride 2 in place of the max-pool)."""

    def __init__(self, wiring: Wiring, prefix: str, stream: Sequence[str], in_shape: tuple[int, int, int],
                 out_dim: int, stride: int, neuron: LIFParams) -> None:
        super().__init__()
        self.sn = LIF(neuron)
        sn = wiring.layer(f"{prefix}.sn", in_shape, stream)
        self.conv = Projection(sn, ConvBN(in_shape[0], out_dim, 3, stride))
        self.outputs = (wiring.project(f"{prefix}.conv", self.conv),)


class NeuromorphicStage(nn.Module):
    """One stage: ``down`` then ``blocks``."""

    def __init__(self, down: DownsamplePaths, blocks: Sequence[WaveformerPaths]) -> None:
        super().__init__()
        self.down = down
        self.blocks = nn.ModuleList(blocks)


class NeuromorphicBackbone(nn.Module):
    """``[T, B, in_channels, H, W]`` -> spikes of ``head_sn`` ``[T, B, D_last, h, w]``.

    Attributes:
        layers: every neuron population (paths relative to this module) in topological order,
            with the projections that feed it; the NIR exporter translates exactly this.
        input_shape: ``(in_channels, H, W)`` of one input frame.
        out_dim, out_grid: channels and ``(h, w)`` of ``head_sn``.
    """

    def __init__(self, arch: NirArchCfg, in_channels: int, height: int, width: int) -> None:
        super().__init__()
        wiring = Wiring()
        self.input_shape = (in_channels, height, width)
        wiring.add_input(self.input_shape)
        self.stem = Projection(INPUT, ConvBN(in_channels, arch.stem_dim, 3))
        stream: list[str] = [wiring.project("stem", self.stem)]
        shape = (arch.stem_dim, height, width)
        stages = []
        for i, cfg in enumerate(arch.stages):
            down = DownsamplePaths(wiring, f"stages.{i}.down", stream, shape, cfg.dim, cfg.stride, arch.neuron)
            # Conv 3×3, padding 1: stride 2 gives ceil(n/2), the grid of the paper's max-pool.
            grid = (-(-shape[1] // cfg.stride), -(-shape[2] // cfg.stride))
            stream = list(down.outputs)
            blocks = []
            for b in range(cfg.depth):
                block = WaveformerPaths(wiring, f"stages.{i}.blocks.{b}", stream, arch, cfg.dim, grid)
                stream += block.outputs
                blocks.append(block)
            stages.append(NeuromorphicStage(down, blocks))
            shape = (cfg.dim, *grid)
        self.stages = nn.ModuleList(stages)
        self.head_sn = LIF(arch.neuron)
        wiring.layer("head_sn", shape, stream)
        self.layers: tuple[Layer, ...] = tuple(wiring.layers)
        self.out_dim = shape[0]
        self.out_grid = (shape[1], shape[2])

    def forward(self, x: Tensor) -> Tensor:
        """``x: [T, B, C, H, W]`` float -> ``head_sn`` spikes ``[T, B, D_last, h, w]``."""
        return run_layers(self, self.layers, x)
