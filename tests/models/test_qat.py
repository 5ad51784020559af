"""Quantization-aware fine-tuning (models/qat_layers.py, hw_sim/target/qat_grid.py): the fake-quantized model, its NIR export and the integer network
quantized with the stored scales hold the same weights bit for bit; the straight-through gradient;
float vs integer agreement of a QAT model against post-training quantization of the same model."""

from __future__ import annotations

import math
from typing import Iterator

import nir
import numpy as np
import pytest
import torch

from spikinghash.errors import ConfigError
from spikinghash.export.nir_export import DEFAULT_DT, to_nir_graph
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.target.qat_grid import derive_grid as derive_grid_spec
from spikinghash.hw_sim.target.quantize import qat_scales, quant_summary, quantize
from spikinghash.models import create_model
from spikinghash.models.batch_norm import fold_batch_norm
from spikinghash.models.fake_quant import QatGrid, fake_quant
from spikinghash.models.qat_layers import attach_grid, grid_inputs
from spikinghash.pipeline.run_dir import grid_from_spec

T = 4
TINY = {"in_channels": 2, "img_size": 16, "T": T, "bits": 16, "num_classes": 5}
SMALL_NIR = {"stem_dim": 8, "stages": [{"dim": 8, "depth": 0, "stride": 2}, {"dim": 16, "depth": 1, "stride": 2}],
             "mlp_ratio": 2.0, "dwt_levels": 1, "mixer_groups": 2}


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def derive_grid(model: torch.nn.Module, net, calib: np.ndarray, steps: int) -> QatGrid:
    """The model's grid: its inputs (``models.qat_layers``) through ``hw_sim.target.qat_grid``, as ``spikinghash qat`` does."""
    inputs = grid_inputs(model)
    return grid_from_spec(derive_grid_spec(net, calib, steps, inputs.gains, inputs.bases))


