"""The neuromorphic profiles (models/neuromorphic*.py) against hand and brute-force computations."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from spikinghash.errors import ConfigError
from spikinghash.models import create_model
from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.models.neuromorphic_graph import Wiring, run_layers
from spikinghash.models.neuromorphic_ops import INPUT, BandMixer, Projection, shift_in_time
from spikinghash.models.neuromorphic_swm import NeuromorphicWaveMixer, spatial_haar, temporal_haar
from spikinghash.models.spiking_attention import SpikingSelfAttention

C = math.sqrt(0.5)


def test_shift_in_time_is_a_delay_with_zeros_first() -> None:
    x = torch.arange(1.0, 6.0).reshape(5, 1)
    assert shift_in_time(x, 2).flatten().tolist() == [0, 0, 1, 2, 3]
    assert shift_in_time(x, 7).flatten().tolist() == [0] * 5


def test_temporal_haar_is_the_causal_pair_sum_and_difference() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 1, 3, 2, 2)  # [T, B, C, H, W]
    delta = 2
    now = Projection(INPUT, temporal_haar(3, 0))
    past = Projection(INPUT, temporal_haar(3, 1), delay=delta)
    bands = (now(x) + past(x)).unflatten(2, (3, 2))  # channel-major: [.., C, band]
    for t in range(6):
        prev = x[t - delta] if t >= delta else torch.zeros_like(x[0])
        torch.testing.assert_close(bands[t, :, :, 0], C * (x[t] + prev))
        torch.testing.assert_close(bands[t, :, :, 1], C * (x[t] - prev))


@pytest.mark.parametrize(("axis", "delta"), [("h", 1), ("w", 1), ("h", 2), ("w", 2)])
def test_spatial_haar_matches_a_loop_with_zero_border(axis: str, delta: int) -> None:
    torch.manual_seed(1)
    channels, in_bands = 2, 2
    x = torch.randn(1, channels * in_bands, 5, 6)
    out = spatial_haar(channels, in_bands, range(4), axis, delta)(x).unflatten(1, (channels, 4))
    padded = torch.nn.functional.pad(x, (0, delta, 0, delta)).unflatten(1, (channels, in_bands))
    for c in range(channels):
        for k in range(4):
            src = padded[0, c, k >> 1]
            for i in range(5):
                for j in range(6):
                    partner = src[i + delta, j] if axis == "h" else src[i, j + delta]
                    sign = -1.0 if k & 1 else 1.0
                    expected = C * (src[i, j] + sign * partner)
                    assert out[0, c, k, i, j].item() == pytest.approx(expected.item(), abs=1e-6)


def test_wave_mixer_is_perfect_reconstruction_with_linear_neurons() -> None:
    """With every neuron replaced by the identity, unit mixers and an identity channel mixer,
    the undecimated analysis followed by the band sums (gains 2**(-3j/2)) returns the input."""
    torch.manual_seed(2)
    channels, grid = 8, (5, 4)
    wiring = Wiring()
    wiring.add_input((channels, *grid))
    holder = nn.Module()
    holder.stem = Projection(INPUT, nn.Identity())
    wiring.project("stem", holder.stem)
    holder.swm = NeuromorphicWaveMixer(wiring, "swm", ["stem"], channels, *grid, levels=2, groups=2,
                                       entry_neuron=LIFParams(), neuron=LIFParams())
    holder.sink = nn.Identity()
    wiring.layer("sink", (channels, *grid), holder.swm.outputs)
    for name, module in list(holder.named_modules()):
        if isinstance(module, LIF):
            parent, _, leaf = name.rpartition(".")
            setattr(holder.get_submodule(parent), leaf, nn.Identity())
        if isinstance(module, BandMixer):
            module.weight.data = torch.eye(module.weight.shape[1]).expand_as(module.weight).clone()
    x = torch.randn(7, 2, channels, *grid, dtype=torch.float64)
    holder.double()
    torch.testing.assert_close(run_layers(holder, wiring.layers, x), x)


def test_profile_replaces_attention_and_max_pool_and_keeps_widths() -> None:
    paper = create_model("spikinghash_s", in_channels=3, img_size=32, T=4)
    model = create_model("spikinghash_s_nir", in_channels=3, img_size=32, T=4)
    assert isinstance(model, NeuromorphicHashNet)
    assert not any(isinstance(m, (SpikingSelfAttention, nn.MaxPool2d)) for m in model.modules())
    assert [s.dim for s in model.arch.stages] == [s.dim for s in paper.arch.stages]
    # S has max-pools in stages 3-4 only: 32 -> 32 -> 32 -> 16 -> 8, as in the paper model.
    assert model.backbone.out_grid == paper.backbone.out_grid == (8, 8)
    assert [s.stride for s in model.arch.stages] == [1, 1, 2, 2]


def test_populations_have_the_recorded_shapes() -> None:
    torch.manual_seed(3)
    model = create_model("spikinghash_ti_nir", in_channels=2, img_size=16, T=4, bits=8).eval()
    seen: dict[str, tuple[int, ...]] = {}
    for name, module in model.backbone.named_modules():
        if isinstance(module, LIF):
            module.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, tuple(o.shape[2:])))
    with torch.no_grad():
        model(torch.rand(4, 1, 2, 16, 16))
    assert seen == {layer.population: layer.shape for layer in model.backbone.layers}
    # 16 -> 8 -> 4 -> 2 -> 1 with stride 2 in every Ti stage; 256 channels at the end.
    assert model.backbone.layers[-1].shape == (256, 1, 1)


def test_rebuilt_from_saved_config_is_the_same_network() -> None:
    torch.manual_seed(4)
    model = create_model("spikinghash_ti_nir", in_channels=2, img_size=(16, 8), T=4, bits=8,
                         neuron=LIFParams(tau=1.5))
    clone = NeuromorphicHashNet.from_config(json.loads(json.dumps(model.config())))
    clone.load_state_dict(model.state_dict())
    model.eval(), clone.eval()
    x = torch.rand(4, 2, 2, 16, 8) * 3
    assert clone.config() == model.config()
    assert torch.equal(model(x).mem, clone(x).mem)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hash_head": "sgn"}, "spiking hash layer"),
        ({"neuron": LIFParams(v_reset=-0.5)}, "v_reset"),
        ({"mixer_groups": 5}, "mixer_groups"),
        ({"attn_scale": 0.1}, "unknown model option"),
    ],
)
def test_bad_settings_raise_config_errors(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_model("spikinghash_ti_nir", in_channels=2, img_size=16, T=4, **overrides)
