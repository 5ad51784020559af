"""Reports: a run's retrieval, hardware-simulation and energy results gathered into report.json,
report.md and figures (``spikinghash report``), and the end-to-end demo (``spikinghash demo``)."""
