"""The pipeline layer: run folders, their artifacts, one deployment type, and the stage drivers.

This is the only package that knows what a run folder is. The domain packages (``data``,
``models``, ``train``, ``retrieval``, ``export``, ``hw_sim``, ``energy``, ``report``) take
arrays, graphs, frames and spike counts and return results; the CLI calls these drivers.

- ``run_dir``: every artifact's file name, defined once, and the loaded run;
- ``networks``: where a network comes from (a run folder, a NIR file, a graph, a module), one entry each;
- ``deployment``: the one deployment type (network, data, readout, T, dt, fingerprint, folder) and
  ``graph.json``; ``commands``: what a command line names, as a deployment;
- drivers: ``train``, ``evaluate``, ``export``, ``simulate``, ``qat``, ``energy``, ``report``, ``demo``;
- ``api``: ``spikinghash.deploy``, the one Python call.
"""
