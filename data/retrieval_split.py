"""Seeded index selection for the retrieval protocol: query, database and train.

Two shapes of protocol are used by the real and static datasets:

* a dataset with an official train/test split keeps it: query = the test split
  (optionally a seeded subset of ``per_class`` samples per class), database = the train
  split, train = database (:func:`query_subset`);
* a dataset without one gets a seeded, stratified split: a fraction of every class is
  the query set, the rest is the database, and train = database (:func:`protocol_indices`).

Either way queries are never in the database. All functions return sorted indices so
that a split keeps the on-disk (or array) order.
"""

from __future__ import annotations

import numpy as np

from spikinghash.errors import ConfigError


def stratified_query_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Which samples are queries: ``round(fraction * n_c)`` drawn per class ``c``.

    Args:
        labels: ``[N]`` integer class labels.
        fraction: share of each class that becomes queries, in ``(0, 1)``.
        seed: seed of the draw (same seed and labels → same mask).

    Returns:
        ``[N]`` bool, True for query samples.

    A class with at least two samples always keeps at least one query and one database
    sample, so every class can be both asked for and found; a class with a single
    sample stays in the database.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"query fraction must lie strictly between 0 and 1, got {fraction}; use e.g. 0.1")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = len(members)
        if n < 2:
            continue
        # floor(x + 0.5) instead of round(): Python rounds halves to even.
        k = min(n - 1, max(1, int(np.floor(fraction * n + 0.5))))
        mask[rng.permutation(members)[:k]] = True
    return mask


def protocol_indices(labels: np.ndarray, split: str, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of ``split`` (``query``/``database``/``train``) under a stratified split.

    ``train`` is the whole database, the usual deep-hashing protocol when no official
    split exists.
    """
    mask = stratified_query_mask(labels, fraction, seed)
    return np.flatnonzero(mask if split == "query" else ~mask)


def query_subset(labels: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset of ``per_class`` samples of every class.

    ``per_class=None`` keeps every sample. Asking for more samples of a class than it
    has is a :class:`ConfigError` (a silently smaller query set would skew mAP).
    """
    labels = np.asarray(labels)
    if per_class is None:
        return np.arange(len(labels))
    if per_class < 1:
        raise ConfigError(
            f"query_per_class must be at least 1, got {per_class}; or leave it unset for the whole test split"
        )
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise ConfigError(
                f"query_per_class={per_class} but class {int(c)} has only {len(members)} test samples; "
                f"choose query_per_class <= {len(members)}"
            )
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen)) if chosen else np.arange(0)
