"""ONNX export of any registered hashing model, and the onnxruntime side that reads it back.

The exported graph is the model's eval-mode forward, unrolled over the ``T`` time steps.
Spikes are the Heaviside step (strict ``>``): with no gradient to compute, the LIF runs
as plain tensor ops (:func:`spikinghash.models.lif.unroll`), so neither the surrogate
gradient nor any custom autograd node reaches the graph. ``T``, the channels and the
image size are fixed at export; the batch axis is dynamic.

Graph signature (names as stored in the file)::

    x       float32 [T, batch, C, H, W]   input frames or event counts
    code    uint8   [batch, L]            hash code, bits in {0, 1}
    mem     float32 [batch, L]            the continuous value behind each bit
    logits  float32 [batch, num_classes]  classification head on the code

The file's ``metadata_props`` repeat all of this (see :meth:`ExportInfo.metadata`), so a
reader needs nothing but the file.

onnxruntime sums convolutions and batch norms in another order than torch, so a
membrane potential can differ in its last bits. Where torch's lands within those bits of
v_th, the spike goes the other way in one runtime, and the difference travels on to the
code. With weights on a dyadic grid (exact sums) the codes agree bit for bit (tested);
with ordinary float weights a few bits in a thousand may differ.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np
import onnx
import torch
from torch import Tensor, nn
from torch.onnx import symbolic_helper

from spikinghash.atomic_io import atomic_path
from spikinghash.errors import ConfigError, DataError
from spikinghash.models.outputs import HashOutput
from spikinghash.models.factory import UnknownModelError, list_models

#: Opset written by default, the first with LayerNormalization as one op (TransHash).
DEFAULT_OPSET = 17
#: Opsets accepted: torch 2.13's TorchScript exporter writes up to 20, and TransHash's
#: attention needs 14. (torch's other exporter, ``dynamo=True``, needs onnxscript, which is
#: not installed.) The tests run 17 and 20.
OPSETS = range(14, 21)
#: Batch of the traced example. Any batch runs later; tracing at 1 could bake in a size-1
#: broadcast.
EXAMPLE_BATCH = 2
BATCH = "batch"
INPUT_NAME = "x"
OUTPUT_NAMES = ("code", "mem", "logits")
#: Prefix of every metadata key this module writes.
META_PREFIX = "spikinghash."


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape (``"batch"`` for the dynamic axis) and numpy dtype of a graph input/output."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class ExportInfo:
    """What an exported file holds (also stored in its ``metadata_props``).

    Attributes:
        path: the ``.onnx`` file.
        model: registered model name.
        opset: ONNX opset of the default domain.
        T: time steps (fixed in the graph).
        in_channels, height, width: frame shape (fixed; pixels).
        bits: code length L.
        num_classes: width of ``logits``.
        inputs, outputs: graph signature, in order.
        export_seconds: wall time of the export (0.0 when read back from a file).
    """

    path: Path
    model: str
    opset: int
    T: int
    in_channels: int
    height: int
    width: int
    bits: int
    num_classes: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    export_seconds: float = 0.0

    @property
    def frame_shape(self) -> tuple[int, int, int, int]:
        """``(T, C, H, W)``: every input dimension except the batch."""
        return self.T, self.in_channels, self.height, self.width

    def metadata(self) -> dict[str, str]:
        """String key/value pairs for the file's ``metadata_props``."""
        fields = {
            "model": self.model, "opset": self.opset, "T": self.T, "in_channels": self.in_channels,
            "height": self.height, "width": self.width, "bits": self.bits,
            "num_classes": self.num_classes,
        }
        meta = {META_PREFIX + k: str(v) for k, v in fields.items()}
        meta[META_PREFIX + "inputs"] = json.dumps([s.as_dict() for s in self.inputs])
        meta[META_PREFIX + "outputs"] = json.dumps([s.as_dict() for s in self.outputs])
        meta[META_PREFIX + "spike"] = "Heaviside, strict >, unrolled over T; no surrogate"
        return meta

    @classmethod
    def from_metadata(cls, path: Path, meta: dict[str, str]) -> ExportInfo:
        """Inverse of :meth:`metadata`; a :class:`DataError` if the file was not written here."""
        try:
            get = {k[len(META_PREFIX):]: v for k, v in meta.items() if k.startswith(META_PREFIX)}

            def specs(key: str) -> tuple[TensorSpec, ...]:
                return tuple(TensorSpec(d["name"], tuple(d["shape"]), d["dtype"]) for d in json.loads(get[key]))

            return cls(
                path=path, model=get["model"], opset=int(get["opset"]), T=int(get["T"]),
                in_channels=int(get["in_channels"]), height=int(get["height"]), width=int(get["width"]),
                bits=int(get["bits"] if "bits" in get else get["hash_bits"]),  # older exports say hash_bits
                num_classes=int(get["num_classes"]),
                inputs=specs("inputs"), outputs=specs("outputs"),
            )
        except (KeyError, ValueError, TypeError) as err:
            raise DataError(
                f"{path} lacks spikinghash export metadata ({err}); export it again with "
                "`spikinghash export onnx RUN_DIR`"
            ) from None


