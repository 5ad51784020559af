"""spikinghash: spiking neural networks for deep hashing, from training to a neuromorphic target.

Layers (imports run one way only; ``tests/test_layering.py`` keeps it so)::

    data -> models -> train                      retrieval (codes, index, metrics)
                \\-> export (NIR, ONNX) -> hw_sim (integer, Lava + fast) -> energy -> report
    pipeline  (run folders, artifact names, stage drivers)
    cli       (parses arguments, calls pipeline, prints)
"""

__version__ = "0.1.0"
