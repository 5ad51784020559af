"""The classification head's input: the hash code (default, "(Hash)") or the pooled features (``task=classify``).

Checked against hand computations (the head as a matrix product on the code or on the pooled
features) and by perturbation (the feature head does not see the hash layer); old checkpoints
keep loading because the default model's state-dict keys and shapes are unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spikinghash.errors import ConfigError
from spikinghash.export.nir_export import export_nir
from spikinghash.models import create_model
from spikinghash.models.hash_net import SpikingHashNet

SMALL = {"stem_dim": 8, "mlp_ratio": 1.0, "dwt_levels": 1, "mixer_groups": 4}


def build(name: str, classifier_input: str | None = None, seed: int = 0) -> SpikingHashNet:
    torch.manual_seed(seed)
    extra = {} if classifier_input is None else {"classifier_input": classifier_input}
    model = create_model(name, in_channels=2, img_size=32, T=4, bits=8, num_classes=5, **SMALL, **extra)
    return model.eval()  # type: ignore[return-value]


def frames(batch: int = 3) -> torch.Tensor:
    return (torch.rand(4, batch, 2, 32, 32, generator=torch.Generator().manual_seed(1)) < 0.3).float()


@pytest.mark.parametrize("name", ["spikinghash_ti", "spikinghash_ti_nir"])
def test_default_reads_the_code_with_unchanged_state_dict(name: str) -> None:
    default, on_code, on_features = build(name), build(name, "code"), build(name, "features")
    assert default.build_args["classifier_input"] == "code"
    shapes = {k: tuple(v.shape) for k, v in default.state_dict().items()}
    assert shapes == {k: tuple(v.shape) for k, v in on_code.state_dict().items()}
    assert shapes["classifier.weight"] == (5, 8)  # [classes, bits]: an old checkpoint's shape
    feature_shapes = {k: tuple(v.shape) for k, v in on_features.state_dict().items()}
    assert feature_shapes.keys() == shapes.keys()
    assert feature_shapes["classifier.weight"] == (5, default.backbone.out_dim)
    x = frames()
    with torch.no_grad():
        out = default(x)
        by_hand = out.code @ default.classifier.weight.T + default.classifier.bias
    torch.testing.assert_close(out.logits, by_hand)


@pytest.mark.parametrize("name", ["spikinghash_ti", "spikinghash_ti_nir"])
def test_feature_head_reads_pooled_features_not_the_hash_layer(name: str) -> None:
    model = build(name, "features")
    x = frames()
    with torch.no_grad():
        out = model(x)
        pooled = model.backbone(x).mean(dim=(-1, -2)).mean(dim=0)  # [B, C]: space, then the T steps
        by_hand = pooled @ model.classifier.weight.T + model.classifier.bias
        torch.testing.assert_close(out.logits, by_hand)
        for p in model.hash_head.parameters():
            p.add_(torch.randn_like(p))
        moved = model(x)
    torch.testing.assert_close(moved.logits, out.logits)  # the hash layer is not on the head's path
    assert out.code.shape == (3, 8) and out.mem.shape == (3, 8)  # HashOutput keeps its shape


def test_config_without_classifier_input_rebuilds_an_old_model() -> None:
    old = build("spikinghash_ti")
    config = old.config()
    config.pop("classifier_input")  # as saved before the option existed
    rebuilt = SpikingHashNet.from_config(config)
    rebuilt.load_state_dict(old.state_dict())
    assert rebuilt.build_args["classifier_input"] == "code"


def test_unknown_classifier_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="classifier_input 'logits'"):
        build("spikinghash_ti", "logits")


def test_nir_export_of_a_feature_head_model_leaves_the_head_out(tmp_path: Path) -> None:
    graphs = [export_nir(build("spikinghash_ti_nir", source), tmp_path / f"{source}.nir", model_name="spikinghash_ti_nir")
              for source in ("code", "features")]
    assert sorted(graphs[0].nodes) == sorted(graphs[1].nodes)
    assert graphs[0].nodes["output"].output_type == graphs[1].nodes["output"].output_type
