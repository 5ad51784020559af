"""Reports: the headline numbers reduced from a run's result files (``sources``), per-layer tables
(``layers``), figures (``figures``) and report.md (``markdown``). ``pipeline.report`` reads the run
folder and writes them."""
