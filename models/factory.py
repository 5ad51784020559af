"""Model registry: one decorated builder per variant, one factory for all.

Every registered builder accepts at least ``in_channels``, ``img_size``, ``T``,
``bits`` and ``num_classes`` as keyword arguments, returns an ``nn.Module``
whose ``forward(x)`` takes ``x: [T, B, C, H, W]`` and returns a
:class:`~spikinghash.models.outputs.HashOutput`.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable

from torch import nn

from spikinghash.errors import ConfigError

Builder = Callable[..., nn.Module]
_BUILDERS: dict[str, Builder] = {}


class UnknownModelError(ConfigError):
    """Raised for a model name that is not registered."""


def register_model(fn: Builder) -> Builder:
    """Register ``fn`` under its ``__name__`` (a decorator)."""
    name = fn.__name__
    if name in _BUILDERS:
        raise ValueError(f"model {name!r} is registered twice")
    _BUILDERS[name] = fn
    return fn


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    _import_builders()
    return sorted(_BUILDERS)


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the registered model ``name`` with keyword ``overrides``.

    Raises:
        UnknownModelError: ``name`` is not registered (the message lists close names).
    """
    _import_builders()
    if name not in _BUILDERS:
        close = difflib.get_close_matches(name, _BUILDERS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}{hint} (see `spikinghash.models.list_models()`)"
        )
    return _BUILDERS[name](**overrides)


#: The modules whose import registers builders.
BUILDER_MODULES = ("transhash", "spikinghash", "spikingformer", "neuromorphic")


def _import_builders() -> None:
    """Import the modules whose import registers builders (idempotent): TransHash, Spikinghash Ti–XL and its
    ablations, the Spikingformer baseline, the NIR-exportable profiles ``*_nir``."""
    for module in BUILDER_MODULES:
        importlib.import_module(f"spikinghash.models.{module}")
