"""The integer target's compiler: calibration and the one quantizer (``quantize``), the integer network every
backend runs (``int_net``), and the fixed grid of quantization-aware fine-tuning (``qat_grid``)."""
