"""The one return type every registered model's ``forward`` has."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class HashOutput(NamedTuple):
    """What a hashing model returns for a batch.

    Attributes:
        code: ``[B, L]`` binary hash code with values in ``{0, 1}`` (bit 1 stands for
            +1 in the ``{-1, +1}`` convention). In training mode it carries a
            gradient (surrogate spike gradient through the AND over time for spiking
            heads, straight-through for ``sgn`` heads).
        mem: ``[B, L]`` the continuous value behind each bit: for the spiking hash
            layer the hash neurons' membrane potential averaged over the T steps
            (Eq. 19 uses it); for ANN heads the pre-``sgn`` activation.
        logits: ``[B, num_classes]`` output of the classification head on the code.
    """

    code: Tensor
    mem: Tensor
    logits: Tensor
