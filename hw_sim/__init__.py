"""Integer (Loihi-like) simulation of exported spiking networks: real Lava and a fast twin.

Importing this package makes lava-nc 0.10 usable on Python 3.11 (see ``lava_compat``).
"""

from spikinghash.hw_sim import lava_compat as _lava_compat

_lava_compat.install()
