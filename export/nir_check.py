"""Which operations of a model a Loihi-class target (and NIR) cannot express, and where.

A Loihi-class chip has static synapses (one weight per synapse, the same at every step) and
spiking neurons; NIR 1.0.8 has no attention, max-pool, batch-norm node, upsampling,
normalisation or product of two signals. :func:`find_offending` names every module of a model
that needs one of those, with its module path; :func:`check_nir_exportable` turns the list
into one :class:`~spikinghash.errors.ConfigError`.

A batch norm directly after a convolution or linear layer is not an offence: the exporter
folds it into that layer's weights and bias (deployment contract).

For exported graphs: :func:`type_check` runs NIR's own type inference and check (the canonical
form itself is checked where graphs are read, by ``hw_sim.frontend.graph.parse``). NIR 1.0.8 takes a ``Conv2d``'s
input channels to be ``weight.shape[1]``, which is ``in/groups``: every grouped convolution
fails its check, and so does ``nir.read(path)`` with its default ``type_check=True``. Read our
files with ``nir.read(path, type_check=False)`` and then call :func:`type_check`, which
corrects the input type of grouped convolutions before running NIR's checker.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import nir
import numpy as np
from torch import nn

from spikinghash.errors import ConfigError
from spikinghash.models.hash_heads import SignHashHead
from spikinghash.models.neuromorphic import NeuromorphicHashNet
from spikinghash.models.factory import list_models
from spikinghash.models.spiking_attention import SpikingSelfAttention
from spikinghash.models.transhash import Attention, TransHash
from spikinghash.models.wave_mixer import SpikingWaveMixer


class Offense(NamedTuple):
    """``path``: module path (``""`` is the model itself); ``reason``: what NIR lacks for it."""

    path: str
    reason: str


def _wave_mixer_reason(mixer: nn.Module) -> str:
    assert isinstance(mixer, SpikingWaveMixer)
    if "t" in mixer.axes:
        return ("Spiking WaveMixer: its Hadamard mixer weights change from one time step to the next, "
                "its DWT pairs step t with step t+1 and its inverse DWT upsamples")
    return "Spiking WaveMixer (2D): its inverse DWT upsamples H and W, which no NIR node does"


def _fixed(reason: str) -> Callable[[nn.Module], str]:
    return lambda module: reason


#: Module type -> why it has no NIR form (the reason may depend on the instance).
REASONS: dict[type[nn.Module], Callable[[nn.Module], str]] = {
    SpikingSelfAttention: _fixed("spiking self-attention: multiplies two spike tensors (Q·Kᵀ·V, Eq. 14)"),
    SpikingWaveMixer: _wave_mixer_reason,
    nn.MaxPool1d: _fixed("max-pool: no NIR node"),
    nn.MaxPool2d: _fixed("max-pool: no NIR node"),
    nn.MaxPool3d: _fixed("max-pool: no NIR node"),
    SignHashHead: _fixed("sgn(tanh) hash head (Eq. 17): tanh and sign of a time-averaged value, no NIR node"),
    Attention: _fixed("softmax self-attention: multiplies two activation tensors and normalises by a softmax"),
    nn.LayerNorm: _fixed("layer norm: divides by a data-dependent norm, no NIR node"),
    nn.GELU: _fixed("GELU: a non-spiking activation, no NIR node"),
    TransHash: _fixed("TransHash: folds all T frames into one image's channels (no per-step form), "
                      "adds a class token and position embedding, and codes by tanh/sign"),
}

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_FOLDS_BATCH_NORM = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def find_offending(model: nn.Module) -> list[Offense]:
    """Every module of ``model`` with no NIR form, in ``named_modules`` order."""
    found = []
    for path, module in model.named_modules():
        reason = REASONS.get(type(module))
        if reason is not None:
            found.append(Offense(path, reason(module)))
        previous: nn.Module | None = None
        for name, child in module.named_children():
            if isinstance(child, _BATCH_NORMS) and not isinstance(previous, _FOLDS_BATCH_NORM):
                found.append(Offense(f"{path}.{name}" if path else name,
                                     "batch norm not directly after a convolution or linear layer: "
                                     "nothing to fold it into, and NIR has no batch-norm node"))
            previous = child
    return found


def _profiles() -> str:
    return ", ".join(name for name in list_models() if name.endswith("_nir"))


def check_nir_exportable(model: nn.Module, name: str) -> None:
    """Raise :class:`ConfigError` unless ``model`` (called ``name`` in the message) can be exported.

    The message lists every offending operation as ``path (reason)``.
    """
    offenses = find_offending(model)
    if offenses:
        listed = ", ".join(f"{o.path or '(model)'} ({o.reason})" for o in offenses)
        raise ConfigError(
            f"{name} cannot be exported to NIR: {listed}; train a neuromorphic profile instead "
            f"({_profiles()})"
        )
    if not isinstance(model, NeuromorphicHashNet):
        raise ConfigError(
            f"{name} ({type(model).__name__}) has no NIR exporter; export a neuromorphic profile "
            f"({_profiles()})"
        )


def type_check(graph: nir.NIRGraph) -> None:
    """NIR's ``infer_types`` and ``check_types`` on ``graph``, grouped ``Conv2d`` input types corrected.

    Raises:
        ValueError: from NIR, for any edge whose shapes disagree.
    """
    for node in graph.nodes.values():
        if isinstance(node, nir.Conv2d) and node.groups != 1 and node.input_shape is not None:
            channels = node.weight.shape[1] * int(node.groups)
            node.input_type = {"input": np.array([channels, *np.atleast_1d(node.input_shape)])}
    graph.infer_types()
    graph.check_types()
