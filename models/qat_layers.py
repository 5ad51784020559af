"""Quantization-aware (QAT) layers: each synapse operation of a neuromorphic profile on a fixed integer grid.

The grid itself (:class:`~spikinghash.models.fake_quant.QatGrid`) is derived from a calibrated
integer network by ``hw_sim.target.qat_grid.derive_grid``; :func:`attach_grid` switches a model's
synapse operations to subclasses whose forward uses the *exported* weight — batch norm folded
with its running statistics (:func:`~spikinghash.models.batch_norm.fold_batch_norm`; BN is
thereby frozen, the usual QAT practice: its statistics no longer update, its affine parameters
still train) — snapped to the grid with a straight-through gradient (``models.fake_quant``).
The fixed Haar filters are snapped too. State dict keys are unchanged. The NIR exporter reads
``model.qat_grid`` and writes the same snapped values.

:func:`grid_inputs` gives what the grid derivation needs to know of the model, as plain data:
each neuron layer's input gain and threshold and, per exported weighted node, its base name
and target neuron layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch.nn.functional as F
from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.batch_norm import fold_batch_norm
from spikinghash.models.fake_quant import QatGrid, WeightGrid, fake_quant, snap
from spikinghash.models.hash_heads import HashCode, SpikingHashHead, and_over_time
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.models.neuromorphic_ops import BandMixer, ConvBN, HadamardMixer, HaarConv
from spikinghash.models.wave_mixer import channel_mix

HASH_LINEAR, HASH_SN = "hash_head.linear", "hash_head.sn"


# -- fake-quantized synapse operations (forward only; parameters and buffers unchanged) -------------------------
def _fake_quant_bias(op: nn.Module, bias: Tensor) -> Tensor:
    """The folded bias on its grid step, within the range the layer's bias mantissa holds (``bias_limits``)."""
    limit = op.qat_bias_limit
    return fake_quant(bias, op.qat_bias_step, None if limit is None else -limit, limit)


class QatConvBN(ConvBN):
    """``conv(x, FQ(W'), FQ(b'))`` with ``W', b'`` the BN-folded weight and bias (running statistics)."""

    qat_weight: WeightGrid
    qat_bias_step: float
    qat_bias_limit: int | None

    def forward(self, x: Tensor) -> Tensor:
        w, b = fold_batch_norm(self.conv.weight, self.conv.bias, self.norm)
        g, c = self.qat_weight, self.conv
        return F.conv2d(x, fake_quant(w, g.step, g.lo, g.hi), _fake_quant_bias(self, b), c.stride,
                        c.padding, c.dilation, c.groups)


class QatHaarConv(HaarConv):
    """The fixed Haar taps snapped to the grid (no gradient: they are a buffer)."""

    qat_weight: WeightGrid

    def forward(self, x: Tensor) -> Tensor:
        g = self.qat_weight
        return F.conv2d(x, snap(self.weight, g.step, g.lo, g.hi), None, 1, self.padding, self.dilation, self.groups)


class QatHadamardMixer(HadamardMixer):
    """The effective gain ``FQ(gain·W)`` (the exported ``Scale``)."""

    qat_weight: WeightGrid

    def scale(self) -> Tensor:
        g = self.qat_weight
        return fake_quant(self.weight * self.gain, g.step, g.lo, g.hi)


class QatBandMixer(BandMixer):
    """Band sum, then the channel mixer with ``FQ(gain·W)`` (the exported grouped 1×1 kernel)."""

    qat_weight: WeightGrid

    def forward(self, x: Tensor) -> Tensor:
        g = self.qat_weight
        summed = x.unflatten(1, (-1, self.bands)).sum(2)
        return channel_mix(summed, fake_quant(self.weight * self.gain, g.step, g.lo, g.hi))


class QatSpikingHashHead(SpikingHashHead):
    """Eq. 18 with the exported ``Affine``: ``FQ(W'/P)`` per pooled position (P positions), ``FQ(b')``."""

    qat_weight: WeightGrid
    qat_bias_step: float
    qat_bias_limit: int | None
    qat_positions: int

    def forward(self, f: Tensor) -> HashCode:
        w, b = fold_batch_norm(self.linear.weight, self.linear.bias, self.norm)
        g, p = self.qat_weight, self.qat_positions
        # mean over P positions times P·FQ(W'/P) = the exported Affine on the P positions' spikes
        z = F.linear(f, fake_quant(w / p, g.step, g.lo, g.hi) * p, _fake_quant_bias(self, b))
        trace = self.sn(z)
        return HashCode(and_over_time(trace.spikes), trace.membrane.mean(dim=0))


