"""The ONNX counter on real exports of registered models (tiny sizes): every model can be priced, and the
per-sample figures do not depend on how the samples are batched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.energy.layer_cost import totals
from spikinghash.energy.onnx_count import count_onnx
from spikinghash.energy.summary import headline, onnx_views
from spikinghash.export.onnx_export import export_onnx
from spikinghash.models.factory import create_model, list_models

TINY = {"in_channels": 2, "img_size": 16, "T": 4, "bits": 16, "num_classes": 5}
SHRINK = {"transhash_paper": dict(patch_size=8, dim=32, depth=2, heads=2)}


def _export(name: str, path: Path) -> None:
    torch.manual_seed(0)
    model = create_model(name, **{**TINY, **SHRINK.get(name, {})})
    export_onnx(model, path, (4, 2, 16, 16), model_name=name)


def _frames(batch: int) -> np.ndarray:
    return np.random.default_rng(0).poisson(1.0, (4, batch, 2, 16, 16)).astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_every_model_is_priced(tmp_path: Path, name: str) -> None:
    torch.set_num_threads(1)
    _export(name, tmp_path / "m.onnx")
    counter = count_onnx(tmp_path / "m.onnx", [_frames(3)], 4)
    layers = counter.layers()
    assert layers and layers[0].mac_count > 0  # the first layer reads event frames: MACs
    assert not any("classifier" in l.name for l in layers)  # training-only head feeds logits only
    assert all(l.input_rate is None or 0 <= l.input_rate <= 1 for l in layers)
    s = headline(onnx_views(counter, 3))
    assert 0 < s["energy_pj_per_sample_float"] == totals(layers)["energy_pj"]
    assert s["energy_pj_per_sample_ann_fp32"] == pytest.approx(4.6 * sum(l.flops for l in layers))


@pytest.mark.slow
def test_spikinghash_ti_counts_do_not_depend_on_batching(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    _export("spikinghash_ti", tmp_path / "ti.onnx")
    x = _frames(3)
    one = count_onnx(tmp_path / "ti.onnx", [x], 4)
    three = count_onnx(tmp_path / "ti.onnx", [x[:, i:i + 1] for i in range(3)], 4)
    a, b = one.layers(), three.layers()
    assert [(l.name, l.flops, l.mac_count) for l in a] == [(l.name, l.flops, l.mac_count) for l in b]
    assert [l.input_rate for l in a] == pytest.approx([l.input_rate for l in b])
    types = {l.type for l in a}
    assert "MatMul(spike×spike)" in types  # SSA's QKᵀ: accumulates at the rate of co-active pairs
    assert a[0].type == "Conv(input)"  # the stem on the frames: Eq. 26's first layer
    assert one.neuron_table() and 0 < one.mean_firing_rate() < 1
