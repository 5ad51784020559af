"""Registered Spikinghash variants: Table I sizes, 2D-SWM (Table XI), all-SSA (Table XII).

Every builder takes ``in_channels`` (default 3), ``img_size`` (32), ``T`` (4),
``bits`` (64), ``num_classes`` (10), ``hash_head`` (``"spiking"`` for Eq. 18 or
``"sgn"`` for Eq. 17) and any :class:`~spikinghash.models.arch_config.ArchCfg` field as
an override. The paper's settings: S and M on CIFAR10 (3 channels, 32×32, T=4); Ti on
CIFAR10-DVS / DVS128 Gesture (2 channels, 128×128, T=16); M, L, XL on UCF101-DVS,
HMDB51-DVS, HARDVS (2 channels, T=8).
"""

from __future__ import annotations

from typing import Any

from spikinghash.models.arch_config import (
    SPIKINGHASH_L,
    SPIKINGHASH_M,
    SPIKINGHASH_S,
    SPIKINGHASH_TI,
    SPIKINGHASH_XL,
    all_ssa,
    two_d_swm,
)
from spikinghash.models.hash_net import SpikingHashNet, build_hash_net
from spikinghash.models.factory import register_model


@register_model
def spikinghash_ti(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-Ti (Table I)."""
    return build_hash_net(SPIKINGHASH_TI, **kwargs)


@register_model
def spikinghash_s(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-S (Table I)."""
    return build_hash_net(SPIKINGHASH_S, **kwargs)


@register_model
def spikinghash_m(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-M (Table I)."""
    return build_hash_net(SPIKINGHASH_M, **kwargs)


@register_model
def spikinghash_l(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-L (Table I)."""
    return build_hash_net(SPIKINGHASH_L, **kwargs)


@register_model
def spikinghash_xl(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-XL (Table I)."""
    return build_hash_net(SPIKINGHASH_XL, **kwargs)


@register_model
def spikinghash_ti_2dswm(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-Ti with 2D-SWM (Table XI ablation)."""
    return build_hash_net(two_d_swm(SPIKINGHASH_TI), **kwargs)


@register_model
def spikinghash_s_2dswm(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-S with 2D-SWM (Table XI ablation)."""
    return build_hash_net(two_d_swm(SPIKINGHASH_S), **kwargs)


@register_model
def spikinghash_m_2dswm(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-M with 2D-SWM (Table XI ablation)."""
    return build_hash_net(two_d_swm(SPIKINGHASH_M), **kwargs)


@register_model
def spikinghash_l_2dswm(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-L with 2D-SWM (Table XI ablation)."""
    return build_hash_net(two_d_swm(SPIKINGHASH_L), **kwargs)


@register_model
def spikinghash_xl_2dswm(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-XL with 2D-SWM (Table XI ablation, the paper's setting)."""
    return build_hash_net(two_d_swm(SPIKINGHASH_XL), **kwargs)


@register_model
def spikinghash_ti_allssa(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-Ti with SSA instead of SWM (Table XII ablation)."""
    return build_hash_net(all_ssa(SPIKINGHASH_TI), **kwargs)


@register_model
def spikinghash_s_allssa(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-S with SSA instead of SWM (Table XII ablation)."""
    return build_hash_net(all_ssa(SPIKINGHASH_S), **kwargs)


@register_model
def spikinghash_m_allssa(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-M with SSA instead of SWM (Table XII ablation, the paper's setting)."""
    return build_hash_net(all_ssa(SPIKINGHASH_M), **kwargs)


@register_model
def spikinghash_l_allssa(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-L with SSA instead of SWM (Table XII ablation)."""
    return build_hash_net(all_ssa(SPIKINGHASH_L), **kwargs)


@register_model
def spikinghash_xl_allssa(**kwargs: Any) -> SpikingHashNet:
    """Spikinghash-XL with SSA instead of SWM (Table XII ablation)."""
    return build_hash_net(all_ssa(SPIKINGHASH_XL), **kwargs)
