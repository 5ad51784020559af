"""Batch norm folded into the weighted layer before it, with the norm's running statistics.

Used by the NIR exporter (every exported weight is folded) and by the quantization-aware
layers (``models/qat_layers.py``), whose forward must see exactly the exported weight.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def fold_batch_norm(weight: Tensor, bias: Tensor | None, norm: nn.Module) -> tuple[Tensor, Tensor]:
    """``BN(W·x + b)`` as ``W'·x + b'``: ``s = γ_bn/√(σ² + ε)``, ``W' = s·W``, ``b' = s·(b − μ) + β_bn``.

    ``weight`` is ``[out, ...]``; ``norm`` is a ``BatchNorm1d/2d`` over ``out`` or ``nn.Identity``.
    """
    b = bias if bias is not None else weight.new_zeros(weight.shape[0])
    if isinstance(norm, nn.Identity):
        return weight, b
    if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or norm.running_mean is None:
        raise ValueError(f"cannot fold {type(norm).__name__}: need a batch norm with running statistics")
    assert norm.running_var is not None
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale + (norm.bias if norm.affine else 0.0)
    return weight * scale.reshape(-1, *([1] * (weight.dim() - 1))), b * scale + shift
