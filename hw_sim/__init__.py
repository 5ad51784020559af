"""The deployment core: any spiking network on a Loihi-like integer target, shaped like a compiler.

Input: a NIR graph (any standard one, never a torch module) and frames ``[T, B, *input_shape]``.
Sub-packages, in import order (each imports only those before it; ``tests/test_layering.py`` checks it):

- ``spec``: the integer target described once (every bit width, rounding, wrap and clipping rule);
- ``kinds``: every NIR node kind, one registry entry each (``kinds.KINDS``), its description
  holding its float step, fixed-point step, exact matrix, FLOPs and netx form side by side;
- ``frontend``: read a graph (``read.load``), lower it through a list of passes (``passes``), parse the
  canonical form (``graph``), the float reference (``float_sim``) and the readouts (``readout``); the
  ``--portable`` rewrite and the consumer probe of exported graphs;
- ``target``: the one quantizer (``quantize``: calibration; ``rules``: plain Loihi, netx's format, the QAT
  grid's power-of-two scales, each a parameter of it), the integer network (``int_net``), the QAT grid
  (``qat_grid``);
- ``backends``: fast, lava and netx, one registry entry each with one signature (``backends.run``:
  an integer network and frames in, a :class:`~.backends.result.BackendResult` out); Lava's import hook
  is installed only when a Lava backend is imported;
- ``verify``: float against integer (``float_vs_integer``), backend against backend (``compare``,
  ``backends``), and the per-layer figure.

``nir_examples`` (the field's reference graphs) and ``threads`` stand apart.
"""
