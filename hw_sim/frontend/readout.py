"""What a simulated network's output layer means: hash codes (paper Eq. 18), class predictions, or rates only.

:func:`choose_readout` decides from the graph (and the dataset's class count):

- ``"hash"``: our own graphs (``metadata["spikinghash"]``): codes by AND over time (Eq. 18);
- ``"classify"``: the output layer has one neuron per class; the prediction is the neuron with the
  most spikes over the T steps, or, for a non-spiking readout (LI, I, CubaLI), the largest final
  membrane potential (integer runs: v in integer units, one positive scale per layer, so the
  argmax is that of the float potential up to quantization);
- ``"rates"``: anything else (per-layer firing rates only).

A driver calls, per run: ``predictions(net, run.spikes[net.output], membrane)`` with ``membrane`` =
``FloatRun.h_hash`` or ``IntRun.v_hash`` / ``LavaResult.v_hash`` (``[T, B, L]``), then
:func:`accuracy` against the labels: ``accuracy_float``, ``accuracy_integer``, ``accuracy_lava``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

def hash_codes(spikes: np.ndarray) -> np.ndarray:
    """Eq. 18: AND over time steps, hash-layer spikes ``[T, B, L]`` -> codes ``[B, L]`` uint8 in {0, 1}.

    The same rule as ``models.hash_heads.and_over_time`` (hw_sim may not import models).
    """
    return np.all(np.asarray(spikes) != 0, axis=0).astype(np.uint8)


def choose_readout(net: Any, n_classes: int | None = None) -> str:
    """"hash", "classify" or "rates" for a ``graph.CanonicalNet`` (module docstring); ``n_classes``: the
    dataset's number of classes (None: unknown, never "classify")."""
    if "spikinghash" in (net.metadata or {}):
        return "hash"
    out = net.neurons[net.output]
    if n_classes is not None and n_classes > 1 and len(out.shape) == 1 and out.shape[0] == n_classes:
        return "classify"
    return "rates"


def predictions(net: Any, spikes: np.ndarray, membrane: np.ndarray) -> np.ndarray:
    """Class per sample ``[B]`` int64 from the output layer's ``spikes [T, B, L]`` and ``membrane [T, B, L]``:
    the most spikes (ties: the lowest index), or for a non-spiking readout the largest final membrane."""
    if not net.neurons[net.output].spiking:
        return np.argmax(np.asarray(membrane)[-1], axis=-1).astype(np.int64)
    return np.argmax(np.asarray(spikes, dtype=np.int64).sum(axis=0), axis=-1).astype(np.int64)


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose prediction equals the label (labels ``[B]`` or the first B of them)."""
    predicted = np.asarray(predicted)
    labels = np.asarray(labels)[:predicted.shape[0]]
    return float(np.mean(predicted == labels)) if predicted.size else float("nan")
