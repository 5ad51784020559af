"""Imports run one way only: every module's imports (nested ones included) against the layer order.

The order, written down once here and drawn in the README's "Layout" section::

    data -> models -> train                      retrieval
                \\-> export -> hw_sim -> energy -> report
    pipeline (run folders, stage drivers) -> cli

A domain package imports only the packages below it; only ``pipeline`` knows run folders and
may import every domain package; ``cli`` imports ``pipeline`` (and ``data`` for ``data list``).
The top-level modules (``errors``, ``atomic_io``, ``plotting``) are shared by all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "spikinghash"
#: package -> the packages it may import (besides itself and the shared top-level modules).
ALLOWED: dict[str, set[str]] = {
    "data": set(),
    "models": set(),
    "retrieval": set(),
    "train": {"data", "models", "retrieval"},
    "export": {"models"},
    "hw_sim": {"export"},
    "energy": {"hw_sim", "export"},
    "report": {"retrieval", "export", "hw_sim", "energy"},
    "pipeline": {"data", "models", "retrieval", "train", "export", "hw_sim", "energy", "report"},
    "cli": {"pipeline", "data"},
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """``(line, package)`` for every ``spikinghash.<package>`` a module imports, anywhere in its body."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == PACKAGE else [])
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == PACKAGE and parts[1] in ALLOWED:
                found.append((node.lineno, parts[1]))
    return found


def violations(root: Path) -> list[str]:
    """Every import against :data:`ALLOWED` in the packages under ``root``, as ``file:line  a -> b``."""
    bad = []
    for pkg, ok in ALLOWED.items():
        for path in sorted((root / pkg).rglob("*.py")):
            for line, target in imported_packages(path.read_text()):
                if target != pkg and target not in ok:
                    bad.append(f"{path.relative_to(root)}:{line}  {pkg} -> {target}")
    return bad


def test_no_import_runs_against_the_layer_order() -> None:
    assert violations(ROOT) == []


def test_relative_imports_are_not_used_to_hide_a_dependency() -> None:
    relative = [f"{p.relative_to(ROOT)}:{n.lineno}" for pkg in ALLOWED for p in (ROOT / pkg).rglob("*.py")
                for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ImportFrom) and n.level > 0]
    assert relative == []


@pytest.mark.parametrize("line, caught", [
    ("from spikinghash.train.trainer import train", True),  # at module level
    ("def f():\n    from spikinghash.pipeline.run_dir import load_run\n", True),  # nested in a function
    ("import spikinghash.retrieval.codes", True),
    ("from spikinghash import train", True),
    ("from spikinghash.export.nir_export import DEFAULT_DT", False),  # hw_sim may import export
    ("from spikinghash.errors import ConfigError", False),  # shared
])
def test_a_backward_import_is_caught(tmp_path: Path, line: str, caught: bool) -> None:
    (tmp_path / "hw_sim").mkdir()
    (tmp_path / "hw_sim" / "bad.py").write_text(line + "\n")
    assert bool(violations(tmp_path)) is caught
