"""spikinghash: spiking neural networks for deep hashing, from training to a neuromorphic target.

Pipeline (one direction only)::

    data -> models -> train -> retrieval                (float world)
                 \\-> export (NIR, ONNX) -> hw_sim -> energy -> reports
"""

__version__ = "0.1.0"
