"""Make lava-nc 0.10 and lava-dl 0.6's netx importable on Python 3.11, without touching site-packages.

Two source lines of Lava need amending:

1. ``lava.magma.compiler.var_model`` uses instances of the plain dataclass
   ``ByteEncoder`` as field defaults of other dataclasses. Python 3.11 rejects
   unhashable defaults (``ValueError: mutable default ... use default_factory``).
   Marking ``ByteEncoder`` ``unsafe_hash=True`` makes it hashable and changes nothing
   else Lava relies on.
2. ``lava.magma.runtime.message_infrastructure.multiprocessing`` calls
   ``multiprocessing.set_start_method('fork')`` at import time. That raises
   ``RuntimeError: context has already been set`` as soon as anything in the process
   used multiprocessing's default context before (tqdm's write lock does). Lava needs
   "fork" (the Linux default anyway), so the call is made with ``force=True``.

:func:`install` puts a finder at the front of ``sys.meta_path`` that loads these
modules from their source with the lines amended. The loader compiles the source
itself (``get_code``), so bytecode that pip cached at install time for the unfixed
source is never used. A module in which the line is no longer found (a future Lava)
loads unchanged.

One module of lava-dl is replaced by a stub (:data:`STUBS`):

3. ``lava.lib.dl.slayer/__init__`` ends with ``from . import object_detection``, which
   imports cv2 and torchvision at module level. Neither is usable on this stack (no CPU
   torchvision build exists for torch 2.13; the CUDA one fails at import), and
   ``lava.lib.dl.netx`` imports ``slayer`` only for its RF neuron parameters. The same
   finder serves an empty module for ``object_detection``; any attribute read from it
   raises an ``AttributeError`` that says why. Nothing else of lava-dl is changed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import CodeType, ModuleType
from typing import Any

FIXES: dict[str, tuple[str, str]] = {
    "lava.magma.compiler.var_model": (
        "@dataclass\nclass ByteEncoder:",
        "@dataclass(unsafe_hash=True)\nclass ByteEncoder:",
    ),
    "lava.magma.runtime.message_infrastructure.multiprocessing": (
        "mp.set_start_method('fork')",
        "mp.set_start_method('fork', force=True)",
    ),
}


STUBS: dict[str, str] = {
    "lava.lib.dl.slayer.object_detection": (
        "lava-dl's object detection (YOLO) needs cv2 and torchvision, which spikinghash's stack does not "
        "provide; spikinghash replaced the module by a stub so that lava.lib.dl.netx imports "
        "(hw_sim/backends/lava/compat.py)"),
}


class _StubLoader(importlib.abc.Loader):
    """Creates an empty module of :data:`STUBS` whose every attribute read names why it is empty."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        reason = STUBS[module.__name__]
        module.__doc__ = f"Stub: {reason}."

        def __getattr__(name: str) -> Any:  # noqa: N807 - module-level __getattr__ (PEP 562)
            raise AttributeError(f"{module.__name__}.{name} is unavailable: {reason}")

        module.__getattr__ = __getattr__  # type: ignore[method-assign]


class _AmendedSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads a module of :data:`FIXES` from source with its line amended."""

    def get_code(self, fullname: str) -> CodeType:
        old, new = FIXES[fullname]
        source = self.get_data(self.path).decode("utf-8")
        return compile(source.replace(old, new, 1), self.path, "exec", dont_inherit=True)


class _LavaFixFinder(importlib.abc.MetaPathFinder):
    """Serves the stubs of :data:`STUBS`; finds a module of :data:`FIXES` through the normal path machinery,
    then swaps in the amending loader."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname in STUBS:
            return importlib.machinery.ModuleSpec(fullname, _StubLoader(), origin="spikinghash-stub")
        if fullname not in FIXES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _AmendedSourceLoader(fullname, spec.origin)
        return spec


def install() -> None:
    """Install the finder once (idempotent). Must run before Lava's compiler and runtime (and lava-dl) are
    imported."""
    if not any(isinstance(f, _LavaFixFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LavaFixFinder())
