"""Neuromorphic profiles of Spikinghash: ``spikinghash_ti_nir``, ``spikinghash_s_nir``.

Every operation maps onto the NIR node set of the deployment contract in its canonical form
(every path between neuron layers is ``[Flatten] → [Delay] → one weighted node``):

* stem and downsample: Conv 3×3 + BN (BN folded at export); stride 2 replaces the max-pool;
* blocks: the neuromorphic Spiking Waveformer (``neuromorphic_swm.py``: causal undecimated
  3D Haar transform from fixed convolutions and ``Delay`` nodes, time-invariant Hadamard
  mixers, grouped channel mixers) and the MLP of Eq. 5, in every stage (no SSA);
* residual additions: fan-in of currents into the next neurons;
* head: a neuron layer on the residual stream, global average pooling, the hash ``Linear``
  and its BN — one ``Affine`` after export (pooling = weights repeated over positions / HW)
  — then the hash LIF neurons; the code is the AND of their spikes over the T steps (Eq. 18).

The classification layer (on the code, or on the pooled features with
``classifier_input="features"``) only serves training (Eq. 23) and evaluation; it is not exported.
The models train with the same trainer and losses as the paper models: they are
:class:`SpikingHashNet` s whose forward (pooling, hash layer, classifier) is inherited.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from spikinghash.errors import ConfigError
from spikinghash.models.arch_config import SPIKINGHASH_S, SPIKINGHASH_TI
from spikinghash.models.hash_heads import SpikingHashHead
from spikinghash.models.hash_net import (ImgSize, SpikingHashNet, _image_size, _positive_int, check_classifier_input,
                                         classifier_width)
from spikinghash.models.neuromorphic_backbone import NeuromorphicBackbone
from spikinghash.models.neuromorphic_config import NirArchCfg, NirStageCfg, nir_arch_from_dict, nir_profile
from spikinghash.models.factory import register_model


class NeuromorphicHashNet(SpikingHashNet):
    """A :class:`SpikingHashNet` whose backbone is NIR-expressible (see the module docstring).

    ``x: [T, B, in_channels, H, W]`` -> ``HashOutput(code, mem, logits)``. The network has no
    time-dependent weight, so nothing but the hash code's AND depends on ``T``.
    """

    def __init__(
        self,
        arch: NirArchCfg,
        *,
        in_channels: int,
        img_size: ImgSize,
        T: int,
        bits: int,
        num_classes: int,
        hash_head: str = "spiking",
        classifier_input: str = "code",
    ) -> None:
        # SpikingHashNet.__init__ builds the paper backbone; only its attributes are shared.
        nn.Module.__init__(self)
        _positive_int("in_channels", in_channels, "use 2 for DVS polarity frames or 3 for RGB images")
        height, width = _image_size(img_size)
        _positive_int("T", T, "give the number of time steps per sample, e.g. 4 or 8")
        _positive_int("bits", bits, "give the code length in bits, e.g. 64")
        _positive_int("num_classes", num_classes, "give the number of labels of the dataset")
        if hash_head != "spiking":
            raise ConfigError(
                f"hash_head {hash_head!r}: a neuromorphic profile needs the spiking hash layer "
                "(Eq. 18; sgn(tanh) has no NIR node); use hash_head='spiking'"
            )
        self.arch = arch  # type: ignore[assignment]
        self.build_args: dict[str, Any] = {
            "in_channels": in_channels, "img_size": (height, width), "T": T,
            "bits": bits, "num_classes": num_classes, "hash_head": hash_head,
            "classifier_input": check_classifier_input(classifier_input),
        }
        self.backbone = NeuromorphicBackbone(arch, in_channels, height, width)  # type: ignore[assignment]
        self.hash_head = SpikingHashHead(self.backbone.out_dim, bits, arch.hash_neuron, arch.hash_bn)
        self.classifier = nn.Linear(classifier_width(classifier_input, self.backbone.out_dim, bits), num_classes)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> NeuromorphicHashNet:
        """Rebuild the (untrained) network that :meth:`config` described."""
        args = {k: v for k, v in config.items() if k != "arch"}
        args["img_size"] = tuple(args["img_size"])
        return cls(nir_arch_from_dict(config["arch"]), **args)


def build_nir_hash_net(arch: NirArchCfg, *, in_channels: int = 3, img_size: ImgSize = 32, T: int = 4,
                       bits: int = 64, num_classes: int = 10, hash_head: str = "spiking",
                       classifier_input: str = "code", **arch_overrides: Any) -> NeuromorphicHashNet:
    """Build a :class:`NeuromorphicHashNet`; extra keywords replace fields of ``arch``."""
    fields = {f.name for f in dataclasses.fields(NirArchCfg)}
    unknown = sorted(set(arch_overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown model option(s) {unknown}; the builder takes in_channels, img_size, T, "
            f"bits, num_classes, hash_head, classifier_input and the architecture fields {sorted(fields)}"
        )
    if "stages" in arch_overrides:  # from a config file: a list of {dim, depth, stride} mappings
        arch_overrides["stages"] = tuple(s if isinstance(s, NirStageCfg) else NirStageCfg(**s)
                                         for s in arch_overrides["stages"])
    arch = dataclasses.replace(arch, **arch_overrides) if arch_overrides else arch
    return NeuromorphicHashNet(arch, in_channels=in_channels, img_size=img_size, T=T, bits=bits,
                               num_classes=num_classes, hash_head=hash_head, classifier_input=classifier_input)


@register_model
def spikinghash_ti_nir(**kwargs: Any) -> NeuromorphicHashNet:
    """Neuromorphic profile of Spikinghash-Ti (NIR-exportable)."""
    return build_nir_hash_net(nir_profile(SPIKINGHASH_TI), **kwargs)


@register_model
def spikinghash_s_nir(**kwargs: Any) -> NeuromorphicHashNet:
    """Neuromorphic profile of Spikinghash-S (NIR-exportable)."""
    return build_nir_hash_net(nir_profile(SPIKINGHASH_S), **kwargs)
