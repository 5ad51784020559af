"""Backends: interchangeable executors of one integer network, each one registry entry with one signature.

``run(name, int_net, frames, **options) -> BackendResult``: an integer network (``target.int_net.IntNet``)
and frames ``[T, B, *input_shape]`` in; spikes, codes, the output layer's v, final states and counters out
(``result.BackendResult``). Comparing any two backends is one function (``verify.compare.bit_exactness``).

=========  ================================================================  ======================  ========
name       what runs the network                                             quantizer rules         batched
=========  ================================================================  ======================  ========
``fast``   the bit-exact batched simulator (``fast``: torch + a numba LIF)   ``loihi``               yes
``lava``   lava-nc's own processes on ``Loihi2SimCfg("fixed_pt")`` (``lava``)  ``loihi``               no
``netx``   lava-dl's ``netx.hdf5.Network`` loader on Lava (``netx``)          ``netx`` (its format)   no
=========  ================================================================  ======================  ========

Each entry names the module that holds its runner, imported on first use: the Lava backends install Lava's
import hook when they are imported (``backends.lava``), so the registry itself touches no Lava module.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.result import BackendResult


@dataclass(frozen=True)
class Backend:
    """One backend: its runner (``module:function``), the quantizer rules its network follows, a description."""

    name: str
    runner: str
    rules: str
    batched: bool
    description: str

    def load(self) -> Callable[..., BackendResult]:
        """The runner, ``(int_net, frames, **options) -> BackendResult`` (its module imported now)."""
        module, _, function = self.runner.partition(":")
        return getattr(importlib.import_module(module), function)


_HERE = "spikinghash.hw_sim.backends"
BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("fast", f"{_HERE}.fast:simulate_int", "loihi", True,
            "the fast simulator: batched, bit-exact with Lava (torch convolutions and a compiled LIF loop)"),
    Backend("lava", f"{_HERE}.lava.run:run_lava", "loihi", False,
            "our Lava build: lava-nc processes on Loihi2SimCfg(select_tag='fixed_pt')"),
    Backend("netx", f"{_HERE}.netx.network:simulate_netx", "netx", False,
            "lava-dl's netx: the network written as netx HDF5 and loaded by netx.hdf5.Network on fixed_pt"),
)}


def backend(name: str) -> Backend:
    """The registry entry ``name``; ConfigError naming the choices otherwise."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[name]


def run(name: str, int_net: Any, frames: Any, **options: Any) -> BackendResult:
    """Run ``frames [T, B, *input_shape]`` through ``int_net`` on backend ``name`` (``options``: the runner's own,
    e.g. ``samples``, ``batch_size``, ``threads``, ``reset``)."""
    return backend(name).load()(int_net, frames, **options)
