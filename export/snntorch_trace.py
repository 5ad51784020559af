"""Trace one step of an snnTorch network: which layer reads which, found by calling it once.

A *unit* is a module converted as a whole: an snnTorch neuron (``snn.SpikingNeuron``, whose
``recurrent`` child belongs to it) or a module without children (``nn.Conv2d``, ...).
Containers (``nn.Sequential`` or a user's module) are looked through. :func:`trace` hooks every
unit, calls the network once on ``sample`` and follows tensors by identity: each unit must
read, as its one positional argument, the network input or the output of a unit called
before it. That is exactly the data flow of one time step when every layer runs once per step
and holds its own state (``init_hidden=True``). Anything the hooks cannot see (a tensor
operation in ``forward``, a state passed in by hand, a loop over time) leaves a unit whose
input has no known producer, a unit called twice, or an output no unit made; each such unit
is listed with its module path and the trace is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import snntorch as snn
import torch
from torch import Tensor, nn

from spikinghash.errors import ConfigError

#: The name of the network input as a producer.
INPUT = "input"


@dataclass(frozen=True)
class Call:
    """One unit's call in the traced step.

    ``path``: module path; ``source``: the producer of its input (a unit path or :data:`INPUT`);
    ``in_shape`` / ``out_shape``: one sample's shapes (no batch axis).
    """

    path: str
    module: nn.Module
    source: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class Trace:
    """The units in call order and the unit whose output the network returns (``output``)."""

    calls: list[Call]
    output: str


def units(module: nn.Module) -> dict[str, nn.Module]:
    """Module path -> unit, in ``named_modules`` order (snnTorch neurons' children excluded)."""
    found: dict[str, nn.Module] = {}
    for path, child in module.named_modules():
        if any(path.startswith(f"{p}.") for p in found if isinstance(found[p], snn.SpikingNeuron)):
            continue
        if isinstance(child, snn.SpikingNeuron) or not list(child.children()):
            found[path or type(module).__name__] = child
    return found


def _first_tensor(value: Any) -> Tensor | None:
    """A neuron returns ``spk`` or ``(spk, ...)`` (snnTorch's flag-dependent outputs): the spikes."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], Tensor):
        return value[0]
    return None


def reset_states(module: nn.Module) -> None:
    """Zero the hidden state of every snnTorch neuron in ``module`` (as ``snntorch.utils.reset``)."""
    for child in module.modules():
        if isinstance(child, snn.SpikingNeuron) and hasattr(child, "reset_mem"):
            child.reset_mem()


def trace(module: nn.Module, sample: Tensor) -> Trace:
    """One step of ``module`` on ``sample [B, ...]`` in eval mode, as a :class:`Trace`.

    The module's mode and neuron states are restored (states zeroed) afterwards.

    Raises:
        ConfigError: one line per unit whose data flow the hooks cannot follow.
    """
    found = units(module)
    producer: dict[int, str] = {id(sample): INPUT}
    keep: list[Tensor] = [sample]  # keeps every traced tensor alive, so that ids stay unique
    calls: list[Call] = []
    counts: dict[str, int] = {path: 0 for path in found}
    problems: list[str] = []

    def hook(path: str, unit: nn.Module, args: tuple, kwargs: dict, out: Any) -> None:
        counts[path] += 1
        if counts[path] > 1:
            return
        spikes = _first_tensor(out)
        x = args[0] if args else None
        extra = len(args) > 1 or any(v is not None for v in kwargs.values())
        if not isinstance(x, Tensor) or spikes is None:
            problems.append(f"{path} ({type(unit).__name__}): takes or returns no tensor")
            return
        if extra:
            problems.append(f"{path} ({type(unit).__name__}): receives its state or other arguments from forward(), "
                            "which one traced step cannot follow; build it with init_hidden=True and call it with "
                            "its input only")
        source = producer.get(id(x))
        if source is None:
            problems.append(f"{path} ({type(unit).__name__}): its input comes from a tensor operation in forward(), "
                            "not from a layer; write that operation as a module (nn.Flatten, ...)")
            source = "?"
        producer[id(spikes)] = path
        keep.extend((x, spikes))
        calls.append(Call(path, unit, source, tuple(x.shape[1:]), tuple(spikes.shape[1:])))

    handles = [unit.register_forward_hook(lambda u, a, k, o, p=path: hook(p, u, a, k, o), with_kwargs=True)
               for path, unit in found.items()]
    was_training = module.training
    module.eval()
    reset_states(module)
    try:
        with torch.no_grad():
            result = module(sample)
    except Exception as err:  # the user's forward: any error means one step cannot be traced
        raise ConfigError(f"{type(module).__name__} cannot be called on one step's input of shape "
                          f"{list(sample.shape)} ({type(err).__name__}: {err}); give --input-shape of one frame "
                          "and a module whose forward takes one step") from None
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
        reset_states(module)
    problems += [f"{path} ({type(found[path]).__name__}): called {n} times in one step; a loop over time "
                 "inside forward() cannot be traced: call each layer once per step (init_hidden=True)"
                 for path, n in counts.items() if n > 1]
    out = _first_tensor(result)
    output = producer.get(id(out)) if out is not None else None
    if output is None:
        problems.append(f"(model output): {type(module).__name__}.forward returns a value no traced layer produced "
                        "(stacked recordings or a tensor operation); return the last layer's output")
    if problems:
        raise ConfigError(f"cannot trace the snnTorch model {type(module).__name__} ({len(problems)} problem(s)):\n  "
                          + "\n  ".join(problems))
    assert output is not None
    return Trace(calls, output)
