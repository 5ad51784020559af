"""Tiny models whose float arithmetic is exact, so that two runtimes must agree bit for bit.

Every weight is rounded to a dyadic grid (a multiple of a power of two, 5 significant
bits) and every batch norm gets dyadic statistics with a power-of-4 variance and eps = 0.
Convolutions, linear layers and batch norms (also when the exporter folds them into the
convolution) then compute exactly in float32, whatever order a runtime sums in. The only
rounding left is elementwise (the Haar filters' 1/√2, LayerNorm, GELU, tanh), and each
runtime rounds an elementwise op the same way. Without this, onnxruntime's sums differ
from torch's in the last bits, and a membrane within those bits of v_th flips a spike.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import pytest
import torch
from torch import nn

from spikinghash.models import create_model

#: Build settings every registered model accepts (16×16 keeps the DWT grids of L and XL valid).
TINY = {"in_channels": 2, "img_size": 16, "T": 4, "bits": 16, "num_classes": 5}
#: Models whose defaults do not fit the tiny settings.
SHRINK = {"transhash_paper": dict(patch_size=8, dim=32, depth=2, heads=2)}
#: Significant bits kept per weight: small enough that no sum in these models needs more
#: than float32's 24.
WEIGHT_BITS = 5


def event_frames(batch: int, seed: int) -> torch.Tensor:
    """``[T=4, batch, 2, 16, 16]`` Poisson event counts (mean 1 per pixel and bin)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.ones(TINY["T"], batch, 2, 16, 16), generator=gen)


def _dyadic(t: torch.Tensor, bits: int = WEIGHT_BITS) -> torch.Tensor:
    """``t`` rounded to multiples of 2**e, with e set so the largest entry keeps ``bits`` bits."""
    top = t.abs().max().item()
    if top == 0:
        return t
    step = 2.0 ** (math.floor(math.log2(top)) + 1 - bits)
    return torch.round(t / step) * step


def _power_of_4(t: torch.Tensor) -> torch.Tensor:
    """Nearest power of 4 (so its square root is a power of 2)."""
    return 4.0 ** torch.round(torch.log(t.clamp_min(1e-6)) / math.log(4.0))


@torch.no_grad()
def make_exact(model: nn.Module) -> nn.Module:
    """Calibrate ``model``'s batch norms on event frames, then make its arithmetic exact
    (module docstring). Returns the model in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # a plain average over the calibration batches
    model.train()
    for seed in range(2):
        model(event_frames(8, 1000 + seed))
    norm_params = {id(p) for bn in norms for p in bn.parameters()}
    for p in model.parameters():
        if id(p) not in norm_params:
            p.copy_(_dyadic(p))
    for bn in norms:
        bn.eps = 0.0
        bn.running_var.copy_(_power_of_4(bn.running_var))
        bn.running_mean.copy_(_dyadic(bn.running_mean, 8))
        # The hash layer's norm (the only 1D one) is shifted so that about half the bits
        # fire at every step and the codes are neither all 0 nor all 1.
        bn.bias.fill_(1.0 if isinstance(bn, nn.BatchNorm1d) else 0.0)
    return model.eval()


def build_exact(name: str) -> nn.Module:
    """Registered model ``name`` at the tiny settings, seeded, with exact arithmetic."""
    torch.manual_seed(0)
    return make_exact(create_model(name, **{**TINY, **SHRINK.get(name, {})}))


@pytest.fixture(scope="session")
def tiny() -> dict:
    """The build settings (a copy)."""
    return dict(TINY)


@pytest.fixture(scope="session")
def exact_model() -> Callable[[str], nn.Module]:
    """``name -> model`` (see :func:`build_exact`)."""
    return build_exact


@pytest.fixture(scope="session")
def frames() -> Callable[[int, int], torch.Tensor]:
    """``(batch, seed) -> [T, batch, C, H, W]`` event counts (see :func:`event_frames`)."""
    return event_frames


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """One intra-op thread while these tests run. On the shared 2-core machine two spinning
    OpenMP threads made one model's calibration and forward 10x slower (12.5 s against 1.1 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