def frames(batch: int, seed: int) -> np.ndarray:
    """``[T, batch, 2, 16, 16]`` Poisson event counts (integral: input quantum 1)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((T, batch, 2, 16, 16), 0.7), generator=gen).double().numpy()


def small_model(seed: int = 0) -> torch.nn.Module:
    """A random small neuromorphic model whose batch norms hold statistics of event frames."""
    torch.manual_seed(seed)
    model = create_model("spikinghash_ti_nir", **TINY, **SMALL_NIR)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(torch.as_tensor(frames(16, 100), dtype=torch.float32))
    return model.eval()


def qat_setup(seed: int = 0) -> tuple[torch.nn.Module, QatGrid, object]:
    """(PTQ model, QAT model with its grid attached, PTQ canonical net) from one random model."""
    ptq, qat = small_model(seed), small_model(seed)
    net = parse(to_nir_graph(ptq, T=T, dt=DEFAULT_DT, model_name="m"))
    grid = derive_grid(ptq, net, frames(32, 7), T)
    return ptq, attach_grid(qat, grid), net


def test_stored_scales_reproduce_the_fake_quant_grid_bit_for_bit(tmp_path) -> None:
    _, model, _ = qat_setup()
    grid = model.qat_grid
    assert all(math.log2(s * 0.5).is_integer() for s in grid.scales.values())  # S·gain a power of two
    path = tmp_path / "m.nir"
    nir.write(path, to_nir_graph(model, T=T, dt=DEFAULT_DT, model_name="m"))
    net = load(path)  # through the HDF5 file, as `simulate` reads it
    assert qat_scales(net) == grid.scales
    int_net = quantize(net, frames(32, 7), scales=qat_scales(net))
    summary = quant_summary(int_net)
    assert all(p["max_rel_weight_error"] == 0.0 for p in summary["paths"].values()), summary["paths"]
    assert all(layer["max_bias_error"] == 0.0 and layer["limited_by"].startswith("fixed")
               for layer in summary["layers"].values())
    # Independently: the torch forward's fake-quantized folded stem weight is (weight << exp) · 64/(S·gain).
    stem = model.backbone.stem.op
    w, _ = fold_batch_norm(stem.conv.weight, stem.conv.bias, stem.norm)
    g = grid.weights["backbone.stem"]
    q = int_net.synapses["backbone.stem->backbone.stages.0.down.sn"]
    unit = 64 / (grid.scales["backbone.stages.0.down.sn"] * 0.5)
    expected = (q.weight.astype(np.int64) << q.weight_exp) * unit
    np.testing.assert_array_equal(fake_quant(w, g.step, g.lo, g.hi).detach().double().numpy(), expected)
    # The hash head: FQ(W'/P) on every position of the exported Affine, and the snapped threshold.
    head = model.hash_head
    w, _ = fold_batch_norm(head.linear.weight, head.linear.bias, head.norm)
    g = grid.weights["hash_head.linear"]
    q = int_net.synapses["hash_head.linear->hash_head.sn"]
    unit = 64 / (grid.scales["hash_head.sn"] * 0.5)
    wq = fake_quant(w / head.qat_positions, g.step, g.lo, g.hi).detach().double().numpy()
    np.testing.assert_array_equal(np.repeat(wq, head.qat_positions, axis=1),
                                  (q.weight.astype(np.int64) << q.weight_exp) * unit)
    vth = int_net.neurons["hash_head.sn"].vth
    assert head.sn.params.v_threshold == vth * 64 / grid.scales["hash_head.sn"]


def test_biases_trained_past_the_mantissa_range_stay_representable() -> None:
    # Fine-tuning can push a bias beyond what Loihi's 13-bit bias mantissa holds at the layer's exponent (seen
    # after 4 QAT epochs of the demo). The grid clamps every bias to its share of that range, so the integer
    # network still holds the exported biases exactly and equals the float model spike for spike.
    _, model, _ = qat_setup()
    grid = model.qat_grid
    assert set(grid.bias_limits) == set(grid.bias_steps) and all(v > 0 for v in grid.bias_limits.values())
    with torch.no_grad():
        model.hash_head.norm.bias.add_(1e4)  # far past the range: the folded bias would need a huge mantissa
        model.backbone.stem.op.norm.bias.sub_(1e4)
    net = parse(to_nir_graph(model, T=T, dt=DEFAULT_DT, model_name="m"))
    for name, limit in (("hash_head.linear", grid.bias_limits["hash_head.linear"]),
                        ("backbone.stem", grid.bias_limits["backbone.stem"])):
        steps = net.synapses[next(k for k in net.synapses if k.startswith(name))].bias / grid.bias_steps[name]
        assert np.abs(steps).max() == limit  # clamped at the limit, on the grid
    int_net = quantize(net, frames(32, 7), scales=qat_scales(net))
    assert all(layer["max_bias_error"] == 0.0 for layer in quant_summary(int_net)["layers"].values())
    x = frames(24, 13)
    flt, exact = simulate_float(net, x), simulate_int(int_net, x)
    assert sum(_mismatches(flt, exact).values()) == 0
    # the same grid without the limits (a qat.json written before them) cannot hold these biases
    unclamped = attach_grid(small_model(), QatGrid(grid.scales, grid.thresholds, grid.weights, grid.bias_steps))
    with torch.no_grad():
        unclamped.hash_head.norm.bias.add_(1e4)
    net = parse(to_nir_graph(unclamped, T=T, dt=DEFAULT_DT, model_name="m"))
    summary = quant_summary(quantize(net, frames(32, 7), scales=qat_scales(net)))
    assert summary["layers"]["hash_head.sn"]["max_bias_error"] > 0


def test_bias_limits_hold_above_bias_exponent_7() -> None:
    # T = 10 puts every layer's bias exponent at T - 1 = 9, above Loihi's 3-bit bias_exp: the bias is then
    # held as m << 7 with m = k·4, so a quarter of the range remains, and biases stay exact within it.
    steps = 10
    torch.manual_seed(0)
    model = create_model("spikinghash_ti_nir", **{**TINY, "T": steps}, **SMALL_NIR).eval()
    x = torch.poisson(torch.full((steps, 16, 2, 16, 16), 0.7), generator=torch.Generator().manual_seed(1)).double()
    net = parse(to_nir_graph(model, T=steps, dt=DEFAULT_DT, model_name="m"))
    grid = derive_grid(model, net, x.numpy(), steps)
    qat = attach_grid(model, grid)
    with torch.no_grad():
        qat.hash_head.norm.bias.add_(1e4)
    net = parse(to_nir_graph(qat, T=steps, dt=DEFAULT_DT, model_name="m"))
    summary = quant_summary(quantize(net, x.numpy(), scales=qat_scales(net)))
    assert all(layer["max_bias_error"] == 0.0 for layer in summary["layers"].values())


def test_straight_through_gradient() -> None:
    x = torch.tensor([0.30, -0.26, 5.0, -5.0], requires_grad=True)
    y = fake_quant(x, 0.25, -4, 4)
    assert y.tolist() == [0.25, -0.25, 1.0, -1.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]  # straight through inside the range, 0 where clamped
    _, model, _ = qat_setup()
    model.train()
    out = model(torch.as_tensor(frames(8, 3), dtype=torch.float32))
    (out.mem.sum() + out.logits.sum()).backward()
    stem, head = model.backbone.stem.op, model.hash_head
    for p in (stem.conv.weight, stem.norm.weight, head.linear.weight, head.norm.bias):
        assert p.grad is not None and p.grad.abs().sum() > 0
    assert stem.norm.running_mean.equal(small_model().backbone.stem.op.norm.running_mean)  # BN frozen


def _mismatches(float_run, int_run) -> dict[str, int]:
    return {n: int(np.count_nonzero(float_run.spikes[n] != int_run.spikes[n])) for n in float_run.spikes}


def test_qat_agrees_with_the_integer_network_far_better_than_ptq() -> None:
    ptq, qat, ptq_net = qat_setup()
    qat_net = parse(to_nir_graph(qat, T=T, dt=DEFAULT_DT, model_name="m"))
    calib, x = frames(32, 7), frames(48, 11)
    q_int = quantize(qat_net, calib, scales=qat_scales(qat_net))
    p_int = quantize(ptq_net, calib)
    q_float, p_float = simulate_float(qat_net, x), simulate_float(ptq_net, x)
    exact, p_run = simulate_int(q_int, x), simulate_int(p_int, x)
    # Delayed paths see zeros before step 0 (the float contract, Delays of the temporal Haar included):
    # the QAT integer network equals its float model in every spike of every layer; PTQ does not.
    assert sum(_mismatches(q_float, exact).values()) == 0 and np.array_equal(exact.codes, q_float.codes)
    assert sum(_mismatches(p_float, p_run).values()) > 0


def test_torch_qat_model_matches_its_export() -> None:
    _, model, _ = qat_setup()
    x = frames(16, 5)
    net = parse(to_nir_graph(model, T=T, dt=DEFAULT_DT, model_name="m"))
    with torch.no_grad():
        code = model(torch.as_tensor(x, dtype=torch.float32)).code.numpy()
    np.testing.assert_array_equal(code, simulate_float(net, x).codes)


def test_fixed_scales_report_the_bounds_they_exceed() -> None:
    _, model, _ = qat_setup()
    net = parse(to_nir_graph(model, T=T, dt=DEFAULT_DT, model_name="m"))
    calib = frames(32, 7)
    chosen = quantize(net, calib).neurons
    # 1 % above each layer's own largest scale (threshold-bound layers kept: vth would not fit 17 bits)
    scales = {n: q.scale * (1.0 if q.limited_by == "threshold" else 1.01) for n, q in chosen.items()}
    fixed = quantize(net, calib, scales=scales).neurons
    for n, q in chosen.items():
        assert fixed[n].scale == scales[n]
        if q.limited_by == "threshold":
            assert fixed[n].limited_by == "fixed"
        else:  # the binding bound is among those exceeded (ties: several paths of equal weights)
            assert q.limited_by in fixed[n].limited_by.removeprefix("fixed, exceeds ").split(", ")
    with pytest.raises(ConfigError, match="lack neuron layer"):
        quantize(net, frames(4, 7), scales={"hash_head.sn": 1.0})


def test_paper_faithful_model_is_refused() -> None:
    paper = create_model("spikinghash_ti", **TINY)
    grid = QatGrid({}, {}, {}, {})
    with pytest.raises(ConfigError, match="paper-faithful"):
        attach_grid(paper, grid, "spikinghash_ti")
