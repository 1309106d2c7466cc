"""Shared fixtures: an isolated project environment (landing, warehouse, output, Dagster home
in tmp_path) and a helper that runs the real refresh in-process against it."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from support.project import Project

warnings.filterwarnings("ignore")


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
