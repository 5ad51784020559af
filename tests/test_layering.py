"""Imports run one way only: every module's imports (nested ones included) against the layer order.

The order, written down once here and drawn in the README's "Layout" section::

    data -> models -> train                      retrieval
                \\-> export -> hw_sim -> energy -> report
    pipeline (run folders, stage drivers) -> cli

A domain package imports only the packages below it; only ``pipeline`` knows run folders and
may import every domain package; ``cli`` imports ``pipeline`` (and ``data`` for ``data list``).
The top-level modules (``errors``, ``atomic_io``, ``plotting``) are shared by all.

Inside ``hw_sim`` the deployment core is ordered the same way (``HW_SIM_ORDER``)::

    spec -> kinds -> frontend -> target -> backends -> verify

a sub-layer imports only those before it (``spec``, ``threads`` and ``nir_examples`` are the base).
"""

from __future__ import annotations

import ast
import subprocess
import sys
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


#: hw_sim's sub-layers in import order; a module imports only its own sub-layer and those before it.
HW_SIM_ORDER = ("spec", "kinds", "frontend", "target", "backends", "verify")
HW_SIM_BASE = {"spec", "threads", "nir_examples"}


def _hw_sim_level(parts: list[str]) -> int | None:
    """The sub-layer index of ``hw_sim.<parts...>`` (the base modules are level 0), None for the package itself."""
    if not parts:
        return None
    head = parts[0]
    return 0 if head in HW_SIM_BASE else HW_SIM_ORDER.index(head) if head in HW_SIM_ORDER else None


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


def hw_sim_violations(root: Path) -> list[str]:
    """Every import inside ``hw_sim`` against :data:`HW_SIM_ORDER`, as ``file:line  a -> b``."""
    bad = []
    for path in sorted((root / "hw_sim").rglob("*.py")):
        own = _hw_sim_level(list(path.relative_to(root / "hw_sim").with_suffix("").parts))
        if own is None:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for target in {name.split(".")[2] for name in names if name.startswith(f"{PACKAGE}.hw_sim.")}:
                level = _hw_sim_level([target])
                if level is not None and level > own:
                    bad.append(f"{path.relative_to(root)}:{node.lineno}  {path.parent.name} -> {target}")
    return bad


def test_no_import_runs_against_the_layer_order() -> None:
    assert violations(ROOT) == []


def test_hw_sim_sub_layers_import_in_order() -> None:
    assert hw_sim_violations(ROOT) == []


def test_a_backward_hw_sim_import_is_caught(tmp_path: Path) -> None:
    (tmp_path / "hw_sim" / "frontend").mkdir(parents=True)
    (tmp_path / "hw_sim" / "frontend" / "bad.py").write_text("from spikinghash.hw_sim.target.quantize import quantize\n")
    (tmp_path / "hw_sim" / "frontend" / "good.py").write_text("from spikinghash.hw_sim.kinds import KINDS\n")
    assert hw_sim_violations(tmp_path) == ["hw_sim/frontend/bad.py:1  frontend -> target"]


def test_energy_and_the_front_end_need_no_lava() -> None:
    """Lava's import hook is installed by the Lava backends alone: energy, the front end, the target, the fast
    backend and the pipeline's drivers import no Lava module and leave ``sys.meta_path`` alone."""
    code = ("import sys; import spikinghash.energy, spikinghash.hw_sim.frontend.read, spikinghash.hw_sim.target.quantize, "
            "spikinghash.hw_sim.backends.fast; "
            "assert not [m for m in sys.modules if m.startswith('lava')], 'lava imported'; "
            "assert not [f for f in sys.meta_path if 'Lava' in type(f).__name__], 'hook installed'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-1500:]


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
