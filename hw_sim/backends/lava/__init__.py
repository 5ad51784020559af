"""The ``lava`` backend: the integer network built from lava-nc's own processes and run on
``Loihi2SimCfg(select_tag="fixed_pt")`` (``build``, ``run``), its runtime always stopped (``runtime``).

Importing this package makes lava-nc 0.10 (and lava-dl's netx) importable on Python 3.11 (``compat``): the
import hook is installed here, and only here, so the rest of hw_sim (and ``energy``) never touches Lava.
"""

from spikinghash.hw_sim.backends.lava import compat as _compat

_compat.install()
