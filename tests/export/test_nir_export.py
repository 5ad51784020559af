"""NIR export (export/nir_export.py): round trip through the file, folding, mapping, metadata.

The reference is an independent reading of the file: ``nir.read``, then nirtorch's interpreter
with NIR's own neuron equations (``export/nir_executable.py``), stepped one frame at a time,
against the torch model run on all T steps at once with unfolded batch norms.
"""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.export.nir_check import type_check
from spikinghash.export.nir_executable import load_executable
from spikinghash.export.nir_export import export_nir, fold_batch_norm, hash_affine, to_nir_graph
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.models import HashOutput, create_model
from spikinghash.models.hash_heads import SpikingHashHead
from spikinghash.models.lif import LIF, LIFParams, MembraneLIF
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.models.neuromorphic_ops import ConvBN
from spikinghash.pipeline.export import write_with_consumers


def nir_event_frames(T: int, batch: int, size: int, seed: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """``[T, B, 2, size, size]`` sparse event counts (0..3 per pixel and polarity)."""
    gen = torch.Generator().manual_seed(seed)
    active = torch.rand(T, batch, 2, size, size, generator=gen) < 0.3
    counts = torch.randint(1, 4, (T, batch, 2, size, size), generator=gen)
    return (active * counts).to(dtype)


def warmed_up(name: str, *, img_size: int, T: int, bits: int, seed: int, **overrides: object) -> NeuromorphicHashNet:
    """A random-initialised profile in float64 whose batch norms hold non-trivial running statistics.

    The statistics are the average of three train-mode passes on random event frames (as after
    training, not the initial mean 0 and variance 1); the model is then switched to eval. Half of the hash biases are raised so that those bits fire at every step:
    the codes are then neither all-zero nor all-one, and the AND over time is exercised.
    """
    torch.manual_seed(seed)
    model = create_model(name, in_channels=2, img_size=img_size, T=T, bits=bits, num_classes=4, **overrides)
    assert isinstance(model, NeuromorphicHashNet)
    model = model.double().train()
    for norm in model.modules():
        if isinstance(norm, nn.modules.batchnorm._BatchNorm):
            norm.momentum = None  # running statistics = the average over the passes
    with torch.no_grad():
        for i in range(3):
            model(nir_event_frames(T, 2, img_size, seed=100 + i))
        model.hash_head.norm.bias[: bits // 2] += 2.0
    return model.eval()


def record_spikes(model: torch.nn.Module, x: Tensor) -> tuple[HashOutput, dict[str, Tensor]]:
    """The model's output and every neuron layer's spikes ``[T, B, ...]`` by module path."""
    spikes: dict[str, Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, LIF):
            hooks.append(module.register_forward_hook(lambda m, i, o, name=name: spikes.__setitem__(name, o)))
        elif isinstance(module, MembraneLIF):
            hooks.append(module.register_forward_hook(lambda m, i, o, name=name: spikes.__setitem__(name, o.spikes)))
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return out, spikes


def _round_trip(tmp_path: Path, name: str, size: int, **overrides: object) -> None:
    T, bits = 8, 32
    model = warmed_up(name, img_size=size, T=T, bits=bits, seed=0, **overrides)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    # Folding is only tested if the statistics are far from the initial (0, 1).
    assert all(n.running_mean.abs().max() > 1e-3 for n in norms)
    path = tmp_path / f"{name}.nir"
    export_nir(model, path, model_name=name)
    x = nir_event_frames(T, 2, size, seed=7)
    out, reference = record_spikes(model, x)
    run = load_executable(path, dtype=torch.float64)(x)

    assert set(run.spikes) == set(reference)  # every neuron layer of the model is a NIR node
    for layer, spikes in reference.items():
        assert torch.equal(run.spikes[layer], spikes), f"{layer}: {(run.spikes[layer] != spikes).sum()} spikes differ"
    assert torch.equal(run.output, reference["hash_head.sn"])
    assert torch.equal(run.code, out.code)
    # The comparison is not one of silent layers, and the code is neither all 0 nor all 1.
    assert sum(bool(s.any()) for s in reference.values()) >= 0.9 * len(reference)
    assert 0.0 < out.code.mean().item() < 1.0


def test_round_trip_ti_spikes_identical_in_every_layer_and_step(tmp_path: Path) -> None:
    # tau = 1.75 makes dt/tau inexact, so the LIF mapping is tested off the easy tau = 2.
    _round_trip(tmp_path, "spikinghash_ti_nir", 32, neuron=LIFParams(tau=1.75))


@pytest.mark.slow
def test_round_trip_s_spikes_identical_in_every_layer_and_step(tmp_path: Path) -> None:
    _round_trip(tmp_path, "spikinghash_s_nir", 16)


@pytest.fixture(scope="module")
def exported_ti(tmp_path_factory: pytest.TempPathFactory) -> tuple[NeuromorphicHashNet, Path]:
    torch.manual_seed(0)
    model = create_model("spikinghash_ti_nir", in_channels=2, img_size=32, T=8, bits=32, num_classes=4,
                         neuron=LIFParams(tau=1.75, v_threshold=0.8), hash_neuron=LIFParams(tau=3.0, v_threshold=0.3))
    path = tmp_path_factory.mktemp("nir") / "ti.nir"
    graph = to_nir_graph(model.eval(), T=8, dt=2e-3, model_name="spikinghash_ti_nir")
    write_with_consumers(graph, path)  # what `spikinghash export nir` writes
    return model, path


def test_file_reads_back_typed_and_canonical(exported_ti: tuple[NeuromorphicHashNet, Path]) -> None:
    _, path = exported_ti
    graph = nir.read(path, type_check=False)
    type_check(graph)  # NIR's own inference and check (grouped Conv2d input types corrected)
    parse(graph)  # the canonical form, as written
    assert graph.metadata["dt"] == pytest.approx(2e-3) and int(graph.metadata["T"]) == 8
    info = graph.metadata["spikinghash"]
    assert info["model"] == "spikinghash_ti_nir" and int(info["bits"]) == 32
    assert list(info["input_shape"]) == [2, 32, 32]
    # Consumers found by trying them: nirtorch runs it; snnTorch's importer has no grouped conv, Scale, Delay.
    consumers = graph.metadata["consumers"]
    assert consumers["nirtorch"] == "yes" and consumers["snntorch.import_nir"].startswith("no: ")
    assert "no Delay node in its importer" in consumers["snntorch.import_nir"]


def test_node_list_of_ti(exported_ti: tuple[NeuromorphicHashNet, Path]) -> None:
    """Node counts by hand from Table I (Ti: 4 stride-2 downsamples, SWM blocks in stages 2 and 4)."""
    graph = nir.read(exported_ti[1], type_check=False)
    counts: dict[str, int] = {}
    for node in graph.nodes.values():
        counts[type(node).__name__] = counts.get(type(node).__name__, 0) + 1
    blocks, levels = 2, 2
    # per block: entry, 5 per level (t, h, low, high, token), MLP sn1 and sn2
    lif = 4 + blocks * (1 + 5 * levels + 2) + 1 + 1  # + head_sn + hash neurons
    # a projection appears once per reader: a stage's downsample conv is read by the SWM entry, the
    # MLP and the next stage (3 readers) with a block, by the next stage only without; the mixers'
    # outputs (2 band mixers, 1 global) by the MLP and the next stage (2 readers)
    conv = 1 + (1 + 3 + 1 + 3) + blocks * (levels * (2 + 1 + 2) + 2 * levels + 1 + 1)
    scale = blocks * (levels + 2)
    assert counts == {"Input": 1, "Output": 1, "LIF": lif, "Conv2d": conv, "Scale": scale,
                      "Delay": blocks * levels, "Flatten": 1, "Affine": 1}
    delays = {n: float(np.unique(v.delay)[0]) for n, v in graph.nodes.items() if isinstance(v, nir.Delay)}
    assert delays == {
        f"backbone.stages.{s}.blocks.0.swm.levels.{j}.t_past.delay": pytest.approx((1, 2)[j] * 2e-3)
        for s in (1, 3) for j in (0, 1)
    }


def test_neuron_mapping_is_the_contracts(exported_ti: tuple[NeuromorphicHashNet, Path]) -> None:
    graph = nir.read(exported_ti[1], type_check=False)
    dt = 2e-3
    expected = {"backbone.stages.0.down.sn": (1.75, 0.8), "backbone.stages.1.blocks.0.swm.levels.0.t_sn": (2.0, 0.25),
                "hash_head.sn": (3.0, 0.3)}
    for name, (gamma, v_th) in expected.items():
        node = graph.nodes[name]
        assert isinstance(node, nir.LIF)
        np.testing.assert_allclose(node.tau, gamma * dt)
        np.testing.assert_array_equal(node.r, 1.0)
        np.testing.assert_array_equal(node.v_leak, 0.0)
        np.testing.assert_array_equal(node.v_reset, 0.0)
        np.testing.assert_allclose(node.v_threshold, v_th)
    assert graph.nodes["backbone.stages.0.down.sn"].tau.shape == (32, 32, 32)  # the layer's shape


def _random_stats(norm: nn.Module, gen: torch.Generator) -> None:
    n, kind = norm.num_features, {"generator": gen, "dtype": torch.float64}
    norm.running_mean.copy_(torch.randn(n, **kind))
    norm.running_var.copy_(torch.rand(n, **kind) + 0.5)
    norm.weight.copy_(torch.randn(n, **kind))
    norm.bias.copy_(torch.randn(n, **kind))


def test_batch_norm_folded_into_the_conv_equals_torch_batch_norm() -> None:
    gen = torch.Generator().manual_seed(3)
    op = ConvBN(4, 6, 3, stride=2).double().eval()
    with torch.no_grad():
        _random_stats(op.norm, gen)
    node = op.to_nir((4, 9, 9))
    x = torch.randn(2, 4, 9, 9, generator=gen, dtype=torch.float64)
    folded = F.conv2d(x, torch.from_numpy(node.weight), torch.from_numpy(node.bias), node.stride, node.padding)
    torch.testing.assert_close(folded, op(x), rtol=1e-12, atol=1e-12)
    assert list(node.output_type["output"]) == [6, 5, 5]


def test_hash_affine_is_pooling_linear_and_batch_norm() -> None:
    gen = torch.Generator().manual_seed(4)
    head = SpikingHashHead(5, 3, LIFParams()).double().eval()
    with torch.no_grad():
        _random_stats(head.norm, gen)
    node = hash_affine(head, (5, 2, 3))
    spikes = (torch.rand(4, 5, 2, 3, generator=gen) < 0.5).double()
    expected = head.norm(head.linear(spikes.mean(dim=(-2, -1))))
    torch.testing.assert_close(spikes.flatten(1) @ torch.from_numpy(node.weight).T + torch.from_numpy(node.bias),
                               expected, rtol=1e-12, atol=1e-12)
    # Identity norm (hash_bn=False): the Linear alone.
    weight, bias = fold_batch_norm(head.linear.weight, head.linear.bias, nn.Identity())
    assert torch.equal(weight, head.linear.weight) and torch.equal(bias, head.linear.bias)


@pytest.mark.parametrize(("name", "where"), [("spikinghash_s", "spiking self-attention"), ("transhash", "layer norm")])
def test_paper_models_are_refused_and_no_file_is_written(tmp_path: Path, name: str, where: str) -> None:
    model = create_model(name, in_channels=2, img_size=16, T=4, bits=16)
    path = tmp_path / "model.nir"
    with pytest.raises(ConfigError, match=f"^{name} cannot be exported to NIR: .*{where}"):
        export_nir(model, path, model_name=name)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_other_modules_and_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no NIR exporter"):
        export_nir(nn.Sequential(nn.Linear(2, 2)), tmp_path / "x.nir")
    model = create_model("spikinghash_ti_nir", in_channels=2, img_size=16, T=4, bits=8)
    with pytest.raises(ConfigError, match="T=0"):
        export_nir(model, tmp_path / "x.nir", T=0)
