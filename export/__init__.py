"""spikinghash.export: NIR and ONNX export of our models, and a user's snnTorch network as NIR.

``spikinghash.export.snntorch_to_nir`` is :func:`spikinghash.export.snntorch_nir.snntorch_to_nir`,
imported on first use (so that importing a submodule does not import snnTorch).
"""

from __future__ import annotations

from typing import Any

__all__ = ["snntorch_to_nir"]


def __getattr__(name: str) -> Any:
    if name == "snntorch_to_nir":
        from spikinghash.export.snntorch_nir import snntorch_to_nir

        return snntorch_to_nir
    raise AttributeError(f"module 'spikinghash.export' has no attribute {name!r}")
