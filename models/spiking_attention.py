"""Spiking Self-Attention (SSA, paper Eqs. 13–14), as in Spikingformer."""

from __future__ import annotations

from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.time_folded import TimeFolded


#: Spikingformer's neuron after Q Kᵀ V (a lower threshold than the others).
ATTN_NEURON = LIFParams(v_threshold=0.5)


def spiking_attention(q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
    """Eq. 14 inside the neuron: (Q Kᵀ V) · s, no softmax.

    Args:
        q, k, v: ``[..., N, d]`` (spikes in the model; any floats work).
        scale: the scaling factor s.

    Returns:
        ``[..., N, d]``. Without a softmax the product is associative, so the cheaper order
        is used: ``Q (Kᵀ V)`` costs N·d² instead of N²·d. On spikes every partial sum is an
        integer, so both orders give identical float32 results while sums stay below 2**24.
    """
    n, d = q.shape[-2:]
    if n > d:
        return (q @ (k.transpose(-2, -1) @ v)) * scale
    return ((q @ k.transpose(-2, -1)) @ v) * scale


class SpikingSelfAttention(nn.Module):
    """SSA: ``[T, B, C, H, W] -> [T, B, C, H, W]``, the BN(Conv(SA(Q, K, V))) term of Eq. 15.

    Q, K, V = SN(BN(Conv1×1(SN(X)))) (Eq. 13; the first SN turns the float residual stream
    into spikes, as in Spikingformer, so every convolution sees spikes), then
    SN(Q Kᵀ V · s) per head (Eq. 14) and BN(Conv1×1(·)).
    """

    def __init__(
        self,
        dim: int,
        heads: int,
        scale: float = 0.125,
        neuron: LIFParams | None = None,
        attn_neuron: LIFParams | None = None,
    ) -> None:
        super().__init__()
        if heads < 1 or dim % heads:
            raise ConfigError(f"SSA width {dim} does not split into {heads} heads; choose heads dividing {dim}")
        params = neuron if neuron is not None else LIFParams()
        self.heads = heads
        self.scale = scale
        self.entry = LIF(params)
        self.q = TimeFolded(nn.Conv2d(dim, dim, 1, bias=False), nn.BatchNorm2d(dim))
        self.k = TimeFolded(nn.Conv2d(dim, dim, 1, bias=False), nn.BatchNorm2d(dim))
        self.v = TimeFolded(nn.Conv2d(dim, dim, 1, bias=False), nn.BatchNorm2d(dim))
        self.q_sn, self.k_sn, self.v_sn = LIF(params), LIF(params), LIF(params)
        self.attn_sn = LIF(attn_neuron if attn_neuron is not None else ATTN_NEURON)
        self.proj = TimeFolded(nn.Conv2d(dim, dim, 1, bias=False), nn.BatchNorm2d(dim))

    def _split_heads(self, x: Tensor) -> Tensor:
        """``[T, B, C, H, W] -> [T, B, heads, H·W, C/heads]`` (channel c = head·d + i)."""
        steps, batch, channels = x.shape[:3]
        return x.reshape(steps, batch, self.heads, channels // self.heads, -1).transpose(-2, -1)

    def forward(self, x: Tensor) -> Tensor:
        """``x: [T, B, C, H, W]`` float -> ``[T, B, C, H, W]`` float."""
        s = self.entry(x)
        q = self._split_heads(self.q_sn(self.q(s)))  # Eq. 13
        k = self._split_heads(self.k_sn(self.k(s)))
        v = self._split_heads(self.v_sn(self.v(s)))
        attn = self.attn_sn(spiking_attention(q, k, v, self.scale))  # Eq. 14
        merged = attn.transpose(-2, -1).reshape(x.shape)
        return self.proj(merged)
