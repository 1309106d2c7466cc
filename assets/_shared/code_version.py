"""One change detector: the code version of a stage is a hash of the code it runs.

Why: a changed rule, query, template or reference list must reach the outputs through one
mechanism, not five home-grown ones. Every asset passes ``code_version_of(<its module>)`` to
Dagster (``@dg.asset(code_version=...)``), so Dagster records it with each materialization;
the in-asset decisions (re-validate, rebuild ``scr_current``, rewrite partitions, re-render the
report) compare the same value with what they recorded; the refresh stamp hashes it for every
asset module. Imports no Dagster (the stamp's "nothing new" answer must stay cheap).

What a version covers: the given modules, every project module (``assets.*``, ``schemas.*``)
they import, transitively (import statements read as text, nothing is imported), and the data
files beside each of them (files that are not Python in its folder and in sub-folders that are
no package: ``schemas/reference/*.csv``, ``assets/report/templates/*``, ``.sql`` files beside a
module). Plumbing that decides no result (the connection, error types, run-tag names, the
kept tables' DDL, this module) is left out, so editing it re-runs nothing. Third-party versions are not in it (the
partition writer adds pyarrow's itself: assets/publish/outputs.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path
from types import ModuleType

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("assets", "schemas")
# modules that decide no result: a change to them alone leaves every code version as it was
PLUMBING = frozenset(
    {
        "assets._shared.resources",
        "assets._shared.errors",
        "assets._shared.tags",
        "assets._shared.code_version",
        # the kept tables' DDL: a step makes or reshapes a table and changes no query (a new
        # column comes with the query that fills it, in its own module); a retyped stored value
        # shows as a difference the publish repairs. So an audit step rebuilds no scr_current
        "assets._shared.migrations",
    }
)

CodeInput = str | Path | ModuleType


def _root_of(path: Path) -> Path:
    """The folder holding the top package of ``path`` (a temp copy of the project works too)."""
    return _root_of_folder(path.parent)


@lru_cache(maxsize=1024)
def _root_of_folder(folder: Path) -> Path:
    while (folder / "__init__.py").exists():
        folder = folder.parent
    return folder


@lru_cache(maxsize=8192)
def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of a dotted module name under ``root`` (cached: a process sees one tree)."""
    base = os.path.join(root, *dotted.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return Path(candidate).resolve()
    return None


@lru_cache(maxsize=4096)
def _is_plumbing(path: Path) -> bool:
    return _module_name(_root_of(path), path) in PLUMBING


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# import statements at any depth (function-level too); a match inside a string only adds a file
_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#]*)", re.M)


@lru_cache(maxsize=4096)
def _imports(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Dotted names a module imports, absolute or relative (read as text: ``ast`` takes 10x)."""
    text = path.read_text(encoding="utf-8")
    package = _module_name(_root_of(path), path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = []
    for dots, module, imported in _FROM.findall(text):
        if dots:
            up = package[: len(package) - (len(dots) - 1)]
            module = ".".join([*up, *([module] if module else [])])
        names.append(module)
        for alias in imported.strip("()").replace("\n", " ").split(","):
            if alias.split():  # a submodule, when there is one of that name
                names.append(f"{module}.{alias.split()[0]}")
    for imported in _IMPORT.findall(text):
        names += [a.split()[0] for a in imported.split(",") if a.split()]
    return tuple(n for n in names if n.split(".")[0] in PROJECT_PACKAGES)


def _data_files(folder: Path) -> list[Path]:
    """Files that are not Python in ``folder`` and in its sub-folders that are no package."""
    out, todo = [], [folder]
    while todo:
        current = todo.pop()
        for entry in os.scandir(current):
            if entry.name == "__pycache__" or entry.name.startswith("."):
                continue
            if entry.is_dir():
                if not os.path.exists(os.path.join(entry.path, "__init__.py")):
                    todo.append(Path(entry.path))
            elif not entry.name.endswith((".py", ".pyc")):
                out.append(Path(entry.path))
    return out


def _start(item: CodeInput) -> Path:
    if isinstance(item, ModuleType):
        item = item.__file__ or ""
    if isinstance(item, str) and not item.endswith(".py") and "/" not in item:
        found = _module_file(PROJECT_ROOT, item)
        if found is None:
            raise ValueError(f"code_version_of: no project module {item!r}")
        return found.resolve()
    return Path(item).resolve()


@lru_cache(maxsize=8192)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    """A file's sha256, read once per process while its mtime and size hold."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _Scan:
    """One read of the project's files: the modules each module imports and the data files
    beside it, shared by the versions computed together (the stamp computes them all)."""

    def __init__(self) -> None:
        self.deps: dict[Path, list[Path]] = {}
        self.data: dict[Path, list[Path]] = {}
        self.digests: dict[Path, str] = {}

    def imported(self, path: Path) -> list[Path]:
        if path not in self.deps:
            root, st = _root_of(path), path.stat()
            found = (_module_file(root, d) for d in _imports(path, st.st_mtime_ns, st.st_size))
            self.deps[path] = sorted({f for f in found if f is not None})
        return self.deps[path]

    def beside(self, folder: Path) -> list[Path]:
        if folder not in self.data:
            self.data[folder] = _data_files(folder)
        return self.data[folder]

    def files(self, starts: list[Path], imports: bool) -> list[Path]:
        seen: set[Path] = set()
        todo = list(starts)
        while todo:
            path = todo.pop()
            if path in seen or _is_plumbing(path):
                continue
            seen.add(path)
            if imports:
                todo += self.imported(path)
        data = {f for folder in {p.parent for p in seen} for f in self.beside(folder)}
        return sorted(seen | data)

    def version(self, files: list[Path]) -> str:
        h = hashlib.sha256()
        for path in files:
            if path not in self.digests:
                st = path.stat()
                self.digests[path] = _digest(path, st.st_mtime_ns, st.st_size)
            rel = path.relative_to(_project_of(path)).as_posix()
            h.update(rel.encode() + b"\0" + self.digests[path].encode())
        return h.hexdigest()[:16]


def _project_of(path: Path) -> Path:
    """The project root of a module or of a data file in a non-package folder below one."""
    return _project_of_folder(path.parent)


@lru_cache(maxsize=1024)
def _project_of_folder(folder: Path) -> Path:
    while not (folder / "__init__.py").exists() and folder != folder.parent:
        folder = folder.parent
    return _root_of(folder / "__init__.py")


def code_files(*modules_or_files: CodeInput, imports: bool = True) -> list[Path]:
    """Every file a code version reads: the modules, the project modules they import
    (transitively, unless ``imports=False``) and the data files beside them."""
    return _Scan().files([_start(m) for m in modules_or_files], imports)


def code_version_of(*modules_or_files: CodeInput, imports: bool = True) -> str:
    """A stable hash (16 hex digits) of the code a stage runs: the same on every machine for the
    same files (paths are taken relative to the project root), different when any file in
    ``code_files`` changes. Pass dotted module names (``__name__``), modules or paths."""
    scan = _Scan()
    return scan.version(scan.files([_start(m) for m in modules_or_files], imports))


def asset_modules(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every module under ``assets/`` (plumbing aside): their code versions cover every file
    any asset's code version reads."""
    return sorted(
        p
        for p in (root / "assets").rglob("*.py")
        if "__pycache__" not in p.parts and _module_name(root, p) not in PLUMBING
    )


def all_code_versions(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """The code version of every asset module, by dotted name (what the refresh stamp records)."""
    scan = _Scan()
    return {
        _module_name(root, p): scan.version(scan.files([p.resolve()], imports=True))
        for p in asset_modules(root)
    }
