"""Energy on a hand-built ONNX graph shaped like our exports (scoped node names, LIF = compare + cast).

Every FLOP count and rate is recomputed here with numpy/torch from the same frames; the energies are
Eq. 26 written out by hand (E_MAC = 4.6 pJ, E_AC = 0.9 pJ).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

from spikinghash.energy.layer_cost import totals
from spikinghash.energy.onnx_count import count_onnx
from spikinghash.energy.summary import NO_MODELS_ONNX, headline, onnx_views

T, B = 2, 3  # different on purpose: FLOPs divided by T instead of the batch would show
RNG = np.random.default_rng(0)
W1 = RNG.normal(0, 1, (2, 1, 3, 3)).astype(np.float32)
W2 = RNG.normal(0, 1, (3, 2, 1, 1)).astype(np.float32)
W3 = RNG.normal(0, 1, (2, 1, 3, 3)).astype(np.float32)
WFC = RNG.normal(0, 1, (16, 4)).astype(np.float32)


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def tiny_model(path: Path) -> None:
    """x [T, B, 1, 4, 4] -> stem conv (MAC) -> LIF -> conv2 (AC), QKᵀ of spikes, residual adds, a conv on
    an all-zero-by-construction tensor, a per-step linear on x, a bias add, and a classifier on logits only."""
    n = helper.make_node
    nodes = [
        n("Reshape", ["x", "shape4"], ["x4"], name="/Reshape"),
        n("Conv", ["x4", "W1"], ["y"], name="/stem/Conv", pads=[1, 1, 1, 1]),
        n("Greater", ["y", "vth"], ["fired"], name="/lif/Greater"),
        n("Cast", ["fired"], ["s"], name="/lif/Cast", to=TensorProto.FLOAT),
        n("Conv", ["s", "W2"], ["z"], name="/conv2/Conv"),
        n("Mul", ["x4", "zero"], ["zeros"], name="/zero/Mul"),
        n("Conv", ["zeros", "W3"], ["z3"], name="/conv3/Conv", pads=[1, 1, 1, 1]),
        n("Reshape", ["s", "shape3"], ["q"], name="/attn/Reshape"),
        n("Transpose", ["q"], ["kt"], name="/attn/Transpose", perm=[0, 2, 1]),
        n("MatMul", ["q", "kt"], ["qk"], name="/attn/MatMul"),
        n("Add", ["z", "z"], ["zz"], name="/res/Add"),
        n("Add", ["s", "s"], ["ss"], name="/res/Add_1"),
        n("Add", ["z", "bias"], ["zb"], name="/res/Add_2"),
        n("Reshape", ["x", "shape_fc"], ["xf"], name="/fc/Reshape"),
        n("MatMul", ["xf", "WFC"], ["f"], name="/fc/MatMul"),
        *[n("Flatten", [t], [f"{t}_flat"], name=f"/out/Flatten_{t}") for t in ("z3", "qk", "zz", "ss", "zb")],
        n("Reshape", ["f", "shape_f2"], ["f_flat"], name="/out/Reshape"),
        n("Concat", ["z3_flat", "qk_flat", "zz_flat", "ss_flat", "zb_flat", "f_flat"], ["mem"], name="/out/Concat",
          axis=1),
        n("Greater", ["mem", "vth"], ["code_b"], name="Greater"),
        n("Cast", ["code_b"], ["code"], name="Cast", to=TensorProto.UINT8),
        n("Gemm", ["zz_flat", "WC"], ["logits"], name="/classifier/Gemm"),
    ]
    inits = [_const("shape4", np.array([-1, 1, 4, 4])), _const("W1", W1), _const("vth", np.float32(0.5)),
             _const("W2", W2), _const("zero", np.float32(0.0)), _const("W3", W3),
             _const("shape3", np.array([-1, 2, 16])), _const("bias", np.ones((1, 3, 1, 1), np.float32)),
             _const("shape_fc", np.array([T, -1, 16])), _const("WFC", WFC), _const("shape_f2", np.array([-1, 4])),
             _const("WC", np.ones((48, 5), np.float32))]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, "batch", 1, 4, 4])],
        [helper.make_tensor_value_info(o, t, s) for o, t, s in
         (("code", TensorProto.UINT8, ["n", 168]), ("mem", TensorProto.FLOAT, ["n", 168]),
          ("logits", TensorProto.FLOAT, ["n", 5]))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    tiny_model(path)
    return path


@pytest.fixture(scope="module")
def measured(onnx_path: Path) -> tuple:
    torch.set_num_threads(1)
    x = RNG.integers(0, 3, (T, B, 1, 4, 4)).astype(np.float32)  # event counts 0..2: event frames
    counter = count_onnx(onnx_path, [x[:, :2], x[:, 2:]], T)  # two batches of 2 and 1 samples
    s = (F.conv2d(torch.from_numpy(x.reshape(-1, 1, 4, 4)), torch.from_numpy(W1), padding=1) > 0.5).double()
    return counter, {layer.name: layer for layer in counter.layers()}, s.numpy()


def test_flops_are_per_sample_and_step(measured: tuple) -> None:
    _, layers, _ = measured
    expect = {"/stem/Conv": 2 * 16 * 9, "/conv2/Conv": 3 * 16 * 2, "/conv3/Conv": 2 * 16 * 9,
              "/attn/MatMul": 2 * 2 * 16, "/res/Add": 48, "/res/Add_1": 32, "/fc/MatMul": 4 * 16,
              "/zero/Mul": 16}
    assert {k: v.flops for k, v in layers.items()} == expect  # bias add and classifier left out


def test_first_layer_and_zero_tensor_are_macs(measured: tuple) -> None:
    counter, layers, _ = measured
    stem, conv3 = layers["/stem/Conv"], layers["/conv3/Conv"]
    assert counter.input_profile().kind == "event_frames" and stem.type == "Conv(input)"
    assert stem.input_rate is None and stem.mac_count == T * 288 and stem.energy_pj == pytest.approx(4.6 * T * 288)
    # all zero by construction: a value-only test would call it "spikes at rate 0" and price it at 0 pJ
    assert conv3.input_rate is None and conv3.energy_pj == pytest.approx(4.6 * T * 288)
    assert layers["/fc/MatMul"].mac_count == T * 64  # a [T, B, ...] tensor: T steps, not B


def test_spike_layers_by_hand(measured: tuple) -> None:
    _, layers, s = measured
    rate = s.mean()  # over all T·B rows: spikes per neuron per step
    conv2 = layers["/conv2/Conv"]
    assert conv2.type == "Conv(spike)" and conv2.input_rate == pytest.approx(rate)
    assert conv2.sops == pytest.approx(rate * T * 96) and conv2.energy_pj == pytest.approx(0.9 * rate * T * 96)
    q = s.reshape(-1, 2, 16)
    pairs = (q @ q.transpose(0, 2, 1)).sum()  # products with both factors 1 (QKᵀ of spikes)
    attn = layers["/attn/MatMul"]
    assert attn.type == "MatMul(spike×spike)"
    assert attn.input_rate == pytest.approx(pairs / (T * B * 64))
    assert attn.ac_count == pytest.approx(pairs / B)  # rates applied once: exactly the nonzero products
    assert layers["/res/Add"].type == "Add(real)" and layers["/res/Add"].ac_count == pytest.approx(T * 48)
    assert layers["/res/Add_1"].input_rate == pytest.approx(rate)
    tot = totals(list(layers.values()))
    macs = T * (288 + 288 + 64 + 16)  # stem, conv3, fc, the Mul by 0
    sops = rate * T * 96 + pairs / B + T * 48 + rate * T * 32
    assert tot["energy_pj"] == pytest.approx(4.6 * macs + 0.9 * sops)  # Eq. 26


@pytest.mark.parametrize("kind", ["binary", "static"])
def test_first_layer_by_input_kind(onnx_path: Path, kind: str) -> None:
    """The one rule of Eq. 26 for the nodes fed by the input (the stem conv, the per-step linear and the Mul by
    0): binary events are spikes, ACs at the input's rate; a static image's MACs count once."""
    rng = np.random.default_rng(1)
    x = (rng.random((T, B, 1, 4, 4)) < 0.3).astype(np.float32)
    if kind == "static":
        x[:] = 2 * x[:1]  # the same image (values 0 and 2) at every step
    layers = {l.name: l for l in count_onnx(onnx_path, [x], T).layers()}
    stem, fc, zero = layers["/stem/Conv"], layers["/fc/MatMul"], layers["/zero/Mul"]
    if kind == "static":
        assert (stem.mac_count, fc.mac_count, zero.mac_count) == (288, 64, 16)  # once, not × T
        assert stem.energy_pj == pytest.approx(4.6 * 288)
        return
    rate = x.mean()  # nonzero input values per element per step
    assert stem.type == "Conv(input)" and stem.input_rate == pytest.approx(rate) and stem.mac_count == 0
    assert stem.ac_count == pytest.approx(rate * T * 288) and stem.energy_pj == pytest.approx(0.9 * rate * T * 288)
    assert fc.ac_count == pytest.approx(rate * T * 64)
    assert layers["/conv3/Conv"].mac_count == T * 288  # the Mul's output (all 0) is not the input: MACs


def test_onnx_views_carry_the_fp32_counterpart_only(measured: tuple) -> None:
    counter, layers, _ = measured
    s = headline(onnx_views(counter, B))
    assert (s["graph"], s["integer"], s["energy_models"]) == ("onnx", None, None)
    assert s["float"]["input_kind"] == "event_frames"
    assert s["energy_pj_per_sample_float"] == pytest.approx(totals(list(layers.values()))["energy_pj"])
    # E_MAC × Σ FLOPs of one pass: stem, conv2, conv3, QKᵀ, two adds, fc, the Mul by 0
    assert s["energy_pj_per_sample_ann_fp32"] == pytest.approx(4.6 * (288 + 96 + 288 + 64 + 48 + 32 + 64 + 16))
    assert s["energy_pj_per_sample_ann_int8"] is None and s["energy_pj_per_sample_ann_lowbit"] is None
    assert s["energy_models_unavailable"] == NO_MODELS_ONNX
    assert not {"hardware", "ann", "energy_pj_per_sample_ann", "energy_pj_per_sample_hardware"} & set(s)


def test_neuron_updates_are_separate(measured: tuple) -> None:
    counter, _, s = measured
    (row,) = counter.neuron_table()
    assert row["name"] == "/lif" and row["updates_per_sample"] == T * 32
    assert row["spikes_per_sample"] == pytest.approx(s.sum() / B)
    assert counter.mean_firing_rate() == pytest.approx(s.mean())