QAT_CLASSES: dict[type[nn.Module], type[nn.Module]] = {
    ConvBN: QatConvBN, HaarConv: QatHaarConv, HadamardMixer: QatHadamardMixer, BandMixer: QatBandMixer,
    SpikingHashHead: QatSpikingHashHead}


def require_neuromorphic(model: nn.Module, name: str) -> NeuromorphicHashNet:
    if not isinstance(model, NeuromorphicHashNet):
        raise ConfigError(f"model {name!r} is a paper-faithful profile that does not deploy to the integer target; "
                          "quantization-aware fine-tuning needs a neuromorphic profile (spikinghash_ti_nir, "
                          "spikinghash_s_nir): train one of those first")
    return model


def projection_nodes(model: NeuromorphicHashNet) -> dict[str, tuple[str, str]]:
    """NIR weighted node -> (base name, target neuron node), named as ``export.nir_export`` names them."""
    targets: dict[str, list[str]] = {}
    for layer in model.backbone.layers:
        for path in layer.inputs:
            targets.setdefault(path, []).append(layer.population)
    out = {}
    for path, pops in targets.items():
        base = f"backbone.{path}"
        for i, pop in enumerate(pops):
            out[base if len(pops) == 1 else f"{base}.{i}"] = (base, f"backbone.{pop}")
    out[HASH_LINEAR] = (HASH_LINEAR, HASH_SN)
    return out


def _neurons(model: NeuromorphicHashNet) -> dict[str, nn.Module]:
    """Neuron node name -> LIF module."""
    found: dict[str, nn.Module] = {f"backbone.{layer.population}": model.backbone.get_submodule(layer.population)
                                   for layer in model.backbone.layers}
    found[HASH_SN] = model.hash_head.sn
    return found


def attach_grid(model: nn.Module, grid: QatGrid, name: str = "model") -> NeuromorphicHashNet:
    """Switch ``model`` (in place) to fake quantization on ``grid``: see the module docstring."""
    net = require_neuromorphic(model, name)
    try:
        for node, lif in _neurons(net).items():
            lif.params = dataclasses.replace(lif.params, v_threshold=grid.thresholds[node])
        ops: dict[str, nn.Module] = {f"backbone.{path}": net.backbone.get_submodule(path).op
                                     for layer in net.backbone.layers for path in layer.inputs}
        ops[HASH_LINEAR] = net.hash_head
        for node, op in ops.items():
            if type(op) not in QAT_CLASSES and type(op) not in QAT_CLASSES.values():
                raise ConfigError(f"{node}: no fake-quantized version of {type(op).__name__}")
            op.__class__ = QAT_CLASSES.get(type(op), type(op))  # same parameters, QAT forward
            op.qat_weight = grid.weights[node]
            op.qat_bias_step = grid.bias_steps.get(node)
            op.qat_bias_limit = grid.bias_limits.get(node)
        net.hash_head.qat_positions = int(np.prod(net.backbone.layers[-1].shape[1:]))
    except KeyError as err:
        raise ConfigError(f"the QAT grid has no entry for {err}; it was derived for another model") from None
    net.qat_grid = grid  # read by the NIR exporter
    return net


@dataclasses.dataclass(frozen=True)
class GridInputs:
    """What the grid derivation needs of the model (NIR node names as keys).

    Attributes:
        gains: neuron node -> input gain ``1/γ`` of its LIF (Eq. 1).
        bases: weighted node -> (base name before the fan-out suffix, target neuron node).
    """

    gains: dict[str, float]
    bases: dict[str, tuple[str, str]]


def grid_inputs(model: nn.Module, name: str = "model") -> GridInputs:
    """The model-side inputs of ``hw_sim.target.qat_grid.derive_grid`` for a neuromorphic profile."""
    net = require_neuromorphic(model, name)
    lifs = _neurons(net)
    return GridInputs({n: float(lif.params.gain) for n, lif in lifs.items()}, projection_nodes(net))
