"""Tests of data/retrieval_split.py against hand-counted class sizes."""

from __future__ import annotations

import numpy as np
import pytest

from spikinghash.data.retrieval_split import protocol_indices, query_subset, stratified_query_mask
from spikinghash.errors import ConfigError

# Class sizes 10, 20, 1, 2, 5 at 10 %: floor(1.5)=1, floor(2.5)=2, single sample stays in
# the database, floor(0.7)=0 raised to 1, floor(1.0)=1.
LABELS = np.repeat(np.arange(5), [10, 20, 1, 2, 5])
EXPECTED_QUERIES = [1, 2, 0, 1, 1]


def test_stratified_mask_takes_the_hand_counted_share_of_every_class() -> None:
    mask = stratified_query_mask(LABELS, 0.1, seed=0)
    assert np.bincount(LABELS[mask], minlength=5).tolist() == EXPECTED_QUERIES


def test_stratified_mask_is_seeded() -> None:
    labels = np.repeat(np.arange(3), 50)
    a, b = stratified_query_mask(labels, 0.2, seed=1), stratified_query_mask(labels, 0.2, seed=1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, stratified_query_mask(labels, 0.2, seed=2))


def test_protocol_splits_partition_and_train_is_database() -> None:
    query = protocol_indices(LABELS, "query", 0.1, seed=3)
    database = protocol_indices(LABELS, "database", 0.1, seed=3)
    train = protocol_indices(LABELS, "train", 0.1, seed=3)
    assert not set(query) & set(database)
    assert sorted(set(query) | set(database)) == list(range(len(LABELS)))
    assert np.array_equal(train, database)
    assert np.all(np.diff(query) > 0) and np.all(np.diff(database) > 0)


def test_every_class_with_two_samples_keeps_one_in_the_database() -> None:
    labels = np.repeat(np.arange(2), [2, 3])
    mask = stratified_query_mask(labels, 0.9, seed=0)
    assert np.bincount(labels[~mask], minlength=2).tolist() == [1, 1]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_impossible_fraction_is_a_config_error(fraction: float) -> None:
    with pytest.raises(ConfigError, match="between 0 and 1"):
        stratified_query_mask(LABELS, fraction, seed=0)


def test_query_subset_takes_per_class_or_everything() -> None:
    labels = np.repeat(np.arange(3), [4, 5, 6])
    chosen = query_subset(labels, 2, seed=0)
    assert np.bincount(labels[chosen]).tolist() == [2, 2, 2]
    assert len(set(chosen)) == 6 and np.all(np.diff(chosen) > 0)
    assert np.array_equal(query_subset(labels, None, seed=0), np.arange(15))


def test_query_subset_larger_than_a_class_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="class 0 has only 4"):
        query_subset(np.repeat(np.arange(2), [4, 9]), 5, seed=0)
