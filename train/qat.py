"""Quantization-aware fine-tuning (QAT) of a neuromorphic-profile run on a fixed integer grid.

Post-training quantization (``hw_sim.quantize``) rounds every weight to an 8-bit mantissa,
and a neuron whose potential lay near its threshold flips; the flips cascade through the
layers. QAT fine-tunes the float model on the grid the integer network will use, so the
deployed weights are exactly the trained ones.

1. **Fixed grid** (:func:`derive_grid`): the source run is exported to NIR and calibrated on
   training frames as ``spikinghash simulate`` does (``hw_sim.run_sim.calibration_frames``,
   ``hw_sim.quantize.quantize``). Each layer's scale is rounded *down* to ``S = 2**k / gain``
   (``S·gain`` a power of two; a smaller S keeps every calibrated range). Then, for a path
   into layer ``n`` with input quantum q (1 for spikes and event counts) and weight_exp ``e``
   (the quantizer's choice at that S), the float weight step is ``2**e·64/(S·gain·q)``, twice
   that for mixed-sign weights (Lava keeps even values), with 8-bit ranges [-128, 127]·step
   (mixed), [0, 255] or [-255, 0] (one-signed). A projection feeding several layers keeps
   the coarsest of their grids, within all their ranges. Thresholds snap to ``vth·64/S``.
   Biases: a layer's integer bias is ``S·gain·Σ_paths b``; each projection's bias is put on
   ``2**B/(S·gain)`` (coarsest over its targets) with ``B`` = the layer's largest
   ``bias_exp`` at that S, and at least ``T - 1`` so that Loihi's truncating ``v·(1 - dv)``
   stays exact over T steps; the sum over paths is then on the layer's grid. Each bias is clamped
   to its share of the 13-bit bias mantissa at that exponent (1/n for a layer fed by n paths),
   so that fine-tuning cannot push a layer's bias out of what Loihi holds.
   All steps are powers of two when gain and q are (tau = 2, event counts), so the grid
   values are exact in float32 and the integer quantizer reproduces them bit for bit.
2. **Fake quantization** (:func:`attach_grid`): the synapse operations of the model switch
   to subclasses whose forward uses the *exported* weight — batch norm folded with its
   running statistics (``export.nir_export.fold_batch_norm``; BN is thereby frozen, the
   usual QAT practice: its statistics no longer update, its affine parameters still train)
   — snapped to the grid with a straight-through gradient (``models.fake_quant``). The
   fixed Haar filters are snapped too. State dict keys are unchanged.
3. The grid is stored as ``RUN_DIR/qat.json``; :func:`~spikinghash.train.trainer.build_model`
   attaches it whenever that file exists, and the NIR export carries the scales
   (``metadata["spikinghash"]["qat_scales"]``) that ``hw_sim`` then uses as they are.

Not modelled: the input quantum of non-integral frames (its step is not a power of two,
so the weights of the first layer are rounded once more by the quantizer), and a ``T`` above
7 (v's granularity 2**6 then no longer covers the truncation of every step).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikinghash.atomic_io import write_json
from spikinghash.errors import ConfigError, DataError
from spikinghash.export.nir_export import DEFAULT_DT, fold_batch_norm, to_nir_graph
from spikinghash.hw_sim.graph import CanonicalNet, parse
from spikinghash.hw_sim.int_net import IntNet, sign_mode
from spikinghash.hw_sim.neurons import ACT_SHIFT, BIAS_EXP_MAX, BIAS_MANT_MAX, VTH_SHIFT
from spikinghash.hw_sim.quantize import MIXED_CAP, SIGNED_CAP, bias_mantissas, quantize, weight_mantissas
from spikinghash.models.fake_quant import QatGrid, WeightGrid, fake_quant, snap
from spikinghash.models.hash_heads import HashCode, SpikingHashHead, and_over_time
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.models.neuromorphic_ops import BandMixer, ConvBN, HadamardMixer, HaarConv
from spikinghash.models.wave_mixer import channel_mix

QAT_FILE = "qat.json"
HASH_LINEAR, HASH_SN = "hash_head.linear", "hash_head.sn"
#: Multiples of the step an 8-bit mantissa holds, by Lava sign mode (mixed: even values in [-256, 254]).
K_RANGE = {"mixed": (-256 // 2, MIXED_CAP // 2), "excitatory": (0, SIGNED_CAP), "inhibitory": (-SIGNED_CAP, 0)}


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


def _require_neuromorphic(model: nn.Module, name: str) -> NeuromorphicHashNet:
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
    net = _require_neuromorphic(model, name)
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


def derive_grid(model: nn.Module, net: CanonicalNet, int_net: IntNet, T: int, name: str = "model") -> QatGrid:
    """The grid of ``model`` from its exported graph ``net`` calibrated as ``int_net`` (module docstring)."""
    model = _require_neuromorphic(model, name)
    lifs = _neurons(model)
    gains = {n: float(lif.params.gain) for n, lif in lifs.items()}
    scales = {n: 2.0 ** math.floor(math.log2(int_net.neurons[n].scale * gains[n])) / gains[n] for n in lifs}
    thresholds = {n: float(np.rint(scales[n] * lif.params.v_threshold / (1 << VTH_SHIFT))) * (1 << VTH_SHIFT)
                  / scales[n] for n, lif in lifs.items()}
    bases = projection_nodes(model)
    bounds: dict[str, list[tuple[float, float, float]]] = {}  # base -> [(step, lo·step, hi·step)]
    layer_bias_step: dict[str, float] = {}
    layer_bias_exp: dict[str, int] = {}
    for layer, paths in net.paths.items():
        s_g = scales[layer] * gains[layer]
        total_bias = sum(net.synapses[p.key].bias for p in paths)
        _, bias_exp = bias_mantissas(s_g * total_bias)
        layer_bias_exp[layer] = max(int(np.max(bias_exp)), T - 1)
        layer_bias_step[layer] = 2.0 ** layer_bias_exp[layer] / s_g
        for p in paths:
            q = int_net.input_quantum if p.source == net.input_name else 1.0
            unit = (1 << ACT_SHIFT) / (s_g * q)  # float weight per integer unit of a_in << 6
            w = net.synapses[p.key].weight
            mode = sign_mode(w)
            _, exp = weight_mantissas(w / unit, mode)
            step = 2.0 ** (exp + (mode == "mixed")) * unit  # mixed: even values, one step = 2 units << exp
            lo, hi = K_RANGE[mode]
            bounds.setdefault(bases[p.synapse][0], []).append((step, lo * step, hi * step))
    weights, bias_steps = {}, {}
    for base, entries in bounds.items():
        step = max(e[0] for e in entries)
        lo = math.ceil(max(e[1] for e in entries) / step - 1e-9)
        hi = math.floor(min(e[2] for e in entries) / step + 1e-9)
        weights[base] = WeightGrid(step, lo, hi)
    for base, target in bases.values():
        bias_steps[base] = max(bias_steps.get(base, 0.0), layer_bias_step[target])
    # A layer sums the biases of its n paths: each may use 1/n of the mantissa range. Above bias_exp 7 (T > 8)
    # a multiple of 2**B is held as m << 7 with m = k·2**(B - 7), so the range shrinks by that factor.
    bias_limits: dict[str, int] = {}
    for base, target in bases.values():
        share = BIAS_MANT_MAX // len(net.paths[target]) * 2.0 ** min(0, BIAS_EXP_MAX - layer_bias_exp[target])
        limit = int(share * layer_bias_step[target] // bias_steps[base])
        bias_limits[base] = min(bias_limits.get(base, limit), limit)
    info = {"calibrated_scales": {n: int_net.neurons[n].scale for n in lifs}, "input_quantum": int_net.input_quantum,
            "T": T}
    return QatGrid(scales, thresholds, weights, bias_steps, info, bias_limits)


def read_grid(run_dir: str | Path) -> QatGrid | None:
    """``RUN_DIR/qat.json`` as a grid (None if the run is not a QAT run)."""
    path = Path(run_dir) / QAT_FILE
    if not path.is_file():
        return None
    try:
        return QatGrid.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path} is not a QAT grid ({err}); run `spikinghash qat` again into a new --out") from None


def write_grid(run_dir: str | Path, grid: QatGrid) -> Path:
    """Write the grid atomically to ``RUN_DIR/qat.json``."""
    path = Path(run_dir) / QAT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, grid.to_json())
    return path


def grid_for_run(source: Any, data: Any, calib: int, seed: int = 0) -> QatGrid:
    """Calibrate the loaded run ``source`` (``TrainedRun``) on ``calib`` frames of ``data.train``; its grid."""
    from spikinghash.hw_sim.run_sim import calibration_frames

    name = str(source.cfg.model)
    model = _require_neuromorphic(source.model, name)
    net = parse(to_nir_graph(model, T=int(source.cfg.T), dt=DEFAULT_DT, model_name=name))
    frames = calibration_frames(data.train, calib, seed)
    with torch.no_grad():
        grid = derive_grid(model, net, quantize(net, frames), int(source.cfg.T), name)
    grid.info.update(source=str(source.run_dir), source_fingerprint=source.fingerprint, source_epoch=source.epoch,
                     calib_samples=int(frames.shape[1]), calib_seed=seed)
    return grid


def run_qat(source_dir: str | Path, out_dir: str | Path, *, epochs: int = 2, lr: float = 1e-3, calib: int = 256,
            resume: bool = False, progress: bool = True) -> dict[str, Any] | None:
    """``spikinghash qat``: fine-tune the run in ``source_dir`` on its fixed grid into ``out_dir``.

    The fine-tuning run is an ordinary training run (same trainer, objective and data order;
    the source's settings with ``epochs``, ``lr`` and no warm-up, a fresh optimizer) that starts
    from the source's weights and holds ``qat.json``. ``resume`` continues it from its checkpoint.
    Returns the last epoch's metrics (None if none was left to train).
    """
    from spikinghash.train.checkpoint import CHECKPOINT
    from spikinghash.train.distributed import DistEnv
    from spikinghash.train.run_dir import load_trained
    from spikinghash.train.trainer import load_data, train

    source = load_trained(source_dir)
    _require_neuromorphic(source.model, str(source.cfg.model))
    out = Path(out_dir)
    if out.resolve() == source.run_dir.resolve():
        raise ConfigError(f"--out {out} is the source run itself; fine-tune into a new folder")
    cfg = dataclasses.replace(source.cfg, epochs=epochs, lr=lr, warmup_epochs=0, warmup_steps=0)
    if resume:
        if read_grid(out) is None:
            raise DataError(f"{out} holds no {QAT_FILE}; start the fine-tuning without --resume")
        return train(cfg, out, resume=True, progress=progress, init_from=source.model.state_dict())
    if (out / CHECKPOINT).exists():
        raise ConfigError(f"{out} already holds a run ({CHECKPOINT}); pass --resume to continue it, or choose "
                          "another --out folder")
    data = load_data(cfg, DistEnv())  # loaded once: for the calibration and for the fine-tuning
    write_grid(out, grid_for_run(source, data, calib))
    return train(cfg, out, progress=progress, init_from=source.model.state_dict(), data=data)
