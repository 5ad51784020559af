"""Optimizers (AdamW, AdamP) and the learning-rate schedule: linear warm-up, then cosine decay.

The schedule is stepped once per optimizer step, so warm-up and decay are smooth
within an epoch. Both optimizers use their libraries' defaults for betas (0.9,
0.999) and eps (1e-8); weight decay is decoupled in both (AdamW by definition,
AdamP multiplies the weights by ``1 - lr * weight_decay``) and is not applied to
1-D parameters (biases, norm scales), timm's convention.
"""

from __future__ import annotations

import math
from typing import Callable

from adamp import AdamP
from torch import nn
from torch.optim import AdamW, Optimizer
from torch.optim.lr_scheduler import LambdaLR

from spikinghash.errors import ConfigError

#: Optimizer classes by config name (``TrainConfig.optimizer``).
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {"adamw": AdamW, "adamp": AdamP}


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Trainable parameters split into a decayed group (matrices, kernels) and an undecayed one (1-D)."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float) -> Optimizer:
    """The optimizer ``name`` ("adamw" or "adamp") over ``model``'s trainable parameters."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer={name!r}; use one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](parameter_groups(model, weight_decay), lr=lr)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor for 0-based optimizer ``step`` of ``total_steps``.

    Warm-up: ``(step + 1) / (warmup_steps + 1)``, rising linearly so the first step
    already moves and the last warm-up step is one increment below the peak. Then
    ``0.5 * (1 + cos(pi * k / n))`` with ``k = step - warmup_steps`` of ``n =
    total_steps - warmup_steps`` decay steps: 1 at the first, falling towards 0.
    """
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    decay_steps = max(total_steps - warmup_steps, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(step - warmup_steps, decay_steps) / decay_steps))


def build_scheduler(optimizer: Optimizer, warmup_steps: int, total_steps: int) -> LambdaLR:
    """A per-step :class:`LambdaLR` following :func:`warmup_cosine`.

    Its ``state_dict`` holds only numbers (the factor is a plain function, which
    LambdaLR does not save), so it loads with ``torch.load(weights_only=True)``.
    """
    if not 0 <= warmup_steps < total_steps:
        raise ConfigError(
            f"warm-up of {warmup_steps} steps leaves no step for the cosine decay of a "
            f"{total_steps}-step run; shorten the warm-up"
        )
    return LambdaLR(optimizer, lambda step: warmup_cosine(step, warmup_steps, total_steps))
