"""The pipeline layer: run folders, their artifacts, and the stage drivers (train, evaluate, export,
simulate, qat, energy, report, demo).

This is the only package that knows what a run folder is. The domain packages (``data``,
``models``, ``train``, ``retrieval``, ``export``, ``hw_sim``, ``energy``, ``report``) take
arrays, graphs, frames and spike counts and return results; the CLI calls these drivers.
"""
