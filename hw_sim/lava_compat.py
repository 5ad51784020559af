"""Make lava-nc 0.10 importable on Python 3.11 next to other libraries, without touching site-packages.

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
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import CodeType

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


class _AmendedSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads a module of :data:`FIXES` from source with its line amended."""

    def get_code(self, fullname: str) -> CodeType:
        old, new = FIXES[fullname]
        source = self.get_data(self.path).decode("utf-8")
        return compile(source.replace(old, new, 1), self.path, "exec", dont_inherit=True)


class _LavaFixFinder(importlib.abc.MetaPathFinder):
    """Finds a module of :data:`FIXES` through the normal path machinery, then swaps in the amending loader."""

    def find_spec(self, fullname, path, target=None):  # type: ignore[no-untyped-def]
        if fullname not in FIXES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _AmendedSourceLoader(fullname, spec.origin)
        return spec


def install() -> None:
    """Install the finder once (idempotent). Must run before Lava's compiler and runtime are imported."""
    if not any(isinstance(f, _LavaFixFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LavaFixFinder())
