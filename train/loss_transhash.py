"""TransHash losses: weighted Cauchy pair likelihood and Cauchy quantization (TransHash Eqs. 4-12).

The losses act on the continuous hash vectors ``h`` (our ``HashOutput.mem``, the tanh
of the hash layers: same sign as the paper's linear outputs) of every head separately,
using the model's ``hash_branches`` slices, and sum the heads (TransHash Eqs. 11-12).

Decisions where the paper is silent:

* ``K`` in TransHash Eq. 7 is the bit length of the head at hand (as in DCH, where the
  distance is ``b/4 * ||.||^2``), so ``D_S`` approximates that head's Hamming distance.
* Pairs are the ordered pairs ``i != j`` of the batch: a sample with itself has
  ``D_S = 0`` whatever the codes, so it adds nothing but would shift the class balance
  of Eq. 5.
* Reduction: the paper sums over pairs and samples; we divide the weighted pair sum by
  the number of pairs ``|S|`` (which makes it ``mean over similar pairs + mean over
  dissimilar pairs``) and average the quantization term over samples, so ``gamma`` and
  ``lam`` do not depend on the batch size.
* The similarity matrix must be binary (M_hard): Eq. 5 counts similar and dissimilar pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

_EPS = 1e-6  # smallest distance fed to log(D): keeps -log(1 - sigma) finite for D -> 0


def pair_weights(similarity: Tensor) -> Tensor:
    """TransHash Eq. 5 weights ``w_ij`` over the off-diagonal pairs of a ``[B, B]`` {0, 1} matrix.

    Returns ``[B, B]``: ``|S|/|S_1|`` on similar pairs, ``|S|/|S_0|`` on dissimilar ones,
    0 on the diagonal (not a pair).
    """
    off = ~torch.eye(len(similarity), dtype=torch.bool, device=similarity.device)
    similar = (similarity > 0.5) & off
    dissimilar = (similarity <= 0.5) & off
    n, n1, n0 = (m.sum().to(similarity.dtype) for m in (off, similar, dissimilar))
    # TransHash Eq. 5: inverse class frequency of the pair type, against data imbalance.
    return similar * (n / n1.clamp_min(1)) + dissimilar * (n / n0.clamp_min(1))


def cosine_distance(h: Tensor) -> Tensor:
    """TransHash Eq. 7: ``D_S = bits/2 * (1 - cos(h_i, h_j))`` for all pairs; ``[B, bits] -> [B, B]``."""
    unit = F.normalize(h, dim=1)
    return 0.5 * h.shape[1] * (1.0 - unit @ unit.T)


def cauchy_log_probabilities(d: Tensor, gamma: float) -> tuple[Tensor, Tensor]:
    """``(log sigma, log(1 - sigma))`` of the Cauchy probability, elementwise on distances ``d``.

    TransHash Eq. 8: ``sigma = gamma / (gamma + D)``, hence ``1 - sigma = D / (gamma + D)``.
    """
    d = d.clamp_min(_EPS)
    log_total = torch.log(gamma + d)
    return math.log(gamma) - log_total, torch.log(d) - log_total


def cauchy_pair_loss(h: Tensor, similarity: Tensor, gamma: float) -> Tensor:
    """Weighted Cauchy negative log-likelihood of one head, divided by the number of pairs.

    Args:
        h: ``[B, bits]`` continuous hash vectors of one head.
        similarity: ``[B, B]`` M_hard in ``{0, 1}``.
        gamma: Cauchy scale, in bits of Hamming distance.
    """
    log_p, log_q = cauchy_log_probabilities(cosine_distance(h), gamma)
    w = pair_weights(similarity)
    # TransHash Eq. 9 (= Eq. 6 with Eq. 8 in Eq. 4): w_ij * -(s log sigma + (1 - s) log(1 - sigma)).
    nll = -(similarity * log_p + (1.0 - similarity) * log_q)
    return (w * nll).sum() / max(len(h) * (len(h) - 1), 1)


def cauchy_quantization_loss(h: Tensor, gamma: float) -> Tensor:
    """TransHash Eq. 10: ``log(1 + D_S(|h_i|, 1) / gamma)``, mean over samples; ``h`` is ``[B, bits]``."""
    bits = h.shape[1]
    cos_to_ones = F.normalize(h.abs(), dim=1).sum(dim=1) / math.sqrt(bits)
    d = 0.5 * bits * (1.0 - cos_to_ones)
    return torch.log1p(d / gamma).mean()


def transhash_loss(
    h: Tensor, similarity: Tensor, branches: Sequence[slice], gamma: float, lam: float
) -> Tensor:
    """TransHash objective over the global and the ``K`` local heads.

    Args:
        h: ``[B, L]`` continuous codes of all heads (``HashOutput.mem``).
        similarity: ``[B, B]`` M_hard in ``{0, 1}``.
        branches: bit range of each head (``model.hash_branches``), covering ``L``.
        gamma: Cauchy scale (Eqs. 8, 10).
        lam: weight of the quantization terms.
    """
    pair = torch.stack([cauchy_pair_loss(h[:, s], similarity, gamma) for s in branches]).sum()
    quant = torch.stack([cauchy_quantization_loss(h[:, s], gamma) for s in branches]).sum()
    # TransHash Eqs. 11-12: L_B^global + L_B^local + lam * (L_Q^global + L_Q^local).
    return pair + lam * quant
