r"""snnTorch 1.0.0 neurons as NIR neuron nodes, exactly (``docs/deploy_contract.md``, "snnTorch mapping").

snnTorch's discrete update (``snntorch/_neurons/*.py``), with ``β = clamp(beta, 0, 1)``,
``α = clamp(alpha, 0, 1)``, ``r[t] = H(m[t-1] − θ)`` the reset computed from the stored
membrane and ``H(x) = x > 0``::

    Leaky     m[t] = β·(1 − r[t])·m[t-1] + x[t]                      (reset "zero", any reset_delay)
    Synaptic  i[t] = α·i[t-1] + x[t];  m[t] = β·m[t-1] + i[t]        (reset "zero", reset_delay=False)
    RLeaky    m[t] = β·m[t-1] + x[t] + V(s[t-1])                     (reset "zero", reset_delay=False)
    s[t] = H(m[t] − θ);  with reset_delay=False, m[t] ← 0 where s[t]

(with reset_delay=True the Leaky's stored membrane keeps the value above θ for one step and
``r[t] = s[t-1]`` zeroes it before the decay: the same spikes and dynamics as zeroing at once).
NIR's Euler step dt of ``τ·dv/dt = v_leak − v + R·I`` is ``v ← v + (dt/τ)(v_leak − v + R·I)``,
so ``β = 1 − dt/τ`` and the input gain ``R·dt/τ = 1``::

    Leaky    -> LIF(tau = dt/(1−β), r = 1/(1−β), v_leak = 0, v_threshold = θ, v_reset = 0)
                (β = 1: IF(r = 1, v_threshold = θ, v_reset = 0))
    Synaptic -> CubaLIF(tau_syn = dt/(1−α), w_in = 1/(1−α), tau_mem = dt/(1−β), r = 1/(1−β),
                        v_leak = 0, v_threshold = θ, v_reset = 0)
    RLeaky   -> NIRGraph(input → lif → output, lif → w_rec → lif), the edge w_rec → lif carrying
                the previous step's value; w_rec = Linear/Conv2d/Scale of V without its bias (the
                bias reaches m every step, also at t = 0: it is added to the layer feeding the neuron)

Every configuration without such a form is refused with the reason and the fix (see
:func:`neuron_problems`). Parameters are float64 arrays of the layer's shape.
"""

from __future__ import annotations

from typing import Callable

import nir
import numpy as np
import snntorch as snn
import torch
from torch import Tensor, nn

Shape = tuple[int, ...]


def _full(value: Tensor | float, shape: Shape) -> np.ndarray:
    array = value.detach().cpu().double().numpy() if isinstance(value, Tensor) else np.asarray(value, np.float64)
    return np.array(np.broadcast_to(array, shape), dtype=np.float64)


def _clamped(value: Tensor, shape: Shape) -> np.ndarray:
    """snnTorch's ``value.clamp(0, 1)`` (beta, alpha), broadcast to the layer."""
    return np.clip(_full(value, shape), 0.0, 1.0)


def neuron_problems(neuron: nn.Module) -> list[str]:
    """Why ``neuron`` has no exact NIR form (empty if it has one), each with its fix."""
    name = type(neuron).__name__
    if isinstance(neuron, snn.RSynaptic):
        return ["RSynaptic has no exact NIR form in snnTorch 1.0.0: with reset_delay=True its zero reset clears the "
                "membrane and the new input on the step after a spike (a refractory step no NIR neuron has), with "
                "reset_delay=False its forward resets a local copy (arguments spk/mem), not the state; use "
                "snn.Synaptic(reset_mechanism='zero', reset_delay=False) and a recurrent nn.Linear"]
    if type(neuron) not in NEURONS:  # a subclass may change forward(): only snnTorch's own classes
        return [f"{name} is not supported (snn.Leaky, snn.Synaptic and snn.RLeaky are)"]
    problems = []
    reset = neuron.reset_mechanism
    if int(neuron.reset_mechanism_val) != snn.SpikingNeuron.reset_dict[reset]:
        # load_state_dict copies the buffer, but forward() keeps the update chosen at construction.
        problems.append(f"built with reset_mechanism={reset!r} but its reset_mechanism_val buffer (loaded weights?) "
                        "says another: build the model with the reset the weights were trained with")
    if reset == "subtract":
        problems.append("reset_mechanism='subtract' (snnTorch's default) has no NIR 1.0.8 neuron form (NIR's LIF "
                        "resets to v_reset) and Loihi's LIF resets to 0; set reset_mechanism='zero'")
    elif reset != "zero":
        problems.append(f"reset_mechanism={reset!r}: a neuron that never resets has no NIR spiking form; "
                        "set reset_mechanism='zero'")
    if reset == "zero" and neuron.reset_delay and not isinstance(neuron, snn.Leaky):
        problems.append(f"{name}(reset_delay=True) with reset 'zero' clears the membrane and the new input on the "
                        "step after a spike (a refractory step no NIR neuron has); set reset_delay=False")
    if neuron.inhibition:
        problems.append("inhibition=True (winner-take-all over the batch axis) has no NIR form; set inhibition=False")
    if neuron.state_quant:
        problems.append("state_quant quantizes the state inside the step, which NIR cannot express; remove it")
    if not torch.all(torch.as_tensor(neuron.graded_spikes_factor) == 1):
        problems.append("graded_spikes_factor != 1: NIR spikes are 0/1; set graded_spikes_factor=1 and scale the "
                        "next layer's weights instead")
    if not torch.all(torch.as_tensor(neuron.threshold) > 0):
        problems.append("threshold <= 0: every NIR neuron here fires above a positive threshold; use threshold > 0")
    beta = neuron.beta.detach().clamp(0, 1)
    if isinstance(neuron, snn.Leaky) and torch.any(beta == 1) and not torch.all(beta == 1):
        problems.append("beta = 1 for some neurons and < 1 for others: one NIR node is either IF or LIF; use one kind")
    if not isinstance(neuron, snn.Leaky) and torch.any(beta == 1):
        problems.append(f"beta = 1 in {name}: NIR has no current-based or recurrent IF node here; use beta < 1")
    if isinstance(neuron, snn.Synaptic) and torch.any(neuron.alpha.detach().clamp(0, 1) == 1):
        problems.append("alpha = 1 (a current that never decays) has no CubaLIF form (tau_syn infinite); use alpha < 1")
    return problems


