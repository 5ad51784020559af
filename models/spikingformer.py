"""Spikingformer-style baseline (the paper's Spikingformer-CML comparison), registered.

The same backbone machinery as Spikinghash with SSA blocks only, after Spikingformer's
tokenizer, and the same hash layer (the paper ran Spikingformer-CML "with a hash layer
consistent with Spikinghash").
"""

from __future__ import annotations

import math
from typing import Any

from spikinghash.models.arch_config import spikingformer_arch
from spikinghash.models.hash_net import ImgSize, SpikingHashNet, build_hash_net
from spikinghash.models.factory import register_model


def _maxpools_for(img_size: ImgSize) -> int:
    """Max-pools that bring the shorter side to about 8 (Spikingformer: 32 -> 8 with 2,
    128 -> 8 with 4), between 0 and 4."""
    side = img_size if isinstance(img_size, int) else min(img_size)
    return max(0, min(4, round(math.log2(max(side, 1) / 8))))


@register_model
def spikingformer(*, img_size: ImgSize = 32, embed_dim: int = 256, depth: int = 2, **kwargs: Any) -> SpikingHashNet:
    """Spikingformer-``depth``-``embed_dim`` with the spiking hash layer.

    Defaults to the small 2-256 configuration (Spikingformer's DVS setting); the paper's
    CIFAR10 comparison is ``embed_dim=384, depth=4`` (9.32 M parameters there).
    """
    arch = spikingformer_arch(embed_dim, depth, _maxpools_for(img_size))
    return build_hash_net(arch, img_size=img_size, **kwargs)
