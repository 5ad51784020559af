"""Neuron layers (``nir.LIF``, ``nir.IF``): one description, a float and a fixed-point behaviour.

Float behaviour (the deployment contract; with the paper's LIF, Eqs. 1-3, V_reset = 0)::

    H[t] = decay·V[t-1] + gain·I[t] + leak          # Eq. 1 (charge)
    S[t] = H[t] > v_threshold                       # Eq. 2 (fire, strict >)
    V[t] = 0 if S[t] else H[t]                      # Eq. 3 (hard reset to 0)

NIR LIF (Euler, step dt): decay = 1 - dt/tau, gain = r·dt/tau, leak = v_leak·dt/tau
(ours: tau = γ·dt, r = 1, v_leak = 0). NIR IF: decay = 1, gain = r, leak = 0.

Fixed-point behaviour: Lava's ``PyLifResetModelBitAcc`` (= ``PyLifModelBitAcc`` plus the
periodic state reset), per step, with Lava's variable widths::

    u ← trunc(u·(4096 − (du + 1)) / 4096) + wrap32(a_in << 6)     u: 24 bit, one wrap ±2**24
    v ← clip(wrap32(trunc(v·(4096 − dv)) / 4096) + u + (bias_mant << bias_exp)), ±(2**23 − 1))
    spike iff v > vth << 6; then v ← 0                            vth: 17 bit unsigned

``trunc`` rounds toward zero; ``a_in`` is the int32 sum of all incoming synapse outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import nir
import numpy as np
import torch
from torch import Tensor

from spikinghash.errors import ConfigError

Shape = tuple[int, ...]
UV_BITS = 24  # u, v: signed 24 bit
UV_MAX = 1 << (UV_BITS - 1)
DECAY_BITS = 12  # du, dv: unsigned 12 bit; decays are MSB-aligned to 2**12
DECAY_UNIT = 1 << DECAY_BITS
VTH_MAX = (1 << 17) - 1  # vth: unsigned 17 bit
VTH_SHIFT = 6  # vth and a_in are MSB-aligned by 6 bits
ACT_SHIFT = 6
BIAS_MANT_MIN, BIAS_MANT_MAX = -(1 << 12), (1 << 12) - 1  # bias_mant: signed 13 bit
BIAS_EXP_MAX = 7  # bias_exp: unsigned 3 bit


class FixedTrace(NamedTuple):
    """A fixed-point run of one layer: ``spikes [S, B, *shape]`` uint8; ``v`` (if asked for) int64 of the same
    shape: v after each step, clipped and 0 where the neuron fired (what a Lava Monitor of ``v`` reads);
    ``v_saturations`` / ``u_wraps``: events counted over the steps from ``count_from`` on; ``spikes_float``
    (if asked for): the spikes as float32."""

    spikes: Tensor
    v: Tensor | None
    v_saturations: int
    u_wraps: int
    spikes_float: Tensor | None = None


@dataclass(frozen=True, eq=False)
class NeuronLayer:
    """Per-neuron float parameters (arrays of the layer's ``shape``) of a LIF-type layer."""

    name: str
    shape: Shape
    decay: np.ndarray
    gain: np.ndarray
    leak: np.ndarray
    threshold: np.ndarray

    # -- float behaviour ---------------------------------------------------------------
    def float_run(self, current: Tensor) -> tuple[Tensor, Tensor]:
        """Eqs. 1-3 over ``current [T, B, *shape]`` (float64, bias included) -> (spikes, H), both ``[T, B, *shape]``."""
        decay, gain, leak, vth = (torch.as_tensor(a, dtype=torch.float64) for a in
                                  (self.decay, self.gain, self.leak, self.threshold))
        v = torch.zeros(current.shape[1:], dtype=torch.float64)
        spikes, hs = torch.empty_like(current, dtype=torch.uint8), torch.empty_like(current)
        for t in range(current.shape[0]):
            h = decay * v + gain * current[t] + leak  # Eq. 1
            s = h > vth  # Eq. 2
            v = torch.where(s, torch.zeros_like(h), h)  # Eq. 3
            spikes[t], hs[t] = s, h
        return spikes, hs

    # -- fixed-point behaviour ---------------------------------------------------------
    def voltage_decay_int(self) -> int:
        """Lava ``dv`` (12 bit) matching ``decay``; needs one decay for the whole layer."""
        raise NotImplementedError

    @staticmethod
    def fixed_run(a_in: Tensor, du: int, dv: int, vth: int, bias: Tensor, reset_step: int,
                  count_from: int, keep_v: bool = True, float_spikes: bool = False) -> FixedTrace:
        """Lava's bit-accurate LIF over ``a_in [S, B, *shape]`` (integer values: the int32 sum of the input
        ports), state 0 at step 0.

        ``bias`` = ``bias_mant << bias_exp`` per neuron (``[*shape]``); u and v are zeroed at the start of
        step ``reset_step`` (LIFReset). Saturations and wraps are counted from ``count_from``.
        ``float_spikes``: also return the spikes as float32 (``spikes_float``), in the same pass. The update
        (module docstring) runs as one compiled loop, ``lif_kernel.lif_steps``.
        """
        from spikinghash.hw_sim.lif_kernel import lif_steps

        a_in, bias = a_in.detach(), torch.as_tensor(bias, dtype=torch.int64)
        lead = a_in.dim() - bias.dim()  # [S, B, *shape] (or [S, *shape]) with bias [*shape]
        order = _memory_order(a_in, lead)  # walk neurons in memory order: a channels-last a_in is not copied
        laid_out = a_in.permute(order)
        if not laid_out.is_contiguous():
            order, laid_out = tuple(range(a_in.dim())), a_in.contiguous()
        per_sample = bias.permute([d - lead for d in order[lead:]]).contiguous().numpy().reshape(-1)
        flat = laid_out.reshape(a_in.shape[0], -1, max(per_sample.size, 1)).numpy()  # [S, samples, neurons]
        spikes = np.empty(flat.shape, dtype=np.uint8)
        v = np.empty(flat.shape if keep_v else (0, 0, 0), dtype=np.int64)
        as_float = np.empty(flat.shape if float_spikes else (0, 0, 0), dtype=np.float32)
        saturations, wraps = lif_steps(flat, per_sample, du, dv, vth, reset_step, count_from, spikes, v, as_float)
        back = tuple(np.argsort(order))

        def logical(values: np.ndarray) -> Tensor:
            return torch.from_numpy(values).reshape(laid_out.shape).permute(back)

        return FixedTrace(logical(spikes), logical(v) if keep_v else None, int(saturations), int(wraps),
                          logical(as_float) if float_spikes else None)


def _memory_order(t: Tensor, lead: int) -> tuple[int, ...]:
    """The dims of ``t`` from outermost to innermost in memory, its ``lead`` dims (time, batch) kept first."""
    inner = sorted(range(lead, t.dim()), key=lambda d: (-t.stride(d), d))
    return (*range(lead), *inner)


def uniform_value(values: np.ndarray, name: str, what: str) -> float:
    """The one value of a per-neuron parameter array; ConfigError if neurons differ (Lava has one per layer)."""
    if not np.allclose(values, values.flat[0], rtol=1e-9, atol=0.0):
        raise ConfigError(f"neuron layer {name!r}: {what} differs between neurons, but Loihi's LIF has one per "
                          f"layer; export one {what} per layer")
    return float(values.flat[0])


@dataclass(frozen=True, eq=False)
class LIFLayer(NeuronLayer):
    """``nir.LIF``: leaky; ``dv = round(4096·dt/tau)``."""

    def voltage_decay_int(self) -> int:
        leak_per_step = 1.0 - uniform_value(self.decay, self.name, "tau")
        # dt/tau = 1 (no memory) would need dv = 4096, one more than 12 bits hold
        return int(min(round(DECAY_UNIT * leak_per_step), DECAY_UNIT - 1))


@dataclass(frozen=True, eq=False)
class IFLayer(NeuronLayer):
    """``nir.IF``: no leak, ``dv = 0``."""

    def voltage_decay_int(self) -> int:
        return 0


def _params(node: Any, name: str, fields: tuple[str, ...]) -> tuple[Shape, list[np.ndarray]]:
    arrays = [np.asarray(getattr(node, f), dtype=np.float64) for f in fields]
    shape = arrays[-1].shape
    if any(a.shape != shape for a in arrays) or len(shape) not in (1, 3):
        raise ConfigError(f"neuron node {name!r}: parameters {fields} must share one shape [N] or [C, H, W], got "
                          f"{[list(a.shape) for a in arrays]}")
    reset = np.asarray(node.v_reset if node.v_reset is not None else 0.0, dtype=np.float64)
    if np.any(reset != 0):
        raise ConfigError(f"neuron node {name!r}: v_reset must be 0 (Loihi resets v to 0); fold the reset "
                          "level into the threshold and biases")
    return shape, arrays


def _lif(node: nir.LIF, name: str, dt: float) -> NeuronLayer:
    shape, (tau, r, v_leak, vth) = _params(node, name, ("tau", "r", "v_leak", "v_threshold"))
    if np.any(tau < dt):
        raise ConfigError(f"neuron node {name!r}: tau < dt makes the Euler step unstable; export tau = γ·dt, γ >= 1")
    k = dt / tau
    return LIFLayer(name, shape, 1.0 - k, r * k, v_leak * k, vth)


def _if(node: nir.IF, name: str, dt: float) -> NeuronLayer:
    shape, (r, vth) = _params(node, name, ("r", "v_threshold"))
    return IFLayer(name, shape, np.ones(shape), r, np.zeros(shape), vth)


NEURON_BUILDERS: dict[type, Callable[[Any, str, float], NeuronLayer]] = {nir.LIF: _lif, nir.IF: _if}
