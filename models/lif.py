"""Leaky integrate-and-fire neuron (paper Eqs. 1–3): a functional core and a thin module.

The float behaviour lives here. The parameters are described once, in :class:`LIFParams`,
in terms that map one-to-one onto a Loihi/Lava-style integer neuron (see its docstring),
so that a fixed-point twin can sit beside this one later without a second description.

Multi-step calls take all ``T`` steps at once (``x: [T, ...]``) and run a hand-written
backward pass over the whole time loop (one autograd node instead of a dozen per step).
With no gradient to compute (eval, ONNX export) the same loop runs as plain tensor ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import torch
from snntorch import surrogate
from torch import Tensor, nn

from spikinghash.errors import ConfigError

SpikeFn = Callable[[Tensor], Tensor]

# Forward pass of every entry is Heaviside(u > 0); only the backward (surrogate) differs.
# All are snnTorch's own functions with snnTorch's default shape parameters. Left out:
# snnTorch 1.0's `sigmoid` (its backward overflows to NaN for u < -3.5 in float32) and
# `triangular` (its backward changes sign at u = 0).
SURROGATES: dict[str, Callable[[], SpikeFn]] = {
    "atan": surrogate.atan,
    "fast_sigmoid": surrogate.fast_sigmoid,
    "straight_through": surrogate.straight_through_estimator,
}


@dataclass(frozen=True)
class LIFParams:
    r"""Parameters of a LIF neuron with hard reset (float32 behaviour).

    Discrete-time dynamics per time step ``t`` (paper Eqs. 1–3)::

        H[t] = V[t-1] + (I[t] - (V[t-1] - V_reset)) / tau      # charge   (Eq. 1)
        S[t] = Heaviside(H[t] - v_threshold)                   # fire     (Eq. 2), strict ">"
        V[t] = V_reset * S[t] + H[t] * (1 - S[t])              # reset    (Eq. 3)

    with ``V[0] = V_reset``. Equivalently ``H = decay * V + gain * (I + V_reset)`` where
    ``decay = 1 - 1/tau`` and ``gain = 1/tau``. The reset is detached from the graph in
    training (as in Spikingformer and snnTorch).

    Mapping to an integer (Lava ``LIF``, 12-bit decays) twin, for the later fixed-point
    behaviour: ``dv = round(4096 * gain)`` (voltage decay), ``du = 4095`` (the current
    does not persist, so ``u[t] = a_in[t]``), the input gain folded into the synaptic
    weights, ``vth`` = ``v_threshold`` in the weights' fixed-point scale, and
    ``v_reset`` must be 0 (Loihi resets ``v`` to 0). Both compare with a strict ``>``.

    Attributes:
        tau: membrane time constant γ (time steps, > 1 for a leak in (0, 1); 1 = no memory).
        v_threshold: firing threshold v_th (same unit as the input current).
        v_reset: reset potential V_reset, also the resting potential at t = 0.
        surrogate: name in :data:`SURROGATES` of the gradient used for dS/dH in training.
    """

    tau: float = 2.0
    v_threshold: float = 1.0
    v_reset: float = 0.0
    surrogate: str = "atan"

    def __post_init__(self) -> None:
        if not self.tau >= 1.0:
            raise ConfigError(
                f"LIF tau={self.tau} must be >= 1 (decay 1 - 1/tau in [0, 1)); use e.g. tau=2.0"
            )
        if self.surrogate not in SURROGATES:
            raise ConfigError(
                f"unknown surrogate {self.surrogate!r}; use one of {sorted(SURROGATES)}"
            )
        if self.v_reset >= self.v_threshold:
            raise ConfigError(
                f"v_reset={self.v_reset} must be below v_threshold={self.v_threshold}; "
                "lower v_reset or raise v_threshold"
            )

    @property
    def decay(self) -> float:
        """Fraction of the membrane potential kept from one step to the next (1 - 1/tau)."""
        return 1.0 - 1.0 / self.tau

    @property
    def gain(self) -> float:
        """Weight of the input current in the charge (1/tau)."""
        return 1.0 / self.tau

    def spike_fn(self) -> SpikeFn:
        """The snnTorch surrogate spike function for this neuron (Heaviside forward)."""
        return SURROGATES[self.surrogate]()


class LIFState(NamedTuple):
    """State carried between single steps: ``v`` is V[t] (after reset), shape of the input."""

    v: Tensor


class LIFTrace(NamedTuple):
    """Result of a multi-step call: ``spikes`` S and membrane ``membrane`` H (before reset).

    Both have the input's shape ``[T, ...]``; ``spikes`` holds 0.0/1.0.
    """

    spikes: Tensor
    membrane: Tensor


def charge(x: Tensor, v: Tensor | None, p: LIFParams) -> Tensor:
    """Eq. 1: membrane potential H[t] from input I[t] and the previous V[t-1].

    ``v=None`` stands for a neuron at rest (V[t-1] = V_reset) and skips a pass over memory.
    """
    h = x * p.gain if v is None else v * p.decay + x * p.gain
    if p.v_reset:
        # decay * V_reset + gain * V_reset = V_reset for a neuron at rest.
        h = h + (p.v_reset if v is None else p.v_reset * p.gain)
    return h


def fire(h: Tensor, p: LIFParams, spike_fn: SpikeFn) -> Tensor:
    """Eq. 2: spikes S[t] = Heaviside(H[t] - v_th), with the gradient of ``spike_fn``."""
    return spike_fn(h - p.v_threshold)


def heaviside(u: Tensor) -> Tensor:
    """Heaviside(u), strict (u > 0), as a bool tensor: the spike without any gradient."""
    return u > 0


def reset(h: Tensor, s: Tensor, p: LIFParams) -> Tensor:
    """Eq. 3: hard reset of the neurons that fired (``s``: 0/1 floats or bools); the reset
    itself carries no gradient."""
    fired = s if s.dtype == torch.bool else s.detach() != 0
    return torch.where(fired, p.v_reset, h)


def initial_state(like: Tensor, p: LIFParams) -> LIFState:
    """Resting state V[0] = V_reset, shaped like one time step of the input."""
    return LIFState(v=torch.full_like(like, p.v_reset))


def lif_step(x: Tensor, state: LIFState, p: LIFParams) -> tuple[Tensor, LIFState]:
    """One time step (Eqs. 1–3), differentiable through autograd.

    Args:
        x: input current I[t], any shape.
        state: V[t-1] with the shape of ``x``.
        p: neuron parameters.

    Returns:
        ``(spikes, state)``: S[t] in {0., 1.} and the state holding V[t].
    """
    h = charge(x, state.v, p)
    s = fire(h, p, p.spike_fn())
    return s, LIFState(v=reset(h, s, p))


def unroll(x: Tensor, p: LIFParams) -> tuple[Tensor, Tensor]:
    """Eqs. 1–3 over all T steps from rest, in plain tensor ops (Heaviside spikes).

    Args:
        x: input current ``[T, ...]``.
        p: neuron parameters.

    Returns:
        ``(membrane, fired)``: H ``[T, ...]`` (float) and S ``[T, ...]`` (bool).
    """
    v: Tensor | None = None
    hs, ss = [], []
    for t in range(x.shape[0]):
        h = charge(x[t], v, p)
        s = fire(h, p, heaviside)
        v = reset(h, s, p)
        hs.append(h)
        ss.append(s)
    return torch.stack(hs), torch.stack(ss)


class _MultiStepLIF(torch.autograd.Function):
    """Eqs. 1–3 over all T steps as one autograd node.

    Backward recursion (reset detached), with σ' the surrogate derivative::

        dL/dH[t] = dL/dS[t] σ'(H[t] - v_th) + dL/dH_out[t] + decay (1 - S[t]) dL/dH[t+1]
        dL/dI[t] = gain dL/dH[t]
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, p: LIFParams) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        membrane, fired = unroll(x.contiguous(), p)  # no graph is recorded; backward() below is the gradient
        ctx.p = p
        ctx.save_for_backward(membrane, fired)
        # Unused outputs then arrive as None instead of tensors of zeros.
        ctx.set_materialize_grads(False)
        return fired.to(x.dtype), membrane

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_spikes: Tensor | None, grad_membrane: Tensor | None) -> tuple[Tensor | None, None]:  # type: ignore[override]
        membrane, fired = ctx.saved_tensors
        p: LIFParams = ctx.p
        if grad_spikes is None and grad_membrane is None:
            return None, None
        direct = grad_membrane
        if grad_spikes is not None:
            with torch.enable_grad():
                u = (membrane - p.v_threshold).detach().requires_grad_()
                # dL/dS · dS/dH for all steps at once, through snnTorch's surrogate backward.
                (direct_s,) = torch.autograd.grad(p.spike_fn()(u), u, grad_spikes)
            direct = direct_s if direct is None else direct_s + direct
        grad_h = torch.empty_like(direct)
        carry = torch.zeros_like(direct[0])
        for t in range(direct.shape[0] - 1, -1, -1):
            torch.add(direct[t], carry.masked_fill_(fired[t], 0.0), out=grad_h[t])
            carry = grad_h[t] * p.decay
        return grad_h.mul_(p.gain), None


