"""Spikinghash builders: Table I layout, ablations, parameter counts, bad settings."""

from __future__ import annotations

import json

import pytest
import torch

from spikinghash.errors import ConfigError
from spikinghash.models import create_model
from spikinghash.models.hash_net import SpikingHashNet
from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.spiking_attention import SpikingSelfAttention
from spikinghash.models.wave_mixer import SpikingWaveMixer

CIFAR10 = {"in_channels": 3, "img_size": 32, "T": 4, "num_classes": 10, "bits": 64}
UCF101_DVS = {"in_channels": 2, "img_size": 128, "T": 8, "num_classes": 101, "bits": 64}


def _mixers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The token mixer of every block, stage by stage."""
    return [block.mixer for stage in model.backbone.stages for block in list(stage)[1:]]


def _n_params(model: torch.nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


@pytest.mark.parametrize(
    ("name", "settings", "paper_millions"),
    [
        ("spikinghash_s", CIFAR10, 3.87),  # Table II
        ("spikinghash_m", CIFAR10, 6.24),  # Table II
        ("spikinghash_m", UCF101_DVS, 6.50),  # Table III
        ("spikinghash_l", UCF101_DVS, 9.03),  # Table III
        ("spikinghash_xl", UCF101_DVS, 11.3),  # Table III
    ],
)
def test_parameter_counts_within_ten_percent_of_the_paper(name: str, settings: dict, paper_millions: float) -> None:
    ours = _n_params(create_model(name, **settings))
    assert abs(ours - paper_millions) / paper_millions < 0.10, ours


@pytest.mark.parametrize(
    ("name", "settings", "widths", "grids"),
    [
        ("spikinghash_s", CIFAR10, (96, 192, 192, 384), (32, 32, 16, 8)),
        ("spikinghash_m", CIFAR10, (96, 192, 384, 384), (32, 32, 16, 8)),
        ("spikinghash_l", UCF101_DVS, (128, 256, 384, 512), (64, 32, 16, 8)),
        ("spikinghash_xl", UCF101_DVS, (128, 256, 512, 512), (64, 32, 16, 8)),
    ],
)
def test_table_one_layout(name: str, settings: dict, widths: tuple, grids: tuple) -> None:
    model = create_model(name, **settings)
    mixers = _mixers(model)
    assert [type(m) for m in mixers] == [SpikingWaveMixer, SpikingWaveMixer, SpikingSelfAttention, SpikingSelfAttention]
    assert [stage[0][1][0].out_channels for stage in model.backbone.stages] == list(widths)
    # SWM weights are sized from their stage's grid; the last grid is the backbone's output.
    assert [m.input_shape[2] for m in mixers[:2]] == list(grids[:2])
    assert model.backbone.out_grid == (grids[3], grids[3])


def test_tiny_has_blocks_in_stages_two_and_four_only() -> None:
    model = create_model("spikinghash_ti", in_channels=2, img_size=128, T=16)
    assert [len(stage) - 1 for stage in model.backbone.stages] == [0, 1, 0, 1]


def test_two_d_ablation_has_no_time_axis_in_mixer_weights() -> None:
    base = create_model("spikinghash_s", **CIFAR10)
    ablated = create_model("spikinghash_s_2dswm", **CIFAR10)
    for b, a in zip(_mixers(base)[:2], _mixers(ablated)[:2]):
        assert b.axes == ("t", "h", "w") and a.axes == ("h", "w")
        assert b.global_weight.shape[0] == 1 and a.global_weight.shape[0] == 1  # T/4 = 1 at T = 4
        assert b.token_weights[0].shape[0] == 2 and a.token_weights[0].shape[0] == 1
    create_model("spikinghash_s_2dswm", **{**CIFAR10, "T": 6})  # no time constraint without a 3D DWT


def test_all_ssa_ablation_replaces_every_mixer() -> None:
    model = create_model("spikinghash_m_allssa", **CIFAR10)
    assert all(isinstance(m, SpikingSelfAttention) for m in _mixers(model))


def test_architecture_overrides_reach_the_neurons() -> None:
    model = create_model("spikinghash_s", neuron=LIFParams(tau=1.75))
    taus = {m.params.tau for name, m in model.named_modules() if isinstance(m, LIF) and "mixer.dwt_neurons.0" in name}
    assert taus == {1.75}


def test_config_is_plain_data() -> None:
    config = create_model("spikinghash_ti", in_channels=2, img_size=(64, 48), T=8).config()
    text = json.dumps(config)
    assert '"img_size": [64, 48]' in text and config["arch"]["stages"][1]["block"] == "swm"


def test_rebuilt_from_saved_config_is_the_same_network() -> None:
    torch.manual_seed(0)
    model = create_model("spikinghash_ti_2dswm", in_channels=2, img_size=16, T=4, bits=8, hash_bn=False)
    clone = SpikingHashNet.from_config(json.loads(json.dumps(model.config())))
    clone.load_state_dict(model.state_dict())
    x = torch.randn(4, 2, 2, 16, 16)
    model.eval(), clone.eval()
    assert clone.config() == model.config()
    assert torch.equal(model(x).mem, clone(x).mem)


def test_sgn_head_gives_binary_codes() -> None:
    torch.manual_seed(0)
    model = create_model("spikinghash_ti", in_channels=2, img_size=16, T=4, bits=8, hash_head="sgn")
    out = model(torch.randn(4, 2, 2, 16, 16))
    assert set(out.code.unique().tolist()) <= {0.0, 1.0}
    assert out.mem.abs().max() < 1.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bits": 0}, "bits"),
        ({"bits": -8}, "bits"),
        ({"bits": 16.0}, "bits"),
        ({"num_classes": 0}, "num_classes"),
        ({"T": 6}, "T = 6"),
        ({"T": 0}, "T = 0"),
        ({"img_size": 30}, "img_size 30x30"),
        ({"img_size": 0}, "img_size"),
        ({"img_size": (32, 32, 3)}, "img_size"),
        ({"in_channels": 0}, "in_channels"),
        ({"hash_head": "tanh"}, "hash_head"),
        ({"depth": 3}, "unknown model option"),
        ({"mixer_groups": 5}, "mixer_groups"),
    ],
)
def test_impossible_settings_raise_config_error(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_model("spikinghash_s", **overrides)


def test_large_maxpool_models_refuse_too_small_images() -> None:
    # L halves the grid before both SWM stages: 8 -> 4 -> 2, too small for a 2-level DWT.
    with pytest.raises(ConfigError, match="stage 2"):
        create_model("spikinghash_l", img_size=8)


def test_input_of_another_size_is_refused() -> None:
    model = create_model("spikinghash_ti", in_channels=2, img_size=16, T=4)
    with pytest.raises(ConfigError, match="expects input"):
        model(torch.zeros(4, 2, 2, 32, 32))
    with pytest.raises(ConfigError, match="expects input"):
        model(torch.zeros(2, 2, 16, 16))
