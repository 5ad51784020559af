"""spikinghash: spiking neural networks for deep hashing, from training to a neuromorphic target.

Layers (imports run one way only; ``tests/test_layering.py`` keeps it so)::

    data -> models -> train                      retrieval (codes, index, metrics)
                \\-> export (NIR, ONNX) -> hw_sim (integer, Lava + fast) -> energy -> report
    pipeline  (run folders, artifact names, stage drivers)
    cli       (parses arguments, calls pipeline, prints)

The one Python call: ``spikinghash.deploy(source, data, labels)`` (``pipeline.api``), imported on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["deploy", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "deploy":
        from spikinghash.pipeline.api import deploy

        return deploy
    raise AttributeError(f"module 'spikinghash' has no attribute {name!r}")
