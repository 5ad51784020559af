"""Pairwise likelihood loss on binary codes (Spikinghash Eq. 22) and the hard similarity M_hard.

Reading of Eq. 22: the codes ``b`` in the equation are ``{-1, +1}`` vectors. Our
models emit ``{0, 1}`` codes (``HashOutput.code``, bit 1 = +1), so the loss maps them
with ``b = 2 * code - 1`` first. Then ``<b_i, b_j> = L - 2 * Hamming(b_i, b_j)``, so
``Omega_ij = <b_i, b_j> / 2`` falls by 1 per differing bit and the sigmoid of it is
the "similarity score from the Hamming distance" the paper speaks of.

Reduction: the paper sums over all ``N^2`` ordered pairs ``(i, j)`` (the diagonal
included); we keep every pair but take the *mean*. A sum grows with the square of
the batch size, so ``alpha`` and ``beta`` (Eq. 24) tuned at one batch size would not
carry over to another; with a mean they do. The paper's own settings also point to a
mean: with ``alpha = 0.2, beta = 0.8`` at batch 64 (CIFAR10) a sum over 4,096 pairs
of terms up to ``L / 2`` would outweigh the per-sample cross-entropy by about four
orders of magnitude.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def hard_similarity(labels: Tensor) -> Tensor:
    """M_hard: ``m_ij = 1`` if samples i and j share their class, else 0.

    Args:
        labels: ``[B]`` integer class indices.

    Returns:
        ``[B, B]`` float matrix in ``{0, 1}``.
    """
    return (labels[:, None] == labels[None, :]).float()


def pairwise_likelihood_loss(code: Tensor, similarity: Tensor) -> Tensor:
    """Negative log-likelihood of the pair similarities given the codes, mean over pairs.

    Args:
        code: ``[B, L]`` codes in ``{0, 1}`` (gradient passes through, e.g. straight-through).
        similarity: ``[B, B]`` target ``m_ij`` in ``[0, 1]``: M_hard or M_soft.

    Returns:
        scalar: ``mean_ij( log(1 + exp(Omega_ij)) - m_ij * Omega_ij )`` (nats per pair).
    """
    b = 2.0 * code - 1.0
    omega = 0.5 * (b @ b.T)
    # Spikinghash Eq. 22; softplus keeps log(1 + e^Omega) finite for |Omega| up to L/2.
    return (F.softplus(omega) - similarity * omega).mean()
