"""The NIR side of the neuron kinds: build a :class:`~.neurons.NeuronLayer` from a NIR neuron node (the mapping
of the table in ``neurons``), rewrite the node for snnTorch's importer (``--portable``), and what that
importer makes of it.

Each public function here is one facet of one entry of ``kinds.KINDS``.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.kinds.neurons import (LAYER_SHAPES, CubaLILayer, CubaLIFLayer, IFLayer, ILayer, LIFLayer,
                                              LILayer, NeuronLayer, ThresholdLayer, layout_of)

Shape = tuple[int, ...]
#: snnTorch 1.0.0's importer computes ``β = 1 − dt/τ`` with this step, whatever the graph's dt.
SNNTORCH_DT = 1e-4


# -- builders: NIR neuron node (and the graph's dt in seconds) -> NeuronLayer ---------------------

def _params(node: Any, name: str, fields: tuple[str, ...]) -> tuple[Shape, list[np.ndarray]]:
    arrays = [np.asarray(getattr(node, f), dtype=np.float64) for f in fields]
    shape = arrays[-1].shape
    kind = type(node).__name__
    if any(a.shape != shape for a in arrays) or layout_of(shape) is None:
        raise ConfigError(f"neuron node {name!r} ({kind}): parameters {fields} must share one shape "
                          f"{' or '.join(LAYER_SHAPES.values())}, got {[list(a.shape) for a in arrays]}")
    for f, a in zip(fields, arrays):
        if not np.all(np.isfinite(a)):
            raise ConfigError(f"neuron node {name!r} ({kind}): {f} holds NaN or infinite values; export finite ones")
    reset = np.asarray(getattr(node, "v_reset", None) if getattr(node, "v_reset", None) is not None else 0.0,
                       dtype=np.float64)
    if np.any(reset != 0):
        raise ConfigError(f"neuron node {name!r} ({kind}): v_reset={np.unique(reset)[:3].tolist()} is not "
                          "supported; Loihi resets v to 0 and starts every sample at v = 0, so only v_reset = 0 "
                          "maps exactly (a shifted reset level would shift the start state too)")
    return shape, arrays


def _rate(tau: np.ndarray, dt: float, node: Any, name: str, what: str) -> np.ndarray:
    if np.any(tau < dt * (1 - 1e-9)):
        raise ConfigError(f"neuron node {name!r} ({type(node).__name__}): {what} < dt={dt} s makes the Euler step "
                          f"unstable; supported: {what} >= dt (the graph's dt, metadata['dt'])")
    return dt / tau


def leaky(node: nir.LIF | nir.LI, name: str, dt: float) -> NeuronLayer:
    spiking = isinstance(node, nir.LIF)
    shape, (tau, r, v_leak, vth) = _params(node, name, ("tau", "r", "v_leak", "v_threshold" if spiking else "r"))
    k = _rate(tau, dt, node, name, "tau")
    cls = LIFLayer if spiking else LILayer
    return cls(name, shape, 1.0 - k, r * k, v_leak * k, vth if spiking else np.full(shape, np.inf))


def integrator(node: nir.IF | nir.I, name: str, dt: float) -> NeuronLayer:
    spiking = isinstance(node, nir.IF)
    shape, (r, vth) = _params(node, name, ("r", "v_threshold" if spiking else "r"))
    cls = IFLayer if spiking else ILayer
    return cls(name, shape, np.ones(shape), r, np.zeros(shape), vth if spiking else np.full(shape, np.inf))


def current_based(node: nir.CubaLIF | nir.CubaLI, name: str, dt: float) -> NeuronLayer:
    spiking = isinstance(node, nir.CubaLIF)
    fields = ("tau_syn", "tau_mem", "r", "v_leak", "w_in", "v_threshold" if spiking else "r")
    shape, (tau_syn, tau_mem, r, v_leak, w_in, vth) = _params(node, name, fields)
    k_s, k_m = _rate(tau_syn, dt, node, name, "tau_syn"), _rate(tau_mem, dt, node, name, "tau_mem")
    cls = CubaLIFLayer if spiking else CubaLILayer
    return cls(name, shape, 1.0 - k_m, r * k_m * k_s * w_in, v_leak * k_m,
               vth if spiking else np.full(shape, np.inf), 1.0 - k_s)


def threshold(node: nir.Threshold, name: str, dt: float) -> NeuronLayer:
    shape, (theta,) = _params(node, name, ("threshold",))
    return ThresholdLayer(name, shape, np.zeros(shape), np.ones(shape), np.zeros(shape), theta)


# -- --portable: exact rewrites into what snnTorch 1.0's importer reads ------------------------------

def portable_lif(name: str, node: nir.LIF, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """Time rescaled (``τ' = τ·k``); a membrane with input gain ``g = r·dt/τ != 1`` runs on ``v' = v/g``."""
    g = node.r * dt / node.tau
    if not np.allclose(g, 1.0, rtol=1e-12):
        done.append(f"{name}: membrane scaled by 1/(r·dt/tau)")
    return nir.LIF(tau=node.tau * k, r=node.r / g, v_leak=node.v_leak / g, v_threshold=node.v_threshold / g,
                   v_reset=node.v_reset / g)


def portable_cubalif(name: str, node: nir.CubaLIF, k: float, dt: float, done: list[str]) -> nir.NIRNode:
    """The current first scaled by ``h = w_in·dt/τ_syn`` (``w_in' = w_in/h``, ``r ← r·h``), then the membrane."""
    h = node.w_in * dt / node.tau_syn
    r = node.r * h
    g = r * dt / node.tau_mem
    if not (np.allclose(h, 1.0, rtol=1e-12) and np.allclose(g, 1.0, rtol=1e-12)):
        done.append(f"{name}: current and membrane rescaled")
    return nir.CubaLIF(tau_syn=node.tau_syn * k, tau_mem=node.tau_mem * k, r=r / g, v_leak=node.v_leak / g,
                       v_threshold=node.v_threshold / g, v_reset=node.v_reset / g, w_in=node.w_in / h)


# -- what snnTorch 1.0's import_from_nir makes of a neuron node ---------------------------------------

def snntorch_if(node: nir.IF, dt: float) -> list[str]:
    return ["IF is imported as a Leaky with beta 0.9"]


def snntorch_lif(node: nir.LIF | nir.CubaLIF, dt: float) -> list[str]:
    """Why the importer's Leaky/Synaptic would compute other spikes than the node's equations (empty: exact)."""
    tau = node.tau if isinstance(node, nir.LIF) else node.tau_mem
    reasons = []
    if not np.isclose(dt, SNNTORCH_DT, rtol=1e-9, atol=0):
        reasons.append(f"it assumes dt = {SNNTORCH_DT} s, the graph's is {dt} s (--portable rescales time)")
    if np.any(np.asarray(node.v_leak) != 0) or np.any(np.asarray(node.v_reset) != 0):
        reasons.append("v_leak and v_reset must be 0")
    if np.unique(node.v_threshold).size != 1:
        reasons.append("one threshold per layer needed")
    if not np.allclose(node.r * dt / tau, 1.0, rtol=1e-6):
        reasons.append("r·dt/tau != 1 (--portable rescales the membrane)")
    if isinstance(node, nir.CubaLIF) and not np.allclose(node.w_in * dt / node.tau_syn, 1.0, rtol=1e-6):
        reasons.append("w_in·dt/tau_syn != 1 (--portable rescales the current)")
    return reasons
