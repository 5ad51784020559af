"""Energy per sample of exported spiking networks (paper Section IV-A, Eqs. 25-26), four energy models,
fair ANN counterparts, the band and break-even firing rates.

Input: an exported graph (NIR for the neuromorphic profile, ONNX for any model) plus measured
spikes, never training code. ``targets`` (the table of per-operation, memory and chip figures with
sources), ``equations`` (Eqs. 25-26), ``layers`` (per-layer records and totals), ``nir_count`` /
``onnx_graph`` + ``onnx_count`` (the two counters), ``inputs`` (what the input carries),
``activity`` (counted events of a NIR graph), ``costs`` (per-layer, per-cause records), ``models``
(Eq. 26 two ways, 45 nm with memory, Loihi-class), ``counterparts`` (fp32 / int8 / low-bit ANNs),
``compare`` (band, break-even rates), ``markdown`` (:func:`energy_markdown` for ``report.md``),
``summary`` (energy.json's views of one counted graph), ``plot`` / ``plot_models`` (figures); the stage
itself is ``pipeline.energy``.
Conventions: ``docs/energy.md``.
"""

from spikinghash.energy.markdown import energy_markdown

__all__ = ["energy_markdown"]
