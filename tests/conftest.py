"""Shared fixtures: an isolated project environment (landing, warehouse, output, Dagster home
in tmp_path) and a helper that runs the real refresh in-process against it."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest
from support.project import Project, refreshed_project

warnings.filterwarnings("ignore")


def pytest_configure(config: pytest.Config) -> None:
    """No test writes into the project's own data/ or .dagster: unless a test says otherwise, the
    archive and the Dagster home of this test process (and of the commands it starts with the
    inherited environment) are in a temp dir."""
    import tempfile

    config.addinivalue_line(
        "markers",
        "cli_instance: the project's in-process runs use the instance the CLI uses "
        "(Dagster's SQLite files under DAGSTER_HOME) instead of an in-memory one",
    )
    _temp_dir_in_memory()
    base = Path(tempfile.mkdtemp(prefix="scr-tests-"))
    os.environ.setdefault("SCR_ARCHIVE_DIR", str(base / "archive"))
    os.environ["SCR_TESTS_DEFAULT_ARCHIVE"] = os.environ["SCR_ARCHIVE_DIR"]
    os.environ.setdefault("DAGSTER_HOME", str(base / "dagster_home"))
    os.environ.setdefault("SCR_WORKSHEET_DIR", str(base / "worksheets"))
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)


def _temp_dir_in_memory(min_free: int = 2 << 30) -> None:
    """Temp dirs (tmp_path, and the CLI processes' Dagster homes under them) on the RAM disk
    where the machine has one and TMPDIR is not set: Dagster's SQLite storage syncs every event
    to disk, which costs more than the work most tests check. Same code and files, only the
    disk under them differs (docs/TESTING.md, "Where the suite's time goes")."""
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if os.environ.get("TMPDIR") or not shm.is_dir() or not os.access(shm, os.W_OK | os.X_OK):
        return
    if shutil.disk_usage(shm).free < min_free:
        return
    os.environ["TMPDIR"] = str(shm)  # pytest's basetemp, tempfile, and the processes started
    tempfile.tempdir = None  # recomputed from TMPDIR on the next call


@pytest.fixture(autouse=True)
def _landing_lifecycle_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Tests write their extracts and refresh at once (no settle wait), and never archive into
    the project's data/archive: the archive goes to the test's temp dir unless a test set one."""
    monkeypatch.setenv("SCR_SETTLE_SECONDS", "0")
    if os.environ.get("SCR_ARCHIVE_DIR") in (None, os.environ.get("SCR_TESTS_DEFAULT_ARCHIVE")):
        monkeypatch.setenv("SCR_ARCHIVE_DIR", str(tmp_path / "archive"))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """An isolated project; its in-process runs use an in-memory Dagster instance unless the
    test is marked ``cli_instance`` (the instance the CLI uses, Dagster's SQLite under
    DAGSTER_HOME)."""
    p = Project(tmp_path, monkeypatch, request.node.get_closest_marker("cli_instance") is not None)
    yield p
    p.instance.dispose()


@pytest.fixture
def prepared_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory):
    """``prepared_project(name, files)``: a project (as ``project``) that starts where a first
    refresh of ``files`` left it, copied from a refresh made once per test process
    (``support.project.refreshed_project``) instead of refreshing again in every test. Its runs
    use a new in-memory Dagster instance, as a ``project``'s first refresh does."""
    made: list[Project] = []

    def make(name: str, files: dict[str, list[dict]]) -> Project:
        source = refreshed_project(tmp_path_factory, name, files)
        root = tmp_path / "prepared"
        shutil.copytree(source, root, symlinks=True)  # the output link stays a link
        made.append(Project(root, monkeypatch))
        return made[-1]

    yield make
    for p in made:
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
