"""The fixed integer grid of a quantization-aware (QAT) model, and fake quantization onto it.

A :class:`QatGrid` is what ``hw_sim/target/qat_grid.py`` derives once from a calibrated integer network
(``hw_sim.target.quantize``) and what the exporter writes into the NIR graph: per neuron layer the
scale ``S`` (integer v units per float unit) and the threshold snapped to it, per weighted
node the float weight step with the range of integer multiples the 8-bit mantissas allow,
and a bias step. Keys are NIR node names: neuron layers (``backbone.head_sn``,
``hash_head.sn``) and weighted nodes *before* the fan-out suffix (``backbone.stem``,
``hash_head.linear``): a projection feeding several populations keeps one weight, so its
grid is the coarsest of its targets' grids (every finer grid contains it).

Every step is a power of two (``S·gain`` is one, see ``hw_sim/target/qat_grid.py``), so ``round(w /
step)·step`` is exact in float32 and float64 alike: the torch forward (:func:`fake_quant`),
the exporter (:meth:`QatGrid.snap_node`) and the integer quantizer see the same values
bit for bit.

This module depends on torch and numpy only; the exporter reads the grid from
``model.qat_grid`` (set by ``models.qat_layers.attach_grid``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import nir
import numpy as np
import torch
from torch import Tensor

#: Format version of the JSON form (``RUN_DIR/qat.json``).
GRID_FORMAT = 1


@dataclass(frozen=True)
class WeightGrid:
    """Float weights ``k·step`` with integer ``k`` in ``[lo, hi]`` (``step`` a power of two)."""

    step: float
    lo: int
    hi: int


@dataclass(frozen=True)
class QatGrid:
    """The fixed grid of one QAT model (see the module docstring).

    Attributes:
        scales: neuron node -> S (integer v units per float unit of H).
        thresholds: neuron node -> v_threshold snapped to ``vth·64/S`` (float units).
        weights: weighted node (base name) -> :class:`WeightGrid` of its exported weight.
        bias_steps: weighted node (base name) -> step of its exported bias (float units).
        info: provenance (source run, calibration), written to JSON as is.
        bias_limits: weighted node (base name) -> largest |k| of its bias ``k·step``: every
            neuron layer's summed bias then fits Loihi's 13-bit bias mantissa at the layer's
            exponent (absent in grids written before it existed: biases unclamped).
    """

    scales: dict[str, float]
    thresholds: dict[str, float]
    weights: dict[str, WeightGrid]
    bias_steps: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)
    bias_limits: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": GRID_FORMAT, "scales": self.scales, "thresholds": self.thresholds,
                "weights": {k: {"step": g.step, "lo": g.lo, "hi": g.hi} for k, g in self.weights.items()},
                "bias_steps": self.bias_steps, "bias_limits": self.bias_limits, "info": self.info}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QatGrid:
        if data.get("format") != GRID_FORMAT:
            raise ValueError(f"QAT grid format {data.get('format')!r}, expected {GRID_FORMAT}")
        return cls({k: float(v) for k, v in data["scales"].items()},
                   {k: float(v) for k, v in data["thresholds"].items()},
                   {k: WeightGrid(float(g["step"]), int(g["lo"]), int(g["hi"])) for k, g in data["weights"].items()},
                   {k: float(v) for k, v in data["bias_steps"].items()}, dict(data.get("info", {})),
                   {k: int(v) for k, v in data.get("bias_limits", {}).items()})

    def snap_node(self, name: str, node: nir.NIRNode) -> None:
        """Put the arrays of weighted node ``name`` (base name) on the grid, in place (idempotent)."""
        grid = self.weights[name]
        attr = "scale" if isinstance(node, nir.Scale) else "weight"
        setattr(node, attr, snap_array(getattr(node, attr), grid.step, grid.lo, grid.hi))
        if getattr(node, "bias", None) is not None and name in self.bias_steps:
            limit = self.bias_limits.get(name)
            node.bias = snap_array(node.bias, self.bias_steps[name], None if limit is None else -limit, limit)


def snap_array(x: np.ndarray, step: float, lo: int | None, hi: int | None) -> np.ndarray:
    """``clip(rint(x / step), lo, hi)·step`` in ``x``'s dtype (round half to even, as torch)."""
    k = np.rint(x / x.dtype.type(step))
    if lo is not None or hi is not None:
        k = np.clip(k, lo, hi)
    return (k * x.dtype.type(step)).astype(x.dtype)


def snap(x: Tensor, step: float, lo: int | None = None, hi: int | None = None) -> Tensor:
    """``clamp(round(x / step), lo, hi)·step`` (no gradient); the torch twin of :func:`snap_array`."""
    k = torch.round(x / step)
    return (k if lo is None and hi is None else torch.clamp(k, lo, hi)) * step


class _FakeQuant(torch.autograd.Function):
    """Forward: :func:`snap` (exact grid values); backward: straight through where not clamped."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, step: float, lo: int | None, hi: int | None) -> Tensor:  # type: ignore[override]
        k = torch.round(x / step)
        inside = torch.ones_like(k, dtype=torch.bool)
        if lo is not None:
            inside &= k >= lo
        if hi is not None:
            inside &= k <= hi
        ctx.save_for_backward(inside)
        return snap(x, step, lo, hi)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None, None


def fake_quant(x: Tensor, step: float, lo: int | None = None, hi: int | None = None) -> Tensor:
    """``x`` on the grid ``k·step``, ``k`` in ``[lo, hi]``, with a straight-through gradient
    (zero for entries clamped at the range ends). Any shape. Without a gradient to compute (eval,
    ONNX export) it is :func:`snap` in plain tensor ops."""
    if not (torch.is_grad_enabled() and x.requires_grad):
        return snap(x, step, lo, hi)
    return _FakeQuant.apply(x, step, lo, hi)
