"""The integer target's compiler: calibration and the one quantizer (``quantize``) whose rules are a parameter
(``rules``: plain Loihi, netx's file format, the QAT grid's power-of-two scales), the integer network every
backend runs (``int_net``), and the fixed grid of quantization-aware fine-tuning (``qat_grid``)."""
