"""The ``netx`` backend: the integer network written as lava-dl netx's HDF5 network (``write``) and run by netx's
own loader on Lava (``run``). Importing it installs Lava's import hook (through ``backends.lava``)."""

import spikinghash.hw_sim.backends.lava  # noqa: F401  (Lava's and lava-dl's import fixes)
