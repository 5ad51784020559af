"""Class-by-class similarity of hash codes, to set beside the learned S_soft (paper Fig. 5).

The paper's Fig. 5 shows the dynamic soft similarity S_soft (Eqs. 19–21) next to how similar
the classes' codes really are. The code side here is the mean, over every pair of codes of
classes ``a`` and ``b``, of ``1 - d_H(x, y) / L``: 1 for identical codes, 0 for complementary
ones, about 0.5 for unrelated random codes. On the diagonal a code is never paired with
itself (its distance 0 would pull every class towards 1), as in Eq. 19's ``i != j``.
"""

from __future__ import annotations

import numpy as np

from spikinghash.retrieval.codes import unpack_codes


def hamming_class_similarity(packed: np.ndarray, labels: np.ndarray, bits: int,
                             num_classes: int | None = None) -> np.ndarray:
    """Mean ``1 - d_H/L`` over pairs of codes of each pair of classes.

    Args:
        packed: ``[N, ceil(L/8)]`` uint8 packed codes (``codes.npz`` layout).
        labels: ``[N]`` class indices.
        bits: the code length ``L``.
        num_classes: ``C`` (default: ``labels.max() + 1``).

    Returns:
        ``[C, C]`` float64, symmetric. NaN where a class pair has no pair of codes (a class
        absent, or a class with one code on the diagonal).
    """
    x = unpack_codes(packed, bits).astype(np.float64)  # [N, L]
    labels = np.asarray(labels, dtype=np.int64)
    c = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    onehot = np.eye(c)[labels]  # [N, C]
    ones = onehot.T @ x  # [C, L]: per class, how many codes have bit k set
    n = onehot.sum(axis=0)  # [C]
    # Summed Hamming distance between classes a and b, bit by bit: a one in a meets a zero in b, or
    # the reverse. Self-pairs have distance 0, so excluding them changes only the pair count.
    dist = ones @ (n[:, None] - ones).T + (n[:, None] - ones) @ ones.T  # [C, C]
    pairs = np.outer(n, n) - np.diag(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, 1.0 - dist / (bits * np.maximum(pairs, 1)), np.nan)