def lif(beta: np.ndarray, threshold: np.ndarray, dt: float) -> nir.NIRNode:
    """``m ← β·m + x`` with reset to 0 above ``threshold`` as NIR ``LIF`` (or ``IF`` where β = 1)."""
    zeros = np.zeros_like(threshold)
    if np.all(beta == 1.0):
        return nir.IF(r=np.ones_like(threshold), v_threshold=threshold, v_reset=zeros)
    leak = 1.0 - beta  # = dt/τ
    return nir.LIF(tau=dt / leak, r=1.0 / leak, v_leak=zeros, v_threshold=threshold, v_reset=zeros)


def _leaky(neuron: nn.Module, shape: Shape, dt: float) -> nir.NIRNode:
    return lif(_clamped(neuron.beta, shape), _full(neuron.threshold, shape), dt)


def _synaptic(neuron: nn.Module, shape: Shape, dt: float) -> nir.NIRNode:
    alpha, beta = _clamped(neuron.alpha, shape), _clamped(neuron.beta, shape)
    threshold = _full(neuron.threshold, shape)
    zeros = np.zeros_like(threshold)
    return nir.CubaLIF(tau_syn=dt / (1.0 - alpha), tau_mem=dt / (1.0 - beta), r=1.0 / (1.0 - beta), v_leak=zeros,
                       v_threshold=threshold, v_reset=zeros, w_in=1.0 / (1.0 - alpha))


def recurrent_bias(neuron: nn.Module, shape: Shape) -> np.ndarray | None:
    """The bias that RLeaky's recurrent layer adds to ``m`` at every step (``[*shape]``), or None."""
    rec = neuron.recurrent
    bias = getattr(rec, "bias", None) if isinstance(rec, (nn.Linear, nn.Conv2d)) else None
    if bias is None:
        return None
    per_out = bias.detach().double().numpy()
    return np.array(np.broadcast_to(per_out.reshape(-1, *([1] * (len(shape) - 1))), shape))


def _recurrent_weights(neuron: nn.Module, shape: Shape) -> nir.NIRNode:
    rec = neuron.recurrent
    if isinstance(rec, nn.Linear):
        return nir.Linear(weight=rec.weight.detach().cpu().numpy().copy())
    if isinstance(rec, nn.Conv2d):
        weight = rec.weight.detach().cpu().numpy().copy()
        padding = tuple(int(p) for p in rec.padding)
        return nir.Conv2d(input_shape=shape[1:], weight=weight, stride=tuple(rec.stride), padding=padding,
                          dilation=tuple(rec.dilation), groups=rec.groups, bias=np.zeros(weight.shape[0], weight.dtype))
    return nir.Scale(scale=_full(torch.as_tensor(rec.V), shape).astype(np.float32))  # one-to-one: x·V


def _rleaky(neuron: nn.Module, shape: Shape, dt: float) -> nir.NIRNode:
    dims = np.array(shape)
    return nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": dims}), "lif": _leaky(neuron, shape, dt),
               "w_rec": _recurrent_weights(neuron, shape), "output": nir.Output(output_type={"output": dims})},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        type_check=False)


#: snnTorch neuron type -> ``(neuron, layer shape, dt) -> NIR node`` (checked by :func:`neuron_problems` first).
NEURONS: dict[type[nn.Module], Callable[[nn.Module, Shape, float], nir.NIRNode]] = {
    snn.Leaky: _leaky,
    snn.Synaptic: _synaptic,
    snn.RLeaky: _rleaky,
}
