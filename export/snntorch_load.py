"""A user's snnTorch model from the command line: ``PKG.MODULE:FACTORY``, a state dict, an input shape.

``spikinghash export nir --snntorch PKG.MODULE:FACTORY [--weights SD.pt] --input-shape C,H,W
[--dt 1e-3] [--portable] -o model.nir`` is :func:`snntorch_graph` followed by the consumer probe
and :func:`~spikinghash.export.nir_export.write_graph`. The factory is called without arguments
and returns the ``nn.Module``; the weights file is a state dict read with
``torch.load(weights_only=True)`` (no pickled code runs).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import nir
import torch
from torch import nn

from spikinghash.errors import ConfigError, DataError
from spikinghash.export.snntorch_nir import DEFAULT_DT, snntorch_to_nir


def load_factory(spec: str) -> nn.Module:
    """Import ``pkg.module`` and call its ``factory()`` from ``"pkg.module:factory"``.

    The current directory is importable during the call (as with ``python -m``), so a model
    defined next to where the command runs is found.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"--snntorch {spec!r}: give PKG.MODULE:FACTORY, e.g. mynets.dvs:build_net")
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"--snntorch {spec!r}: cannot import {module_name!r} ({err}); run from the folder that "
                          "holds it or install it") from None
    finally:
        if added:
            sys.path.remove(os.getcwd())
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"--snntorch {spec!r}: {module_name} has no callable {attr!r}")
    net = factory()
    if not isinstance(net, nn.Module):
        raise ConfigError(f"--snntorch {spec!r}: {attr}() returned a {type(net).__name__}, not a torch.nn.Module")
    return net


def load_weights(module: nn.Module, path: str | os.PathLike) -> None:
    """Load a state dict file into ``module`` (strict: every key must match)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"weights file {str(path)!r} not found; save it with torch.save(model.state_dict(), PATH)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, ... for foreign files
        raise DataError(f"weights file {str(path)!r} is not a plain state dict ({type(err).__name__}: "
                        f"{' '.join(str(err).split())[:160]}); save model.state_dict() with torch.save") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise DataError(f"weights file {str(path)!r} holds a {type(state).__name__}, not a state dict")
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ConfigError(f"weights file {str(path)!r} does not fit the factory's model: missing "
                          f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}; build the model the "
                          "weights were trained with")


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"2,34,34"`` -> ``(2, 34, 34)`` (one step's input, no batch or time axis)."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or any(s < 1 for s in shape):
        raise ConfigError(f"--input-shape {text!r}: give positive integers separated by commas, e.g. 2,34,34")
    return shape


def snntorch_graph(spec: str, input_shape: tuple[int, ...], *, weights: str | os.PathLike | None = None,
                   dt: float = DEFAULT_DT) -> nir.NIRGraph:
    """The NIR graph of the factory's model (with ``weights``), traced on one zero frame of ``input_shape``;
    (``--portable`` rewrites it afterwards: ``hw_sim.frontend.portable``)."""
    net = load_factory(spec)
    if weights is not None:
        load_weights(net, weights)
    dtype = next((p.dtype for p in net.parameters()), torch.float32)
    graph = snntorch_to_nir(net, torch.zeros(1, *input_shape, dtype=dtype), dt=dt)
    graph.metadata["snntorch"]["factory"] = spec
    return graph
