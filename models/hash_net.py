"""A spiking hashing network: backbone, global average pooling, hash layer, classifier.

The classifier reads one of two inputs (``classifier_input``), the two variants of the
paper's Table VI:

* ``"code"``: the hash code (Sec. III-F, "feed the hash codes through a classification
  layer"; Eq. 23 trains it beside L_s). This is "Spikinghash-XL (Hash)".
* ``"features"``: the pooled backbone features averaged over T, as in Spikingformer's
  classification head. This is "Spikinghash-XL", trained with L_cls alone (Sec. IV-C,
  ``task=classify``); its hash layer is then untrained.

Both keep the module name ``classifier``, so a checkpoint of either loads by key.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.arch_config import ArchCfg, arch_from_dict
from spikinghash.models.backbone import SpikingBackbone
from spikinghash.models.hash_heads import SignHashHead, SpikingHashHead
from spikinghash.models.outputs import HashOutput

ImgSize = int | tuple[int, int]

#: Hash heads by name: ``(architecture, feature width, bits) -> head``.
HASH_HEADS: dict[str, Callable[[ArchCfg, int, int], nn.Module]] = {
    "spiking": lambda arch, dim, bits: SpikingHashHead(dim, bits, arch.hash_neuron, arch.hash_bn),  # Eq. 18
    "sgn": lambda arch, dim, bits: SignHashHead(dim, bits),  # Eq. 17
}


#: What the classification head reads (see the module docstring).
CLASSIFIER_INPUTS = ("code", "features")


def check_classifier_input(value: str) -> str:
    """``value`` if it names a classifier input, else a :class:`ConfigError`."""
    if value not in CLASSIFIER_INPUTS:
        raise ConfigError(f"classifier_input {value!r}; use 'code' (the hash code, Sec. III-F) or "
                          "'features' (the pooled backbone features, the paper's classification variant)")
    return value


def classifier_width(classifier_input: str, feature_dim: int, bits: int) -> int:
    """Input width of the classification head: the code's L bits or the features' C channels."""
    return bits if check_classifier_input(classifier_input) == "code" else feature_dim


def _positive_int(name: str, value: Any, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} = {value!r} must be a positive integer; {hint}")
    return value


def _image_size(img_size: ImgSize) -> tuple[int, int]:
    size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    if len(size) != 2:
        raise ConfigError(f"img_size = {img_size!r}; give one integer or (height, width)")
    for side in size:
        _positive_int("img_size", side, "give the frame height and width in pixels, e.g. 32 or (128, 128)")
    return size[0], size[1]


class SpikingHashNet(nn.Module):
    """``x: [T, B, in_channels, H, W]`` -> :class:`HashOutput` ``(code, mem, logits)``.

    Pooled features ``f: [T, B, C]`` (spatial mean of the last stage) feed the hash layer;
    the classification head reads the code ``[B, L]`` or, with ``classifier_input="features"``,
    ``f`` averaged over T ``[B, C]`` (see the module docstring). The model is built for one
    input size (the SWM weights are sized from it) and refuses others.
    """

    def __init__(
        self,
        arch: ArchCfg,
        *,
        in_channels: int,
        img_size: ImgSize,
        T: int,
        bits: int,
        num_classes: int,
        hash_head: str = "spiking",
        classifier_input: str = "code",
    ) -> None:
        super().__init__()
        _positive_int("in_channels", in_channels, "use 2 for DVS polarity frames or 3 for RGB images")
        height, width = _image_size(img_size)
        _positive_int("T", T, "give the number of time steps per sample, e.g. 4 or 8")
        _positive_int("bits", bits, "give the code length in bits, e.g. 64")
        _positive_int("num_classes", num_classes, "give the number of labels of the dataset")
        if hash_head not in HASH_HEADS:
            raise ConfigError(f"unknown hash_head {hash_head!r}; use one of {sorted(HASH_HEADS)}")
        self.arch = arch
        self.build_args: dict[str, Any] = {
            "in_channels": in_channels, "img_size": (height, width), "T": T,
            "bits": bits, "num_classes": num_classes, "hash_head": hash_head,
            "classifier_input": check_classifier_input(classifier_input),
        }
        self.backbone = SpikingBackbone(arch, in_channels, T, height, width)
        self.hash_head = HASH_HEADS[hash_head](arch, self.backbone.out_dim, bits)
        self.classifier = nn.Linear(classifier_width(classifier_input, self.backbone.out_dim, bits), num_classes)

    def config(self) -> dict[str, Any]:
        """The resolved configuration (plain data), to be saved next to any outputs."""
        return {"arch": dataclasses.asdict(self.arch), **self.build_args}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SpikingHashNet:
        """Rebuild the (untrained) network that :meth:`config` described."""
        args = {k: v for k, v in config.items() if k != "arch"}
        args["img_size"] = tuple(args["img_size"])
        return cls(arch_from_dict(config["arch"]), **args)

    def _check_input(self, x: Tensor) -> None:
        args = self.build_args
        expected = (args["T"], args["in_channels"], *args["img_size"])
        got = (x.shape[0], *x.shape[2:]) if x.dim() == 5 else tuple(x.shape)
        if x.dim() != 5 or got != expected:
            raise ConfigError(
                f"model expects input [T, B, C, H, W] with (T, C, H, W) = {expected}, got shape "
                f"{tuple(x.shape)}; build it with the T, in_channels and img_size of your data"
            )

    def forward(self, x: Tensor) -> HashOutput:
        """``x: [T, B, C, H, W]`` float -> code ``[B, L]``, mem ``[B, L]``, logits ``[B, classes]``."""
        self._check_input(x)
        features = self.backbone(x).mean(dim=(-2, -1))
        code, mem = self.hash_head(features)
        on_code = self.build_args["classifier_input"] == "code"
        return HashOutput(code, mem, self.classifier(code if on_code else features.mean(dim=0)))


def build_hash_net(
    arch: ArchCfg,
    *,
    in_channels: int = 3,
    img_size: ImgSize = 32,
    T: int = 4,
    bits: int = 64,
    num_classes: int = 10,
    hash_head: str = "spiking",
    classifier_input: str = "code",
    **arch_overrides: Any,
) -> SpikingHashNet:
    """Build a :class:`SpikingHashNet`; extra keywords replace fields of ``arch``.

    Example: ``build_hash_net(SPIKINGHASH_S, T=8, neuron=LIFParams(tau=1.75))``.
    """
    fields = {f.name for f in dataclasses.fields(ArchCfg)}
    unknown = sorted(set(arch_overrides) - fields)
    if unknown:
        raise ConfigError(
            f"unknown model option(s) {unknown}; the builder takes in_channels, img_size, T, "
            f"bits, num_classes, hash_head, classifier_input and the architecture fields {sorted(fields)}"
        )
    arch = dataclasses.replace(arch, **arch_overrides) if arch_overrides else arch
    return SpikingHashNet(
        arch, in_channels=in_channels, img_size=img_size, T=T, bits=bits,
        num_classes=num_classes, hash_head=hash_head, classifier_input=classifier_input,
    )
