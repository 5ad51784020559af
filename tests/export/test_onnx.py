"""ONNX export: onnxruntime against torch's eval forward, for every registered model.

The reference is torch itself and the runtime under test is onnxruntime, an independent
implementation of every operator. The models have exact arithmetic (see conftest.py), so
codes, membranes and logits must agree bit for bit; TransHash keeps LayerNorm, GELU and
tanh, which the two runtimes round differently, so its floats get a tolerance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import pytest
import torch

from spikinghash.errors import ConfigError, DataError
from spikinghash.export.onnx_export import (
    DEFAULT_OPSET,
    ExportInfo,
    OnnxHasher,
    export_onnx,
    read_export_info,
    run_onnx,
)
from spikinghash.models import list_models
from spikinghash.models.lif import LIF, MembraneLIF

Exported = Callable[[str], tuple[torch.nn.Module, ExportInfo]]
Frames = Callable[[int, int], torch.Tensor]
#: One model per kind of graph (3D SWM, 2D SWM, SSA only, Spikingformer, both TransHash):
#: the rest differ from these only in widths, depths and max-pools, and run with -m slow.
FAST = {"spikinghash_ti", "spikinghash_ti_2dswm", "spikinghash_ti_allssa", "spikingformer",
        "transhash", "transhash_paper"}
BATCHES = (3, 7)  # two batch sizes through one file (the batch axis is dynamic)


def _model_params() -> list:
    return [pytest.param(n, marks=() if n in FAST else pytest.mark.slow) for n in list_models()]


def _frame(tiny: dict) -> tuple[int, int, int, int]:
    """``(T, C, H, W)`` of the tiny settings."""
    return tiny["T"], tiny["in_channels"], tiny["img_size"], tiny["img_size"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, exact_model: Callable, tiny: dict) -> Exported:
    """``name -> (exact model, ExportInfo)``, each model exported once per module."""
    cache: dict[str, tuple[torch.nn.Module, ExportInfo]] = {}
    folder = tmp_path_factory.mktemp("onnx")

    def get(name: str) -> tuple[torch.nn.Module, ExportInfo]:
        if name not in cache:
            model = exact_model(name)
            cache[name] = (model, export_onnx(model, folder / f"{name}.onnx", _frame(tiny), model_name=name))
        return cache[name]

    return get


@pytest.mark.parametrize("name", _model_params())
def test_onnxruntime_codes_identical_to_torch(name: str, exported: Exported, frames: Frames, tiny: dict) -> None:
    model, info = exported(name)
    hasher = OnnxHasher(info.path, threads=1)
    spiking = not name.startswith("transhash")
    for batch in BATCHES:
        x = frames(batch, batch)
        with torch.no_grad():
            ref = model(x)
        out = hasher.run(x)
        assert out.code.dtype == np.uint8 and out.code.shape == (batch, tiny["bits"])
        assert np.array_equal(out.code, ref.code.numpy().astype(np.uint8))
        assert 0.05 < out.code.mean() < 0.95  # neither all-0 nor all-1: the comparison can fail
        if spiking:  # exact arithmetic end to end
            assert np.array_equal(out.mem, ref.mem.numpy())
            assert np.array_equal(out.logits, ref.logits.numpy())
        else:
            np.testing.assert_allclose(out.mem, ref.mem.numpy(), rtol=0, atol=1e-5)
            np.testing.assert_allclose(out.logits, ref.logits.numpy(), rtol=0, atol=1e-5)
            assert np.abs(ref.mem.numpy()).min() > 1e-4  # no bit within rounding of sgn's tie at 0


def _hand_membranes(x: torch.Tensor, tau: float, v_th: float) -> torch.Tensor:
    """Eqs. 1-3 written out per step with V_reset = 0: H[t] for ``x: [T, ...]``."""
    v = torch.zeros_like(x[0])
    hs = []
    for t in range(x.shape[0]):
        h = v + (x[t] - v) / tau
        hs.append(h)
        v = torch.where(h > v_th, torch.zeros_like(h), h)
    return torch.stack(hs)


def test_exact_threshold_ties_are_exercised(exported: Exported, frames: Frames) -> None:
    # The identity test above only proves the strict ">" of Eq. 2 if some membrane lands
    # exactly on its threshold (Haar coefficients of spikes do, in the SWM). Count them.
    model, _ = exported("spikinghash_ti_2dswm")
    inputs: list[tuple[torch.Tensor, float, float]] = []
    hooks = [m.register_forward_hook(lambda mod, args, out: inputs.append(
        (args[0], mod.params.tau, mod.params.v_threshold))) for m in model.modules()
        if isinstance(m, (LIF, MembraneLIF))]
    with torch.no_grad():
        model(frames(BATCHES[0], BATCHES[0]))
    for hook in hooks:
        hook.remove()
    ties = sum(int((_hand_membranes(x, tau, v_th) == v_th).sum()) for x, tau, v_th in inputs)
    assert ties > 0


def test_signature_and_metadata_in_the_file(exported: Exported, tiny: dict) -> None:
    model, info = exported("spikinghash_ti")
    proto = onnx.load(str(info.path))
    onnx.checker.check_model(proto)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [DEFAULT_OPSET]

    def signature(values: list) -> list[tuple[str, int, list]]:
        return [(v.name, v.type.tensor_type.elem_type,
                 [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]

    T, C, H, W = _frame(tiny)
    L, K = tiny["bits"], tiny["num_classes"]
    f32, u8 = onnx.TensorProto.FLOAT, onnx.TensorProto.UINT8
    assert signature(proto.graph.input) == [("x", f32, [T, "batch", C, H, W])]
    assert signature(proto.graph.output) == [
        ("code", u8, ["batch", L]), ("mem", f32, ["batch", L]), ("logits", f32, ["batch", K])]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["spikinghash.model"] == "spikinghash_ti"
    assert (meta["spikinghash.T"], meta["spikinghash.bits"], meta["spikinghash.opset"]) == (
        str(T), str(L), str(DEFAULT_OPSET))
    # What the file says about itself is what the export returned.
    assert read_export_info(info.path) == ExportInfo(**{**info.__dict__, "export_seconds": 0.0})


def test_other_opset_and_a_model_in_train_mode(tmp_path: Path, exact_model: Callable, frames: Frames,
                                               tiny: dict) -> None:
    model = exact_model("spikinghash_ti_allssa").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    info = export_onnx(model, tmp_path / "m.onnx", _frame(tiny), model_name="spikinghash_ti_allssa", opset=20)
    # The export ran the eval forward and left the caller's model as it was.
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    x = frames(5, 5)
    with torch.no_grad():
        ref = model.eval()(x)
    out = run_onnx(info.path, x)
    assert np.array_equal(out.code, ref.code.numpy().astype(np.uint8))
    assert [o.version for o in onnx.load(str(info.path)).opset_import if o.domain in ("", "ai.onnx")] == [20]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model_name": "spikinghash_z"}, "unknown model 'spikinghash_z'"),
        ({"frame_shape": (8, 2, 16, 16)}, r"= \(4, 2, 16, 16\), got \(8, 2, 2, 16, 16\)"),
        ({"frame_shape": (4, 2, 32, 32)}, r"got \(4, 2, 2, 32, 32\)"),
        ({"frame_shape": (4, 2, 16)}, "is not \\(T, C, H, W\\)"),
        ({"opset": 11}, "opset 11 is not supported"),
    ],
)
def test_bad_requests_raise_config_error(tmp_path: Path, exact_model: Callable, tiny: dict, kwargs: dict,
                                        match: str) -> None:
    assert _frame(tiny) == (4, 2, 16, 16)  # the messages expected above name it
    model = exact_model("transhash_paper")
    args = {"frame_shape": _frame(tiny), "model_name": "transhash_paper", **kwargs}
    target = tmp_path / "m.onnx"
    with pytest.raises(ConfigError, match=match):
        export_onnx(model, target, **args)
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_model: Callable,
                                          tiny: dict) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous export")

    def half_written(module: object, args: object, f: str, **kwargs: object) -> None:
        Path(f).write_bytes(b"partial")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(torch.onnx, "export", half_written)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        export_onnx(exact_model("transhash_paper"), target, _frame(tiny), model_name="transhash_paper")
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_runtime_refuses_wrong_inputs_and_files(tmp_path: Path, exported: Exported) -> None:
    _, info = exported("transhash_paper")
    hasher = OnnxHasher(info.path)
    with pytest.raises(ConfigError, match=r"\(T, C, H, W\) = \(4, 2, 16, 16\)"):
        hasher.run(np.zeros((4, 1, 2, 32, 32), np.float32))
    with pytest.raises(ConfigError, match="got shape \\(4, 2, 16, 16\\)"):
        hasher.run(np.zeros((4, 2, 16, 16), np.float32))
    with pytest.raises(DataError, match="no ONNX file"):
        OnnxHasher(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a model")
    with pytest.raises(DataError, match="not a readable ONNX file"):
        read_export_info(tmp_path / "junk.onnx")
    bare = onnx.load(str(info.path))
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    with pytest.raises(DataError, match="lacks spikinghash export metadata"):
        OnnxHasher(tmp_path / "bare.onnx")
