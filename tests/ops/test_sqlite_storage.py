"""The instance's SQLite storage (pipelines/sqlite_storage.py): Dagster's files and schema, kept
open between events, and still readable by another process's instance (the UI, the daemon)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines import instance as inst
from pipelines.sqlite_storage import PooledSqliteEventLogStorage, PooledSqliteRunStorage

ROOT = Path(__file__).resolve().parents[2]


@dg.asset
def tiny() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    inst.write_instance_yaml(tmp_path, env={})
    return tmp_path


def test_runs_are_stored_where_dagster_keeps_them_and_read_by_another_process(home: Path):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PooledSqliteRunStorage)
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        result = dg.materialize([tiny], instance=instance)
        assert result.success
        run_db = home / "history" / "runs" / f"{result.run_id}.db"
        assert run_db.exists() and (home / "history" / "runs.db").exists()
        with storage.run_connection(result.run_id) as conn:  # kept open, written lazily
            assert conn.exec_driver_sql("PRAGMA synchronous").fetchall() == [(1,)]  # NORMAL
        # while this process still holds its connections, another process reads the run
        code = (
            "import dagster as dg; i = dg.DagsterInstance.get(); "
            "r = i.get_latest_materialization_event(dg.AssetKey('tiny')); "
            "print(r.run_id, r.asset_materialization.metadata['rows'].value)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], env=os.environ | {"PYTHONWARNINGS": "ignore"},
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.split() == [result.run_id, "3"]


def test_each_event_touches_the_run_file_the_ui_watches(home: Path):
    """The webserver follows a running run through file events on ``<run id>.db``; with the
    connection kept open the writes land in the WAL, so every stored event touches the file."""
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([tiny], instance=instance)
        run_db = home / "history" / "runs" / f"{result.run_id}.db"
        os.utime(run_db, (0, 0))
        instance.report_engine_event("a note", instance.get_run_by_id(result.run_id))
        assert run_db.stat().st_mtime > 0


def _shape(path: Path) -> tuple[list[tuple], list[tuple], str]:
    """A run database's tables and indexes (name, SQL), its alembic revision, journal mode."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        schema = sorted(
            con.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )
        revision = con.execute("SELECT version_num FROM alembic_version").fetchall()
        mode = con.execute("PRAGMA journal_mode").fetchall()[0][0]
        return schema, revision, mode
    finally:
        con.close()


def test_a_new_run_database_is_the_one_dagster_would_make(tmp_path: Path):
    """The run shard this storage creates (migration scripts read once) has Dagster's own
    tables, indexes, alembic revision and WAL mode: the UI and `dagster instance migrate` see
    no difference."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    ours = PooledSqliteEventLogStorage(str(tmp_path / "ours"))
    theirs = SqliteEventLogStorage(str(tmp_path / "theirs"))
    try:
        for storage in (ours, theirs):
            with storage.run_connection("r1") as conn:
                conn.exec_driver_sql("SELECT count(*) FROM event_logs").fetchall()
        ours_shape = _shape(tmp_path / "ours" / "r1.db")
        assert ours_shape == _shape(tmp_path / "theirs" / "r1.db")
        assert ours_shape[1] and ours_shape[1][0][0]  # stamped, not empty
        assert ours_shape[2] == "wal"
    finally:
        ours.dispose()
        theirs.dispose()
