"""Energy per sample of exported spiking networks (paper Section IV-A, Eqs. 25-26), and a chip's view.

Input: an exported graph (NIR for the neuromorphic profile, ONNX for any model) plus measured
spikes, never training code. ``targets`` (per-operation energies and chips), ``equations``
(Eqs. 25-26), ``layers`` (per-layer records and totals), ``nir_count`` / ``onnx_graph`` +
``onnx_count`` (the two counters), ``run_energy`` (``spikinghash energy RUN_DIR``), ``plot``.
Conventions: ``docs/energy.md``.
"""
