"""Spikingformer baseline: tokenizer layout and the paper's parameter count."""

from __future__ import annotations

import pytest

from spikinghash.models import create_model


@pytest.mark.parametrize(("img_size", "pools", "grid"), [(32, 2, 8), (64, 3, 8), (128, 4, 8), (16, 1, 8)])
def test_max_pools_bring_the_grid_to_eight(img_size: int, pools: int, grid: int) -> None:
    model = create_model("spikingformer", img_size=img_size)
    assert sum(stage.maxpool for stage in model.arch.stages) == pools
    assert model.backbone.out_grid == (grid, grid)


def test_cifar_configuration_matches_the_papers_count() -> None:
    # Table II: Spikingformer-CML, 9.32 M parameters (Spikingformer-4-384 on CIFAR10).
    model = create_model("spikingformer", embed_dim=384, depth=4, in_channels=3, img_size=32, num_classes=10)
    millions = sum(p.numel() for p in model.parameters()) / 1e6
    assert abs(millions - 9.32) / 9.32 < 0.10, millions
    assert [len(stage) - 1 for stage in model.backbone.stages] == [0, 0, 0, 4]
