"""Neuron layers: one description per NIR neuron kind, its float and its fixed-point behaviour side by side.

Float behaviour (the deployment contract, NIR's equations Euler-discretised with step dt;
with the paper's LIF, Eqs. 1-3, V_reset = 0), per step t::

    u[t] = current_decay·u[t-1] + gain·I[t]        # synaptic current in v units (CubaLIF's I)
    H[t] = decay·V[t-1] + u[t] + gain·b + leak     # Eq. 1 (charge); b: the weighted nodes' biases
    S[t] = H[t] > v_threshold                      # Eq. 2 (fire, strict >; readouts never fire)
    V[t] = 0 if S[t] else H[t]                     # Eq. 3 (hard reset to 0)

with k = dt/tau (k_s = dt/tau_syn, k_m = dt/tau_mem):

========== ============= ================== ================= ============ =========
NIR node   decay         gain               current_decay     leak         fires
========== ============= ================== ================= ============ =========
LIF        1 − k         r·k                0                 v_leak·k     yes
IF         1             r                  0                 0            yes
CubaLIF    1 − k_m       r·k_m·k_s·w_in     1 − k_s           v_leak·k_m   yes
Threshold  0             1                  0                 0            yes
LI         1 − k         r·k                0                 v_leak·k     no
I          1             r                  0                 0            no
CubaLI     1 − k_m       r·k_m·k_s·w_in     1 − k_s           v_leak·k_m   no
========== ============= ================== ================= ============ =========

(CubaLIF: ``i ← i + k_s(−i + w_in·I)``, ``v ← v + k_m(v_leak − v + r·i)``, the new i in v's step as on
Loihi; ``u = r·k_m·i``.) IF and I integrate per step, ``v[t] = v[t−1] + r·I[t]`` (no time constant).

Fixed-point behaviour (:class:`IntNeuron`, the layer's integer parameters): Lava's
``PyLifResetModelBitAcc`` (``lif_kernel``), ``du = round(4096·k_s) − 1`` (4095 without a
synaptic filter: u holds one step's input), ``dv = round(4096·(1 − decay))`` capped at 4095,
readouts with the largest threshold (``vth = 2**17 − 1``). Every kind runs that one datapath; its
cost per update (:data:`UPDATE_MULTS`, :data:`UPDATE_ADDS`) is what the energy models price, and
:meth:`IntNeuron.netx_neuron` is its netx form.

The NIR side (building a layer from a node, ``--portable`` rewrites, snnTorch's importer) is in
``neuron_nodes``; the registry of every kind is ``kinds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, NamedTuple, Sequence

import numpy as np
import torch
from torch import Tensor

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds.lif_kernel import lif_steps
from spikinghash.hw_sim.spec import DECAY_UNIT, VTH_SHIFT

Shape = tuple[int, ...]
#: The layouts a neuron layer (and the input) may have, by rank: the one place a new layout (e.g. [C, L]
#: for 1-D convolutions) is admitted; Lava's axis order follows any rank (``backends.lava.build.lava_shape``).
LAYER_SHAPES = {1: "[N]", 3: "[C, H, W]"}


def layout_of(shape: Shape) -> str | None:
    """The layout name of ``shape`` (:data:`LAYER_SHAPES`), None for a rank no layer may have."""
    return LAYER_SHAPES.get(len(shape))


#: Integer operations of one neuron update of the fixed-point step (``lif_kernel``; every kind runs it):
#: 2 multiplies (a 12-bit decay times a 24-bit state, for u and v) and 4 adds at 32 bits (u, v, bias and
#: the threshold compare), on 2 state variables.
UPDATE_MULTS, UPDATE_ADDS = 2, 4
Recurrence = Sequence[tuple[Callable[[Tensor], Tensor], int]]  # (spikes [B, *shape] -> current, delay steps)


class FloatTrace(NamedTuple):
    """A float run of one layer, all ``[T, B, *shape]``: ``spikes`` uint8, ``h`` (H of Eq. 1, float64) and ``u``
    (the synaptic term of H without the bias, what Loihi's u holds)."""

    spikes: Tensor
    h: Tensor
    u: Tensor


class FixedTrace(NamedTuple):
    """A fixed-point run of one layer: ``spikes [S, B, *shape]`` uint8; ``v`` (if asked for) int64 of the same
    shape: v after each step, clipped and 0 where the neuron fired (what a Lava Monitor of ``v`` reads);
    ``v_saturations`` / ``u_wraps``: events counted over the steps from ``count_from`` on; ``spikes_float``
    (if asked for): the spikes as float32; ``final`` (if asked for): u and v after the last step, each
    ``[B, *shape]`` int64."""

    spikes: Tensor
    v: Tensor | None
    v_saturations: int
    u_wraps: int
    spikes_float: Tensor | None = None
    final: tuple[Tensor, Tensor] | None = None


@dataclass(frozen=True, eq=False)
class NeuronLayer:
    """Per-neuron float parameters (arrays of the layer's ``shape``) of one neuron node (module docstring)."""

    name: str
    shape: Shape
    decay: np.ndarray
    gain: np.ndarray
    leak: np.ndarray
    threshold: np.ndarray
    current_decay: np.ndarray | None = None  # None: 0 (u holds one step's input)
    kind: ClassVar[str] = "LIF"  # the NIR node type
    spiking: ClassVar[bool] = True  # False: a readout (LI, I, CubaLI), read by its final membrane

    # -- float behaviour ---------------------------------------------------------------
    def float_run(self, drive: Tensor, bias: Tensor | float = 0.0, recurrent: Recurrence = ()) -> FloatTrace:
        """Eqs. 1-3 over ``drive [T, B, *shape]`` (float64 input current Σ W·x, bias excluded) with the weighted
        nodes' summed ``bias`` [*shape]; ``recurrent``: (map, f) pairs adding ``map(S[t - f])`` to the input
        current at step t (zeros for t < f), a layer feeding itself."""
        decay, gain, leak, vth = (torch.as_tensor(a, dtype=torch.float64) for a in
                                  (self.decay, self.gain, self.leak, self.threshold))
        c_decay = torch.as_tensor(0.0 if self.current_decay is None else self.current_decay, dtype=torch.float64)
        step_bias = gain * torch.as_tensor(bias, dtype=torch.float64) + leak
        v = torch.zeros(drive.shape[1:], dtype=torch.float64)
        u = torch.zeros_like(v)
        spikes, hs, us = torch.zeros_like(drive, dtype=torch.uint8), torch.empty_like(drive), torch.empty_like(drive)
        for t in range(drive.shape[0]):
            i_t = drive[t]
            for fn, f in recurrent:
                if t >= f:
                    i_t = i_t + fn(spikes[t - f].to(torch.float64))
            u = c_decay * u + gain * i_t  # CubaLIF's synaptic current (c_decay = 0: this step's input)
            h = decay * v + u + step_bias  # Eq. 1
            s = h > vth if self.spiking else torch.zeros_like(h, dtype=torch.bool)  # Eq. 2
            v = torch.where(s, torch.zeros_like(h), h)  # Eq. 3
            spikes[t], hs[t], us[t] = s, h, u
        return FloatTrace(spikes, hs, us)

    # -- the integer decays of the fixed-point behaviour ---------------------------------
    def voltage_decay_int(self) -> int:
        """Lava ``dv`` (12 bit) matching ``decay``; one decay for the whole layer."""
        leak_per_step = 1.0 - uniform_value(self.decay, self.name, "tau")
        # dt/tau = 1 (no memory) would need dv = 4096, one more than 12 bits hold
        return int(min(round(DECAY_UNIT * leak_per_step), DECAY_UNIT - 1))

    def current_decay_int(self) -> int:
        """Lava ``du`` (12 bit): Lava decays u by ``(du + 1) / 4096``; 4095 = no synaptic memory."""
        if self.current_decay is None:
            return DECAY_UNIT - 1
        k_syn = 1.0 - uniform_value(self.current_decay, self.name, "tau_syn")
        return int(min(max(round(DECAY_UNIT * k_syn) - 1, 0), DECAY_UNIT - 1))


class LIFLayer(NeuronLayer):
    """``nir.LIF``."""


class IFLayer(NeuronLayer):
    """``nir.IF``: no leak, ``dv = 0``."""

    kind = "IF"


class CubaLIFLayer(NeuronLayer):
    """``nir.CubaLIF``: Loihi's own current-based neuron (``du`` from tau_syn)."""

    kind = "CubaLIF"


class ThresholdLayer(NeuronLayer):
    """``nir.Threshold``: a stateless Heaviside; on Loihi ``dv = 4095`` keeps ``v/4096`` of a sub-threshold v."""

    kind = "Threshold"


class LILayer(NeuronLayer):
    """``nir.LI``: a leaky readout (never fires)."""

    kind, spiking = "LI", False


class ILayer(NeuronLayer):
    """``nir.I``: an integrating readout (never fires)."""

    kind, spiking = "I", False


class CubaLILayer(NeuronLayer):
    """``nir.CubaLI``: a current-based leaky readout (never fires)."""

    kind, spiking = "CubaLI", False


@dataclass(frozen=True)
class IntNeuron:
    """Integer LIF parameters of one layer and its fixed-point behaviour (:meth:`run`); ``scale`` = integer v
    units per float unit of H (see quantize)."""

    du: int  # unsigned 12 bit (current decay; 4095: u holds one step's input)
    dv: int  # unsigned 12 bit (voltage decay)
    vth: int  # unsigned 17 bit, compared as vth << 6 with the 24-bit v
    bias_mant: np.ndarray  # signed 13 bit, per neuron
    bias_exp: np.ndarray  # unsigned 3 bit, per neuron
    scale: float = 1.0  # integer v units per float unit (quantizer's record, not used in simulation)
    limited_by: str = "given"  # the bound that set ``scale`` (quantize)

    def bias(self) -> np.ndarray:
        """Lava's effective bias ``bias_mant << bias_exp`` (int64, the layer's shape)."""
        return np.asarray(self.bias_mant).astype(np.int64) << np.asarray(self.bias_exp).astype(np.int64)

    def netx_neuron(self) -> dict[str, np.ndarray]:
        """netx's ``neuron`` group: a CUBA neuron, which netx builds as Lava's LIF with ``du = iDecay - 1``,
        ``dv = vDecay``, ``vth = vThMant`` (its bias goes beside it, at netx's fixed ``bias_exp``)."""
        return {"type": "CUBA", "iDecay": np.array(self.du + 1), "vDecay": np.array(self.dv),
                "vThMant": np.array(self.vth), "refDelay": np.array(1), "gradedSpike": np.array(False)}

    def threshold_v(self) -> int:
        """The threshold in v units (``vth << 6``): a spike needs ``v`` above it."""
        return self.vth << VTH_SHIFT

    def run(self, a_in: Tensor, reset_step: int = 0, count_from: int = 0, keep_v: bool = True,
            float_spikes: bool = False, state: tuple[np.ndarray, np.ndarray] | None = None,
            final: bool = False) -> FixedTrace:
        """Lava's bit-accurate LIF (``lif_kernel``) over ``a_in [S, B, *shape]`` (integer values: the int32 sum of
        the input ports), state 0 at step 0, or ``state`` = (u, v) ``[B·neurons]`` int64 arrays updated in place.

        u and v are zeroed at the start of step ``reset_step`` (LIFReset). Saturations and wraps are counted
        from ``count_from``. ``float_spikes``: also return the spikes as float32 (``spikes_float``); ``final``:
        also the state after the last step (``final``)."""
        return fixed_run(a_in, self.du, self.dv, self.vth, torch.as_tensor(self.bias()), reset_step, count_from,
                         keep_v, float_spikes, state, final)


def fixed_run(a_in: Tensor, du: int, dv: int, vth: int, bias: Tensor, reset_step: int, count_from: int,
              keep_v: bool = True, float_spikes: bool = False,
              state: tuple[np.ndarray, np.ndarray] | None = None, final: bool = False) -> FixedTrace:
    """:meth:`IntNeuron.run` with the parameters given one by one (``bias`` = ``bias_mant << bias_exp``)."""
    a_in, bias = a_in.detach(), torch.as_tensor(bias, dtype=torch.int64)
    lead = a_in.dim() - bias.dim()  # [S, B, *shape] (or [S, *shape]) with bias [*shape]
    order = _memory_order(a_in, lead)  # walk neurons in memory order: a channels-last a_in is not copied
    laid_out = a_in.permute(order)
    if not laid_out.is_contiguous() or state is not None:
        order, laid_out = tuple(range(a_in.dim())), a_in.contiguous()
    per_sample = bias.permute([d - lead for d in order[lead:]]).contiguous().numpy().reshape(-1)
    flat = laid_out.reshape(a_in.shape[0], -1, max(per_sample.size, 1)).numpy()  # [S, samples, neurons]
    spikes = np.empty(flat.shape, dtype=np.uint8)
    v = np.empty(flat.shape if keep_v else (0, 0, 0), dtype=np.int64)
    as_float = np.empty(flat.shape if float_spikes else (0, 0, 0), dtype=np.float32)
    if state is not None:
        u_state, v_state = (s.reshape(flat.shape[1:]) for s in state)
    elif final:  # the run starts from 0 as always and leaves its last state here
        u_state, v_state = np.empty(flat.shape[1:], np.int64), np.empty(flat.shape[1:], np.int64)
    else:
        u_state, v_state = (np.empty((0, 0), dtype=np.int64),) * 2
    saturations, wraps = lif_steps(flat, per_sample, du, dv, vth, reset_step, count_from, spikes, v, as_float,
                                   u_state, v_state, state is not None)
    back = tuple(np.argsort(order))

    def logical(values: np.ndarray) -> Tensor:
        return torch.from_numpy(values).reshape(laid_out.shape).permute(back)

    def logical_state(values: np.ndarray) -> Tensor:  # [B, neurons] in memory order -> [B, *shape]
        dims = tuple(int(i) for i in np.argsort(order[1:]))
        return torch.from_numpy(values).reshape(laid_out.shape[1:]).permute(dims)

    last = (logical_state(u_state), logical_state(v_state)) if final else None
    return FixedTrace(logical(spikes), logical(v) if keep_v else None, int(saturations), int(wraps),
                      logical(as_float) if float_spikes else None, last)


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
