"""Energy per sample of exported spiking networks (paper Section IV-A, Eqs. 25-26), three energy models,
fair ANN counterparts, the band and break-even firing rates.

Input: an exported graph (NIR for the neuromorphic profile, ONNX for any model) plus measured
spikes, never training code. ``targets`` (the table of per-operation, memory and chip figures with
sources), ``equations`` (Eqs. 25-26), ``layer_cost`` (Eq. 26 per layer, the first-layer rule, totals),
``nir_count`` (spike-count files), ``onnx_graph`` + ``onnx_count`` (the ONNX counter), ``input_profile`` (what
the input carries), ``activity`` (counted events of a NIR graph), ``costs`` (per-layer, per-cause
records), ``models`` (Eq. 26, 45 nm with memory, Loihi-class), ``counterparts`` (fp32 / int8 / low-bit
ANNs), ``break_even`` (band, break-even rates), ``verdict`` (:func:`energy_markdown` for ``report.md``),
``summary`` (energy.json's views and top-level numbers), ``plot`` / ``plot_models`` (figures); the stage
itself is ``pipeline.energy``.
Conventions: ``docs/energy.md``.
"""

from spikinghash.energy.verdict import energy_markdown

__all__ = ["energy_markdown"]