def lif_multistep(x: Tensor, p: LIFParams) -> LIFTrace:
    """All T steps of Eqs. 1–3 from rest, as one fused autograd node.

    Args:
        x: input current ``[T, ...]`` (float); the neurons start at V_reset.
        p: neuron parameters.

    Returns:
        :class:`LIFTrace` with ``spikes`` and ``membrane`` H, both ``[T, ...]``. Gradients
        flow into ``x`` from both (surrogate gradient for the spikes).
    """
    if x.dim() < 1 or x.shape[0] < 1:
        raise ValueError(f"lif_multistep needs x of shape [T, ...] with T >= 1, got {tuple(x.shape)}")
    if not (torch.is_grad_enabled() and x.requires_grad):
        # Nothing to differentiate (eval, ONNX export): plain ops, no autograd node. They
        # trace to ONNX as they are; torch.onnx's inlining of the custom Function does not
        # (torch 2.13 returns its membrane output in place of its spikes).
        membrane, fired = unroll(x, p)
        return LIFTrace(fired.to(x.dtype), membrane)
    spikes, membrane = _MultiStepLIF.apply(x, p)
    return LIFTrace(spikes, membrane)


class LIF(nn.Module):
    """Multi-step LIF layer ("SN" in the paper): ``[T, ...] -> [T, ...]`` spikes.

    Parameter-free; every instance is a separate population of neurons, so forward hooks
    on this module see exactly one layer's spikes (for spike counting). The hash layer's
    neurons are a :class:`MembraneLIF`, whose output is the whole :class:`LIFTrace`.
    """

    def __init__(self, params: LIFParams | None = None) -> None:
        super().__init__()
        self.params = params if params is not None else LIFParams()

    def forward(self, x: Tensor) -> Tensor:
        """Spikes ``[T, ...]`` in {0., 1.} for input current ``x: [T, ...]``."""
        return lif_multistep(x, self.params).spikes

    def extra_repr(self) -> str:
        p = self.params
        return f"tau={p.tau}, v_threshold={p.v_threshold}, v_reset={p.v_reset}, surrogate={p.surrogate}"


class MembraneLIF(nn.Module):
    """A LIF layer whose output is the whole :class:`LIFTrace` (spikes and membrane H).

    Used where the membrane is an output (the hash layer, Eq. 19). Forward hooks on it see
    a ``LIFTrace``; its ``spikes`` are the layer's spikes.
    """

    def __init__(self, params: LIFParams | None = None) -> None:
        super().__init__()
        self.params = params if params is not None else LIFParams()

    def forward(self, x: Tensor) -> LIFTrace:
        """``x: [T, ...] -> LIFTrace(spikes [T, ...], membrane [T, ...])``."""
        return lif_multistep(x, self.params)
