"""TransHash: the ANN vision-transformer hashing baseline (Chen et al., ICMR 2022, Sec. 3.1).

A ViT encoder (TransHash Eqs. 1-2) whose last layer is replaced by two parallel
streams: a *global* block over the whole token sequence and a *local* block applied
to ``K`` groups of patch tokens, each group with the shared class token prepended.
One hash layer per stream (TransHash Eq. 3): the global one gives ``L/2`` bits and
each of the ``K`` local ones ``L/(2K)`` bits; the codes are concatenated, global
bits first (the paper's K ablation: "the global feature is responsible for the first
8 bits and each local feature vector for the latter 4 bits"). ``hash_branches``
names the bit range of each head so that the TransHash losses are summed per head.

How an ANN reads ``T`` frames: the input ``[T, B, C, H, W]`` is folded into
``T * C`` channels of one image before the patch embedding (frame-major, so channel
``t * C + c`` is channel ``c`` of frame ``t``). The patch embedding therefore sees
the order of the frames, which the spiking models see through their membrane state:
DVS128 Gesture, for one, has classes (arm rotation clockwise vs. counter-clockwise)
that differ only in that order, and a mean over ``T`` would erase it. For static
images duplicated ``T`` times the fold costs only ``(T - 1) * C * P**2 * D`` weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.outputs import HashOutput
from spikinghash.models.factory import register_model


@dataclass(frozen=True)
class TransHashConfig:
    """Architecture settings of a TransHash model (all checked on construction).

    Attributes:
        in_channels: channels ``C`` of one input frame.
        img_size: height and width of the (square) input, pixels.
        T: number of input frames, folded into the channels.
        bits: code length ``L``; split ``L/2`` global + ``K`` x ``L/(2K)`` local.
        num_classes: outputs of the classification head.
        patch_size: side ``P`` of the square patches, pixels.
        dim: token width ``D``.
        depth: blocks on any path from the input to a hash head: ``depth - 1`` shared
            encoder blocks, then the global or the local block (the paper's "24 blocks").
        heads: attention heads per block.
        groups: number ``K`` of local groups.
        mlp_ratio: hidden width of each block's MLP relative to ``dim``.
    """

    in_channels: int
    img_size: int
    T: int
    bits: int
    num_classes: int
    patch_size: int
    dim: int
    depth: int
    heads: int
    groups: int = 2
    mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        for name in ("in_channels", "img_size", "T", "bits", "num_classes",
                     "patch_size", "dim", "depth", "heads", "groups"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"TransHash {name}={value!r} must be a positive integer")
        if self.img_size % self.patch_size:
            raise ConfigError(
                f"TransHash img_size={self.img_size} is not divisible by patch_size="
                f"{self.patch_size}; choose a patch_size that divides the image side"
            )
        if self.bits % (2 * self.groups):
            raise ConfigError(
                f"TransHash bits={self.bits} cannot give L/2 global bits and "
                f"{self.groups} equal local heads; use a multiple of 2*groups={2 * self.groups}"
            )
        if self.dim % self.heads:
            raise ConfigError(
                f"TransHash dim={self.dim} is not divisible by heads={self.heads}; "
                "choose dim as a multiple of heads"
            )
        if self.groups > self.num_patches:
            raise ConfigError(
                f"TransHash groups={self.groups} exceeds the {self.num_patches} patches; "
                "use fewer groups or a smaller patch_size"
            )
        if not self.mlp_ratio > 0:
            raise ConfigError(f"TransHash mlp_ratio={self.mlp_ratio} must be positive")

    @property
    def num_patches(self) -> int:
        """Number ``N`` of patch tokens (the class token not counted)."""
        return (self.img_size // self.patch_size) ** 2

    @property
    def branch_bits(self) -> list[int]:
        """Bits of each hash head: global first, then the ``K`` local heads."""
        return [self.bits // 2] + [self.bits // (2 * self.groups)] * self.groups


class Attention(nn.Module):
    """Multi-head self-attention on ``[B, S, D]`` tokens (the MSA of TransHash Eq. 2)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, s, d = x.shape
        qkv = self.qkv(x).reshape(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(b, s, d))


class Block(nn.Module):
    """Pre-norm transformer block on ``[B, S, D]`` tokens."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, z: Tensor) -> Tensor:
        # TransHash Eq. 2: LN before each layer, residual after it.
        z = self.attn(self.norm1(z)) + z
        return self.mlp(self.norm2(z)) + z


def straight_through_code(mem: Tensor) -> Tensor:
    """``{0, 1}`` code ``(sgn(mem) > 0)`` whose gradient is that of ``(mem + 1) / 2``.

    The value is exactly the hard code (``mem - mem.detach()`` is exactly zero); the
    gradient is the classic straight-through one for ``sgn`` in the ``{-1, +1}``
    convention (identity), halved because a ``{0, 1}`` bit spans half that range.
    Shapes: ``[B, L] -> [B, L]``.
    """
    hard = (mem > 0).to(mem.dtype)
    return hard + 0.5 * (mem - mem.detach())


class TransHash(nn.Module):
    """Dual-stream ViT hashing model.

    ``forward(x)`` takes ``x: [T, B, C, H, W]`` and returns ``HashOutput`` with
    ``code [B, L]`` in ``{0, 1}``, ``mem [B, L]`` the ``tanh`` of the hash layers in
    ``(-1, 1)`` and ``logits [B, num_classes]`` from a linear classifier on the code.

    Attributes:
        config: the resolved :class:`TransHashConfig`.
        hash_branches: one ``slice`` of the ``L`` code bits per hash head, global
            first then local ``1..K``; together they cover every bit exactly once.
    """

    def __init__(self, config: TransHashConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.patch_embed = nn.Conv2d(c.T * c.in_channels, c.dim, c.patch_size, c.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, c.num_patches + 1, c.dim))
        self.encoder = nn.Sequential(*(Block(c.dim, c.heads, c.mlp_ratio) for _ in range(c.depth - 1)))
        self.global_block = Block(c.dim, c.heads, c.mlp_ratio)
        self.local_block = Block(c.dim, c.heads, c.mlp_ratio)
        self.global_norm = nn.LayerNorm(c.dim)
        self.local_norm = nn.LayerNorm(c.dim)
        bits = c.branch_bits
        self.global_hash = nn.Linear(c.dim, bits[0])
        self.local_hash = nn.ModuleList(nn.Linear(c.dim, n) for n in bits[1:])
        self.classifier = nn.Linear(c.bits, c.num_classes)
        edges = [sum(bits[:k]) for k in range(len(bits) + 1)]
        self.hash_branches: list[slice] = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def tokens(self, x: Tensor) -> Tensor:
        """Encoder output ``Z_{L-1}``: ``[T, B, C, H, W] -> [B, N + 1, D]`` (class token first)."""
        c = self.config
        expected = (c.T, c.in_channels, c.img_size, c.img_size)
        if x.dim() != 5 or (x.shape[0], *x.shape[2:]) != expected:
            raise ConfigError(
                f"TransHash expects input [T, B, C, H, W] with T, C, H, W = {expected}, "
                f"got {tuple(x.shape)}; build the model with matching T, in_channels, img_size"
            )
        t, b, ch, h, w = x.shape
        frames = x.permute(1, 0, 2, 3, 4).reshape(b, t * ch, h, w)
        patches = self.patch_embed(frames).flatten(2).transpose(1, 2)
        z = torch.cat([self.cls_token.expand(b, -1, -1), patches], dim=1)
        # TransHash Eq. 1: class token prepended, learned 1-D positions added.
        return self.encoder(z + self.pos_embed)

    def features(self, z: Tensor) -> list[Tensor]:
        """Dual-stream features ``[f_g, f_l^1, ..., f_l^K]``, each ``[B, D]``, from ``[B, N + 1, D]``.

        The ``N`` patch tokens are cut into ``K`` contiguous groups in raster order; when
        ``K`` does not divide ``N`` (the paper's 224/32 setting has ``N = 49``) the first
        ``N mod K`` groups take one token more, so no patch is dropped.
        """
        cls = z[:, :1]
        f_g = self.global_norm(self.global_block(z))[:, 0]
        f_local = [
            self.local_norm(self.local_block(torch.cat([cls, group], dim=1)))[:, 0]
            for group in torch.tensor_split(z[:, 1:], self.config.groups, dim=1)
        ]
        return [f_g, *f_local]

    def forward(self, x: Tensor) -> HashOutput:
        feats = self.features(self.tokens(x))
        heads = [self.global_hash, *self.local_hash]
        # TransHash Eq. 3 per head; tanh keeps the relaxed code in (-1, 1) like Eq. 17.
        mem = torch.tanh(torch.cat([head(f) for head, f in zip(heads, feats)], dim=1))
        code = straight_through_code(mem)
        return HashOutput(code=code, mem=mem, logits=self.classifier(code))


def _build(defaults: dict[str, object], overrides: dict[str, object]) -> TransHash:
    """A :class:`TransHash` from a variant's ``defaults`` updated by the caller's ``overrides``."""
    fields = {f.name for f in dataclasses.fields(TransHashConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ConfigError(
            f"TransHash does not take {', '.join(unknown)}; valid settings: {', '.join(sorted(fields))}"
        )
    return TransHash(TransHashConfig(**{**defaults, **overrides}))  # type: ignore[arg-type]


@register_model
def transhash(**overrides: object) -> TransHash:
    """Small TransHash that trains on a CPU: 4x4 patches on 32x32, D=128, 4 blocks, 4 heads, K=2.

    Defaults: ``in_channels=3, img_size=32, T=4, bits=64, num_classes=10``; any
    :class:`TransHashConfig` field may be overridden.
    """
    defaults: dict[str, object] = dict(in_channels=3, img_size=32, T=4, bits=64, num_classes=10,
                                       patch_size=4, dim=128, depth=4, heads=4, groups=2)
    return _build(defaults, overrides)


@register_model
def transhash_paper(**overrides: object) -> TransHash:
    """The paper's TransHash (Sec. 4.2): 32x32 patches on 224x224, D=1024, 16 heads, 24 blocks, K=2.

    Defaults: ``in_channels=3, img_size=224, T=1, bits=64, num_classes=10``
    (about 318 M parameters); any :class:`TransHashConfig` field may be overridden.
    """
    defaults: dict[str, object] = dict(in_channels=3, img_size=224, T=1, bits=64, num_classes=10,
                                       patch_size=32, dim=1024, depth=24, heads=16, groups=2)
    return _build(defaults, overrides)