class _ExportedSignature(nn.Module):
    """The model as exported: ``x -> (code uint8, mem, logits)``, a fixed tuple of tensors."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        out: HashOutput = self.model(x)
        return out.code.to(torch.uint8), out.mem, out.logits


@symbolic_helper.parse_args("v", "i", "v")
def _unflatten_symbolic(g: Any, x: Any, dim: int, sizes: Any) -> Any:
    """``aten::unflatten`` as Reshape(x, shape[:dim] ++ sizes ++ shape[dim+1:]).

    With torch's own symbolic (``dim`` computed by Add/Mod nodes at run time) the exporter
    loses the batch axis behind the reshape and turns later ``x.shape`` reads into
    constants of the example's batch (seen: a ``TimeFolded`` after a LIF then fails at
    any other batch). With ``dim`` resolved here the batch stays symbolic.
    """
    rank = symbolic_helper._get_tensor_rank(x)
    if rank is None:
        return symbolic_helper._unimplemented("unflatten", "input rank unknown at export", x)
    dim %= rank
    shape = g.op("Shape", x)

    def dims(start: int, stop: int) -> Any:
        bounds = [g.op("Constant", value_t=torch.tensor([i], dtype=torch.int64)) for i in (start, stop)]
        return g.op("Slice", shape, *bounds)

    parts = ([dims(0, dim)] if dim > 0 else []) + [sizes] + ([dims(dim + 1, rank)] if dim + 1 < rank else [])
    return g.op("Reshape", x, g.op("Concat", *parts, axis_i=0))


@contextlib.contextmanager
def _export_context(model: nn.Module, opset: int) -> Iterator[None]:
    """Eval mode, no autograd, the unflatten symbolic, quiet tracer; all undone afterwards."""
    was_training = model.training
    torch.onnx.register_custom_op_symbolic("aten::unflatten", _unflatten_symbolic, opset)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # Python-level shape checks in the models are traced once (T and size are fixed).
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch.onnx")
            model.eval()
            yield
    finally:
        torch.onnx.unregister_custom_op_symbolic("aten::unflatten", opset)
        model.train(was_training)


def _check_request(model_name: str, frame_shape: Sequence[int], opset: int) -> tuple[int, int, int, int]:
    if model_name not in list_models():
        raise UnknownModelError(
            f"unknown model {model_name!r}; name the registered model the weights belong to "
            f"(one of {', '.join(list_models())})"
        )
    shape = tuple(frame_shape)
    if len(shape) != 4 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise ConfigError(
            f"frame shape {shape} is not (T, C, H, W) with positive integers; give e.g. (4, 2, 32, 32)"
        )
    if opset not in OPSETS:
        raise ConfigError(f"ONNX opset {opset} is not supported; use one of {OPSETS.start}..{OPSETS.stop - 1}")
    return shape  # type: ignore[return-value]


def _declare_shapes(graph: onnx.GraphProto, info: ExportInfo) -> None:
    """Write the signature's shapes onto the graph's inputs and outputs.

    The exporter's shape inference leaves some output axes as made-up symbols (``code``'s
    bit axis comes out as ``Castcode_dim_1``); every axis but the batch is known here.
    """
    for values, specs in ((graph.input, info.inputs), (graph.output, info.outputs)):
        for value, spec in zip(values, specs):
            dims = value.type.tensor_type.shape.dim
            del dims[:]
            for size in spec.shape:
                dim = dims.add()
                if isinstance(size, str):
                    dim.dim_param = size
                else:
                    dim.dim_value = size


def _spec(name: str, array_shape: Sequence[int], dtype: torch.dtype, batch_axis: int) -> TensorSpec:
    shape: list[int | str] = list(array_shape)
    shape[batch_axis] = BATCH
    return TensorSpec(name, tuple(shape), str(torch.empty(0, dtype=dtype).numpy().dtype))


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    frame_shape: Sequence[int],
    *,
    model_name: str,
    opset: int = DEFAULT_OPSET,
) -> ExportInfo:
    """Export ``model`` (any registered hashing model) to ``path``, atomically.

    Args:
        model: a model built by ``create_model(model_name, ...)``, weights loaded. Its
            train/eval mode is restored afterwards.
        path: the ``.onnx`` file to write (parent folders are created).
        frame_shape: ``(T, C, H, W)`` of the input, fixed in the graph (the batch is not).
        model_name: the registered name, recorded in the file.
        opset: ONNX opset, in :data:`OPSETS`.

    Returns:
        :class:`ExportInfo` (also written to the file's ``metadata_props``).

    Raises:
        ConfigError: unknown ``model_name``, bad opset, or a ``frame_shape`` the model
            was not built for (the model's own message).
    """
    steps, channels, height, width = _check_request(model_name, frame_shape, opset)
    shape = (steps, EXAMPLE_BATCH, channels, height, width)
    param = next(model.parameters(), None)
    example = torch.zeros(shape, dtype=torch.float32, device=param.device if param is not None else "cpu")
    start = time.perf_counter()
    with _export_context(model, opset):
        out = model(example)  # the model's own checks name a wrong T, C or size here
        if not isinstance(out, HashOutput):
            raise ConfigError(f"model {model_name!r} returned {type(out).__name__}, not HashOutput; "
                              "export only models built by spikinghash.models.create_model")
        code, mem, logits = out
        info = ExportInfo(
            path=Path(path), model=model_name, opset=opset, T=steps, in_channels=channels,
            height=height, width=width, bits=code.shape[1], num_classes=logits.shape[1],
            inputs=(_spec(INPUT_NAME, shape, torch.float32, 1),),
            outputs=(_spec("code", code.shape, torch.uint8, 0), _spec("mem", mem.shape, mem.dtype, 0),
                     _spec("logits", logits.shape, logits.dtype, 0)),
        )
        with atomic_path(path, suffix=".onnx") as tmp:
            torch.onnx.export(
                _ExportedSignature(model), (example,), str(tmp), dynamo=False, opset_version=opset,
                input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                dynamic_axes={INPUT_NAME: {1: BATCH}, **{name: {0: BATCH} for name in OUTPUT_NAMES}},
                do_constant_folding=True,
            )
            proto = onnx.load(str(tmp))
            _declare_shapes(proto.graph, info)
            onnx.helper.set_model_props(proto, info.metadata())
            onnx.checker.check_model(proto)
            onnx.save(proto, str(tmp))
    return dataclasses.replace(info, export_seconds=time.perf_counter() - start)


def read_export_info(path: str | os.PathLike) -> ExportInfo:
    """The :class:`ExportInfo` stored in an exported file (weights are not loaded)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no ONNX file at {path}; export one with `spikinghash export onnx RUN_DIR -o {path}`")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError and others for a damaged file
        raise DataError(f"{path} is not a readable ONNX file ({type(err).__name__}); export it again") from None
    return ExportInfo.from_metadata(path, {p.key: p.value for p in proto.metadata_props})


class OnnxOutput(NamedTuple):
    """onnxruntime's results: ``code [B, L]`` uint8 in {0, 1}, ``mem [B, L]``, ``logits [B, classes]``."""

    code: np.ndarray
    mem: np.ndarray
    logits: np.ndarray


class OnnxHasher:
    """An exported file opened in onnxruntime (CPU), ready to hash batches of any size."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        import onnxruntime as ort  # imported here: only the runtime side needs it

        self.info = read_export_info(path)
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(self, x: np.ndarray | Tensor) -> OnnxOutput:
        """``x: [T, B, C, H, W]`` float -> :class:`OnnxOutput` for the B samples."""
        arr = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
        got = (arr.shape[0], *arr.shape[2:]) if arr.ndim == 5 else tuple(arr.shape)
        if arr.ndim != 5 or got != self.info.frame_shape:
            raise ConfigError(
                f"{self.info.path} takes x [T, B, C, H, W] with (T, C, H, W) = {self.info.frame_shape}, "
                f"got shape {tuple(arr.shape)}; bin the data to that T and frame size"
            )
        code, mem, logits = self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: arr.astype(np.float32, copy=False)})
        return OnnxOutput(code, mem, logits)


def run_onnx(path: str | os.PathLike, x: np.ndarray | Tensor) -> OnnxOutput:
    """Hash ``x: [T, B, C, H, W]`` with the exported file at ``path`` (one-off; keep an
    :class:`OnnxHasher` for repeated batches)."""
    return OnnxHasher(path).run(x)
