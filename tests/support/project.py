"""Test projects: an isolated environment (landing, warehouse, output, archive, Dagster home in
a temp dir), the real refresh in-process or the real CLI, and snapshots of what came out.

Plain functions and one class rather than conftest fixtures: the tests compare warehouse and
output state before and after, and explicit calls keep that readable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def env_for(root: Path) -> dict[str, str]:
    """The contract's environment variables pointing into ``root``."""
    return {
        "SCR_LANDING_DIR": str(root / "landing"),
        "SCR_WAREHOUSE": str(root / "warehouse.duckdb"),
        "SCR_OUTPUT_DIR": str(root / "output"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "SCR_ARCHIVE_DIR": str(root / "archive"),
        "SCR_WORKSHEET_DIR": str(root / "worksheets"),
        "SCR_SETTLE_SECONDS": "0",
    }


def use_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> dict[str, str]:
    """Point the pipeline's environment variables at ``root`` (landing and Dagster home made)."""
    env = env_for(root)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    (root / "landing").mkdir(parents=True, exist_ok=True)
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def refresh_in_process(root: Path):
    """One real refresh (all three stages) through Dagster, in-process, env already set."""
    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    with dg.DagsterInstance.ephemeral() as inst:
        return run_refresh(defs, inst, progress=lambda s: None)


def console_script() -> Path:
    venv = PROJECT_ROOT / ".venv" / "bin" / "scr-pipeline"
    return venv if venv.exists() else Path(sys.executable).parent / "scr-pipeline"


def cli_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCR_", "DAGSTER_"))}
    return env | env_for(root)


def run_cli(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``scr-pipeline ARGS`` as a real console script with the env of ``root``."""
    return subprocess.run(
        [str(console_script()), *args],
        env=cli_env(root),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
    )


def run_main(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``scr-pipeline ARGS`` in this process (``pipelines.cli.main.main``) with the environment
    ``run_cli`` would give the console script (plus ``env``); returns (exit code, stdout and
    stderr). The same command without an interpreter start, for a set-up or a step whose claim
    is not about the process; this process's environment is restored afterwards."""
    code, out, _ = _main_in_process(root, args, env, together=True)
    return code, out


def run_main_streams(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``run_main`` with stdout and stderr apart: (exit code, stdout, stderr), for a test that
    asserts what goes to which stream."""
    return _main_in_process(root, args, env, together=False)


def _main_in_process(
    root: Path, args: tuple[str, ...], env: dict[str, str] | None, together: bool
) -> tuple[int, str, str]:
    import contextlib
    import io

    from pipelines.cli.main import main

    saved = dict(os.environ)
    out = io.StringIO()
    err = out if together else io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(cli_env(root) | (env or {}))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as done:
                return done.code, out.getvalue(), err.getvalue()
        raise AssertionError("main() returned without SystemExit")
    finally:
        os.environ.clear()
        os.environ.update(saved)


HISTORY = "report/history/"  # earlier reports each release carries: not outputs of this one


def output_hashes(output_dir: Path) -> dict[str, str]:
    """sha256 of every file under the output dir, by relative path (carried history left out)."""
    return {
        str(p.relative_to(output_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(output_dir.rglob("*"))
        if p.is_file() and not p.relative_to(output_dir).as_posix().startswith(HISTORY)
    }


def table_counts(warehouse: Path) -> dict[str, int]:
    """Row count of every table in the warehouse (read-only connection)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}
    finally:
        con.close()


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def quarterly(output_dir: Path) -> dict[tuple[int, int], dict]:
    """The published quarterly_measures rows, by (fiscal_year, fiscal_quarter)."""
    root = output_dir / "quarterly_measures"
    if not root.exists():
        return {}
    import pyarrow.dataset as ds

    table = ds.dataset(root, partitioning="hive", format="parquet").to_table()
    return {(r["fiscal_year"], r["fiscal_quarter"]): r for r in table.to_pylist()}


def read_output(output_dir: Path, name: str) -> list[dict]:
    return pq.read_table(output_dir / name).to_pylist()


class Project:
    """One isolated pipeline environment; ``refresh()`` runs the real job in-process."""

    def __init__(
        self, root: Path, monkeypatch: pytest.MonkeyPatch, cli_instance: bool = False
    ) -> None:
        self.root = root
        self.landing = root / "landing"
        self.warehouse = root / "warehouse.duckdb"
        self.output = root / "output"
        self.home = root / "dagster_home"
        for d in (self.landing, self.output, self.home):
            d.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv("SCR_LANDING_DIR", str(self.landing))
        monkeypatch.setenv("SCR_WAREHOUSE", str(self.warehouse))
        monkeypatch.setenv("SCR_OUTPUT_DIR", str(self.output))
        monkeypatch.setenv("DAGSTER_HOME", str(self.home))
        monkeypatch.setenv("SCR_ARCHIVE_DIR", str(root / "archive"))
        monkeypatch.setenv("SCR_WORKSHEET_DIR", str(root / "worksheets"))
        self.worksheets = root / "worksheets"
        # tests write their extracts and refresh at once: no settle wait (a module-scoped
        # project is set up before the function-scoped autouse fixture below applies)
        monkeypatch.setenv("SCR_SETTLE_SECONDS", "0")
        self.archive = root / "archive"
        # DAGSTER_HOME holds the CLI's dagster.yaml (a CLI call on this project uses it); the
        # in-process runs use an in-memory instance unless the test's claim is about the
        # instance the CLI uses (``cli_instance``: Dagster's SQLite files under DAGSTER_HOME,
        # an fsync per event, about three times the cost of a refresh on this machine)
        from pipelines.orchestration.instance import write_instance_yaml

        write_instance_yaml(self.home, env={})
        self.instance = (
            dg.DagsterInstance.from_config(str(self.home))
            if cli_instance
            else dg.DagsterInstance.ephemeral()
        )
        self.messages: list[str] = []

    def refresh(self):
        from pipelines.cli.refresh import run_refresh
        from pipelines.orchestration.definitions import defs

        return run_refresh(defs, self.instance, progress=self.messages.append)

    def verify(self) -> list[str]:
        """``scr-pipeline verify`` on this project: the differences between the published
        files and a rebuild from the archive alone (empty when reproducible)."""
        from pipelines.orchestration.definitions import defs
        from pipelines.orchestration.verify import verify

        return verify(defs, progress=self.messages.append).differences

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def read_output(self, sql: str) -> list[tuple]:
        """Run ``sql`` with ``{out}`` replaced by the output dir (outputs read back for real)."""
        with duckdb.connect() as con:
            return con.execute(sql.replace("{out}", str(self.output))).fetchall()

    def output_digest(self) -> dict[str, bytes]:
        """Every file of the current release (the report's carried history left out)."""
        return {
            str(p.relative_to(self.output)): p.read_bytes()
            for p in sorted(self.output.rglob("*"))
            if p.is_file() and not p.relative_to(self.output).as_posix().startswith(HISTORY)
        }


_DEMO: dict[str, Path] = {}  # the refreshed small demo, made once per test process


def refreshed_demo(tmp_path_factory: pytest.TempPathFactory, refresh: Callable) -> Path:
    """A small demo dataset (seed 7, scale 0.05), refreshed once per test process (``refresh``:
    an in-process refresh on an in-memory instance) and then only read: the modules that use it
    copy it (``copy_site``), so the modules a worker runs share one build."""
    if "demo" not in _DEMO:
        root = tmp_path_factory.mktemp("demo")
        with pytest.MonkeyPatch.context() as mp:
            use_env(mp, root)
            from pipelines.demo.extracts import write_demo_extracts

            write_demo_extracts(root / "landing", seed=7, scale=0.05)
            refresh()
        _DEMO["demo"], _DEMO_DIGEST["demo"] = root, _tree_digest(root)
    root = _DEMO["demo"]
    assert _tree_digest(root) == _DEMO_DIGEST["demo"], f"a test changed the shared demo {root}"
    return root


_DEMO_DIGEST: dict[str, dict[str, str]] = {}


def _tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (links not followed): the shared demo is read only."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def refresh_in_memory() -> None:
    """The CLI's refresh, in-process on an in-memory Dagster instance (the data is the claim)."""
    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        run_refresh(defs, instance, progress=lambda s: None)


def copy_site(refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the refreshed dataset, with the environment pointing at it."""
    root = tmp_path / "site"
    shutil.copytree(refreshed, root, symlinks=True)  # the output link stays a link
    use_env(monkeypatch, root)
    return root


_WAREHOUSES: dict[str, Path] = {}  # kept across in-process pytest runs (the mutation harness)


def refreshed_warehouse(name: str, files: dict[str, list[dict]]) -> Path:
    """A warehouse after one real refresh of ``files`` (made once per process, then only read:
    tests copy it). The mutation harness forks its mutants from a process that has it."""
    if name not in _WAREHOUSES:
        import tempfile

        root = Path(tempfile.mkdtemp(prefix=f"scr-sql-{name}-"))
        _WAREHOUSES[name] = _refresh_once(root, files).warehouse
    return _WAREHOUSES[name]


def _refresh_once(root: Path, files: dict[str, list[dict]]) -> Project:
    """One real in-process refresh of ``files`` landed in ``root`` (an in-memory Dagster instance,
    disposed after); the project, for its paths."""
    from support.extracts import write_csv

    mp = pytest.MonkeyPatch()
    p = Project(root, mp)
    try:
        for file_name, rows in files.items():
            write_csv(p.landing / file_name, rows)
        p.refresh()
    finally:
        p.instance.dispose()
        mp.undo()
    return p


_PREPARED: dict[str, tuple[dict, Path, dict[str, str]]] = {}


def refreshed_project(
    tmp_path_factory: pytest.TempPathFactory, name: str, files: dict[str, list[dict]]
) -> Path:
    """A project dir after one real in-process refresh of ``files`` (landing, archive, warehouse,
    output; an in-memory Dagster instance, as every ``Project``), made once per test process and
    then only read: ``prepared_project`` (tests/conftest.py) copies it for each test."""
    if name not in _PREPARED:
        root = tmp_path_factory.mktemp(f"prepared-{name}")
        _refresh_once(root, files)
        _PREPARED[name] = (files, root, _tree_digest(root))
    made_from, root, digest = _PREPARED[name]
    assert made_from == files, f"prepared project {name!r} was made from other files"
    assert _tree_digest(root) == digest, f"a test changed the prepared project {root}"
    return root
