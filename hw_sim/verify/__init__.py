"""Verification: float against integer over whole splits (``float_vs_integer``), backend against backend spike
for spike (``compare``, ``backends``), and the per-layer figure (``plots``)."""
