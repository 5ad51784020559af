"""Tests for train/optim.py: warm-up + cosine by hand, per-step scheduler, decay groups, AdamW by hand."""

from __future__ import annotations

import math

import pytest
import torch
from adamp import AdamP
from torch import nn

from spikinghash.errors import ConfigError
from spikinghash.train.optim import build_optimizer, build_scheduler, warmup_cosine


def test_warmup_then_cosine_by_hand() -> None:
    # 3 warm-up steps of 10: 1/4, 2/4, 3/4, then cos over the 7 remaining steps.
    got = [warmup_cosine(s, 3, 10) for s in range(10)]
    want = [0.25, 0.5, 0.75] + [0.5 * (1 + math.cos(math.pi * k / 7)) for k in range(7)]
    assert got == pytest.approx(want, abs=1e-15)
    assert warmup_cosine(0, 0, 4) == 1.0 and warmup_cosine(2, 0, 4) == pytest.approx(0.5)
    assert warmup_cosine(4, 0, 4) == pytest.approx(0.0)


def test_scheduler_steps_once_per_optimizer_step() -> None:
    p = nn.Parameter(torch.zeros(2))
    opt = torch.optim.AdamW([p], lr=0.1)
    sched = build_scheduler(opt, warmup_steps=1, total_steps=5)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.05, 0.1, 0.1 * 0.5 * (1 + math.cos(math.pi / 4)), 0.05,
                                 0.1 * 0.5 * (1 + math.cos(3 * math.pi / 4))])
    assert sched.state_dict()["lr_lambdas"] == [None]  # nothing pickled
    with pytest.raises(ConfigError, match="leaves no step"):
        build_scheduler(opt, warmup_steps=5, total_steps=5)


def test_weight_decay_skips_one_dimensional_parameters_adamw_by_hand() -> None:
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    w0, b0 = layer.weight.detach().clone(), layer.bias.detach().clone()
    opt = build_optimizer(layer, "adamw", lr=0.1, weight_decay=0.5)
    assert isinstance(opt, torch.optim.AdamW)
    layer.weight.grad = torch.full_like(w0, 2.0)
    layer.bias.grad = torch.full_like(b0, -3.0)
    opt.step()
    # First Adam step moves every weight by lr * g / (|g| + eps); decay multiplies by 1 - lr * wd first.
    step = 0.1 * 2.0 / (2.0 + 1e-8)
    torch.testing.assert_close(layer.weight.detach(), w0 * (1 - 0.1 * 0.5) - step)
    torch.testing.assert_close(layer.bias.detach(), b0 + 0.1 * 3.0 / (3.0 + 1e-8))


def test_adamp_is_built_with_two_groups_and_frozen_parameters_left_out() -> None:
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 3))
    model[2].requires_grad_(False)
    opt = build_optimizer(model, "adamp", lr=5e-3, weight_decay=0.01)
    assert isinstance(opt, AdamP)
    decay, no_decay = opt.param_groups
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 2, 3, 3])] and decay["weight_decay"] == 0.01
    assert [p.shape for p in no_decay["params"]] == [torch.Size([4])] * 3 and no_decay["weight_decay"] == 0.0
    with pytest.raises(ConfigError, match="use one of adamw, adamp"):
        build_optimizer(model, "sgd", lr=0.1, weight_decay=0.0)
