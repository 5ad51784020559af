"""Every deserialisation call in the package uses its safe form (see docs/security.md).

An AST scan, not a text search: imports are followed (``import numpy as n``, ``from torch import
load``), and a keyword must be the literal safe value, so ``allow_pickle=flag`` or ``**options``
fails as surely as ``allow_pickle=True``. Rules:

- ``numpy.load`` (and ``numpy.lib.format.read_array``): no ``allow_pickle`` other than literal False;
- ``torch.load``: ``weights_only=True`` written out (torch's default has changed before);
  ``torch.jit.load`` (TorchScript is code) not at all;
- ``yaml``: ``safe_load``/``safe_load_all``, or ``load``/``load_all`` with ``SafeLoader``/``CSafeLoader``;
  never ``unsafe_load``, ``full_load`` or another loader;
- ``pickle``: ``load``/``loads`` (and ``_pickle``'s, ``dill``, ``joblib.load``, ``pandas.read_pickle``)
  not at all, ``Unpickler`` only through a subclass that defines ``find_class``, and such a subclass
  is the only unpickler ever instantiated.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".venv", "tests", "__pycache__", ".git", "runs"}

FORBIDDEN = {
    "pickle.load", "pickle.loads", "_pickle.load", "_pickle.loads", "pickle.Unpickler", "_pickle.Unpickler",
    "dill.load", "dill.loads", "joblib.load", "pandas.read_pickle", "torch.jit.load", "yaml.unsafe_load",
    "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all",
}
SAFE_YAML_LOADERS = {"yaml.SafeLoader", "yaml.CSafeLoader"}


class _Scanner(ast.NodeVisitor):
    """Collects ``(line, problem)`` for every unsafe load in one module."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}  # local name -> dotted origin
        self.problems: list[tuple[int, str]] = []
        self.restricted: set[str] = set()  # local Unpickler subclasses that define find_class

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                self.aliases.setdefault(a.name.split(".")[0], a.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name] = f"{node.module}.{a.name}" if node.module else a.name

    def dotted(self, node: ast.AST) -> str | None:
        """``np.load`` -> ``numpy.load`` through the imports; None for anything else."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = self.aliases.get(node.id, node.id)
        return ".".join([head, *reversed(parts)])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = {self.dotted(b) for b in node.bases}
        methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        if bases & self.restricted or (bases & {"pickle.Unpickler", "_pickle.Unpickler"} and "find_class" in methods):
            self.restricted.add(node.name)  # a restricted subclass's subclass inherits its find_class
        elif bases & {"pickle.Unpickler", "_pickle.Unpickler"}:
            self.problems.append((node.lineno, f"Unpickler subclass {node.name} without find_class"))
        self.generic_visit(node)

    def _keyword(self, call: ast.Call, name: str, position: int | None = None) -> ast.AST | None:
        for kw in call.keywords:
            if kw.arg == name:
                return kw.value
        if position is not None and len(call.args) > position:
            return call.args[position]
        return None

    def visit_Call(self, node: ast.Call) -> None:
        name = self.dotted(node.func)
        line = node.lineno
        if any(kw.arg is None for kw in node.keywords) and name in (
                "numpy.load", "torch.load", "yaml.load", "yaml.load_all", "numpy.lib.format.read_array"):
            self.problems.append((line, f"{name}(**kwargs): the safe form cannot be checked"))
        elif name in FORBIDDEN:
            self.problems.append((line, f"{name} is never safe on untrusted files"))
        elif name in ("numpy.load", "numpy.lib.format.read_array"):
            value = self._keyword(node, "allow_pickle")
            if value is not None and not (isinstance(value, ast.Constant) and value.value is False):
                self.problems.append((line, f"{name} with allow_pickle other than False"))
        elif name in ("torch.load", "torch.serialization.load"):
            value = self._keyword(node, "weights_only")
            if not (isinstance(value, ast.Constant) and value.value is True):
                self.problems.append((line, f"{name} without weights_only=True"))
        elif name in ("yaml.load", "yaml.load_all"):
            loader = self._keyword(node, "Loader", 1)
            if loader is None or self.dotted(loader) not in SAFE_YAML_LOADERS:
                self.problems.append((line, f"{name} without Loader=yaml.SafeLoader"))
        self.generic_visit(node)


def scan_source(source: str) -> list[tuple[int, str]]:
    scanner = _Scanner()
    scanner.visit(ast.parse(source))
    return sorted(scanner.problems)


def package_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIP & set(p.relative_to(ROOT).parts))


def test_the_package_loads_every_file_safely() -> None:
    files = package_files()
    assert len(files) > 100 and ROOT / "train" / "checkpoint.py" in files
    problems = [f"{p.relative_to(ROOT)}:{line}: {what}" for p in files for line, what in scan_source(p.read_text())]
    assert not problems, "\n".join(problems)


UNSAFE = {
    "import numpy as n\nn.load(p, allow_pickle=True)": "allow_pickle other than False",
    "from numpy import load\nload(p, allow_pickle=flag)": "allow_pickle other than False",
    "import torch\ntorch.load(p)": "without weights_only=True",
    "import torch\ntorch.load(p, map_location='cpu', weights_only=False)": "without weights_only=True",
    "from torch import load as tl\ntl(p, weights_only=trusted)": "without weights_only=True",
    "import torch\ntorch.load(p, **opts)": "cannot be checked",
    "import torch\ntorch.jit.load(p)": "never safe",
    "import yaml\nyaml.load(s)": "without Loader=yaml.SafeLoader",
    "import yaml\nyaml.load(s, Loader=yaml.FullLoader)": "without Loader=yaml.SafeLoader",
    "import yaml\nyaml.load(s, yaml.UnsafeLoader)": "without Loader=yaml.SafeLoader",
    "import yaml\nyaml.unsafe_load(s)": "never safe",
    "import yaml as y\ny.full_load(s)": "never safe",
    "import pickle\npickle.loads(b)": "never safe",
    "from pickle import load\nload(f)": "never safe",
    "import pickle as pk\npk.Unpickler(f).load()": "never safe",
    "import pickle\nclass Open(pickle.Unpickler):\n    pass": "without find_class",
    "import pandas as pd\npd.read_pickle(p)": "never safe",
}
SAFE = """
import io, pickle
import numpy as np
import torch
import yaml

class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(name)

np.load(p)
np.load(p, allow_pickle=False)
torch.load(p, map_location="cpu", weights_only=True)
yaml.safe_load(s)
yaml.load(s, Loader=yaml.SafeLoader)
yaml.load(s, yaml.CSafeLoader)
Restricted(io.BytesIO(b)).load()
json.load(f)
"""


@pytest.mark.parametrize("snippet", UNSAFE, ids=[s.splitlines()[-1].strip() for s in UNSAFE])
def test_the_scan_catches_an_unsafe_load(snippet: str) -> None:
    problems = scan_source(snippet)
    assert len(problems) == 1 and UNSAFE[snippet] in problems[0][1], problems


def test_the_scan_passes_the_safe_forms() -> None:
    assert scan_source(SAFE) == []
