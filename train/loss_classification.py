"""Classification loss and the overall Spikinghash objective (Spikinghash Eqs. 23-24).

The classifier reads the hash code (``task=hash``, Sec. III-F) or the pooled features
(``task=classify``, Sec. IV-C, where L_cls is the whole loss); the loss is the same.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy of the classification head, mean over the batch (nats per sample).

    Args:
        logits: ``[B, C]`` classification-head outputs (``HashOutput.logits``).
        labels: ``[B]`` integer classes.
    """
    # Spikinghash Eq. 23: -sum_t y_t log p_t with p = softmax(logits); log-softmax for stability.
    return F.cross_entropy(logits, labels)


def spikinghash_objective(pair_loss: Tensor, cls_loss: Tensor, alpha: float, beta: float) -> Tensor:
    """Spikinghash Eq. 24: ``alpha * L_s + beta * L_cls`` (both per-pair / per-sample means)."""
    return alpha * pair_loss + beta * cls_loss
