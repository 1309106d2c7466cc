"""Shared fixtures: an isolated project environment (landing, warehouse, output, Dagster home
in tmp_path) and a helper that runs the real refresh in-process against it."""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from schemas.extracts import SCR

warnings.filterwarnings("ignore")

SCR_COLUMNS = list(SCR.columns)


def write_scr_csv(path: Path, rows: list[dict]) -> Path:
    """Write SCR rows (dicts; missing keys empty) as a contract CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=SCR_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in SCR_COLUMNS})
    return path


class Project:
    """One isolated pipeline environment; ``refresh()`` runs the real job in-process."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
        # tests write their extracts and refresh at once: no settle wait (a module-scoped
        # project is set up before the function-scoped autouse fixture below applies)
        monkeypatch.setenv("SCR_SETTLE_SECONDS", "0")
        self.archive = root / "archive"
        self.instance = dg.DagsterInstance.local_temp(str(self.home))
        self.messages: list[str] = []

    def refresh(self):
        from pipelines.definitions import defs
        from pipelines.refresh import run_refresh

        return run_refresh(defs, self.instance, progress=self.messages.append)

    def verify(self) -> list[str]:
        """``scr-pipeline verify`` on this project: the differences between the published
        files and a rebuild from the archive alone (empty when reproducible)."""
        from pipelines.verify import verify

        return verify(progress=self.messages.append).differences

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def read_output(self, sql: str) -> list[tuple]:
        """Run ``sql`` with ``{out}`` replaced by the output dir (outputs read back for real)."""
        with duckdb.connect() as con:
            return con.execute(sql.replace("{out}", str(self.output))).fetchall()

    def output_digest(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.output)): p.read_bytes()
            for p in sorted(self.output.rglob("*"))
            if p.is_file()
        }


@pytest.fixture(autouse=True)
def _landing_lifecycle_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Tests write their extracts and refresh at once (no settle wait), and never archive into
    the project's data/archive: the archive goes to the test's temp dir unless a test set one."""
    monkeypatch.setenv("SCR_SETTLE_SECONDS", "0")
    if "SCR_ARCHIVE_DIR" not in os.environ:
        monkeypatch.setenv("SCR_ARCHIVE_DIR", str(tmp_path / "archive"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    p = Project(tmp_path, monkeypatch)
    yield p
    p.instance.dispose()


@pytest.fixture(scope="module")
def module_project(tmp_path_factory: pytest.TempPathFactory):
    """One environment shared by a module's tests (refresh once, assert many times)."""
    mp = pytest.MonkeyPatch()
    p = Project(tmp_path_factory.mktemp("project"), mp)
    yield p
    p.instance.dispose()
    mp.undo()


# --- no silent skips in CI ---------------------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure: a test that needs a real component (PostgreSQL,
    Chromium, the daemon) must have it there; `.ci/run` installs them. Locally a skip stays a skip."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("CI") == "true":
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must not skip: {reason}"
