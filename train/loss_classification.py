"""Classification loss on the code and the overall Spikinghash objective (Spikinghash Eqs. 23-24)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of the classifier on the hash code, mean over the batch (nats per sample).

    Args:
        logits: ``[B, C]`` classification-head outputs (``HashOutput.logits``).
        labels: ``[B]`` integer classes.
    """
    # Spikinghash Eq. 23: -sum_t y_t log p_t with p = softmax(logits); log-softmax for stability.
    return F.cross_entropy(logits, labels)


def spikinghash_objective(pair_loss: Tensor, cls_loss: Tensor, alpha: float, beta: float) -> Tensor:
    """Spikinghash Eq. 24: ``alpha * L_s + beta * L_cls`` (both per-pair / per-sample means)."""
    return alpha * pair_loss + beta * cls_loss
