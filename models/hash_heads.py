"""Hash layers: the spiking hash layer (paper Eq. 18) and the classic sgn(tanh) head (Eq. 17).

Both map pooled features ``f: [T, B, C]`` to a :class:`HashCode` ``(code, mem)`` with
``code: [B, L]`` in {0, 1} (1 stands for +1) and ``mem: [B, L]`` the continuous value
behind each bit.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from spikinghash.models.lif import LIFParams, MembraneLIF


#: Default hash neurons: with tau = 2 a drive held above 2 · 0.2 = 0.4 fires at every step,
#: i.e. about a third of the bits of a constant, unit-variance (batch-normed) drive.
HASH_NEURON = LIFParams(v_threshold=0.2)


class HashCode(NamedTuple):
    """``code: [B, L]`` in {0, 1} and ``mem: [B, L]`` (see module doc)."""

    code: Tensor
    mem: Tensor


def and_over_time(spikes: Tensor) -> Tensor:
    """Eq. 18: AND over time steps, ``[T, B, L] -> [B, L]``.

    For values in {0, 1} the product is the AND; unlike a logical AND it passes the
    surrogate gradient of each step's spike on (scaled by the other steps' spikes).
    """
    return spikes.prod(dim=0)


class SpikingHashHead(nn.Module):
    """Eq. 18: b = AND_t(SN(Linear(f))); ``mem`` = hash neurons' H averaged over T (Eq. 19).

    With ``normalize`` (the default; ``False`` is Eq. 18 as written) a batch norm (over all
    T·B rows) sits between the linear layer and the neurons, as before every other neuron
    of the network. Measured (``experiments/hash_bn.py``, 3 seeds), it does *not* keep the
    codes from starting all-zero: at initialisation it makes them more nearly so
    (Spikinghash-S, train mode: 0.2 % of bits 1 and 3 % of (sample, bit) pairs with a
    gradient through the AND, against 7.4 % and 24 % without it). It is kept because it
    trains better codes: on a small dvs-digits, mAP@all 0.124 against 0.122 after one
    epoch, 0.187 ± 0.011 against 0.159 ± 0.016 after three.
    """

    def __init__(self, dim: int, bits: int, neuron: LIFParams, normalize: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, bits)
        self.norm: nn.Module = nn.BatchNorm1d(bits) if normalize else nn.Identity()
        self.sn = MembraneLIF(neuron)

    def forward(self, f: Tensor) -> HashCode:
        """``f: [T, B, C]`` -> code and mean membrane, both ``[B, L]``."""
        z = self.norm(self.linear(f).flatten(0, 1)).unflatten(0, f.shape[:2])
        trace = self.sn(z)
        return HashCode(and_over_time(trace.spikes), trace.membrane.mean(dim=0))


class SignHashHead(nn.Module):
    """Eq. 17: b = sgn(tanh(Linear(f))), on f averaged over T; ``mem`` = tanh(Linear(f)).

    The bit is 1 where tanh(·) > 0. In training the code carries the gradient of
    (tanh(·) + 1) / 2 (straight-through estimator for sgn).
    """

    def __init__(self, dim: int, bits: int) -> None:
        super().__init__()
        self.linear = nn.Linear(dim, bits)

    def forward(self, f: Tensor) -> HashCode:
        """``f: [T, B, C]`` -> code and tanh activation, both ``[B, L]``."""
        soft = torch.tanh(self.linear(f.mean(dim=0)))
        relaxed = (soft + 1.0) / 2.0
        hard = (soft > 0).to(soft.dtype)
        # hard + (x - x) is exactly hard in value, with the gradient of x.
        return HashCode(hard + (relaxed - relaxed.detach()), soft)

