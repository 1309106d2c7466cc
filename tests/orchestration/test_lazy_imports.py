"""Every ``from <project module> import <name>`` resolves, also those inside functions.

Why: the CLI imports most of its modules lazily (start-up time), so a name moved to another
module fails only when that command runs; ruff does not see it. A move in this round left
``scr-pipeline verify`` importing ``refresh_lock`` from its old module.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("assets", "schemas", "pipelines", "benchmarks")


def _imports() -> list[tuple[str, str, str]]:
    """(file:line, module, name) for every from-import of a project module, at any depth."""
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    if node.module.split(".")[0] in PACKAGES:
                        where = f"{path.relative_to(ROOT)}:{node.lineno}"
                        out += [(where, node.module, alias.name) for alias in node.names]
    return out


def test_there_are_lazy_imports_to_check():
    assert len(_imports()) > 200


def test_every_project_from_import_resolves():
    missing = []
    for where, module, name in _imports():
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ModuleNotFoundError:
                missing.append(f"{where}: {module}.{name}")
    assert not missing, missing
