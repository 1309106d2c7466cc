"""The landing tables are made and upgraded by numbered migrations (the landing steps of
assets/_shared/migrations.py, run by assets/landing/tables.py).

A fresh warehouse records every step once; a warehouse made by main's code (before the steps
were numbered: ``fixtures/main_warehouse`` is the ``EXPORT DATABASE`` of one, made by commit
02b1c59's ingest over two runs: a file replaced, another removed) opens, runs the steps with
nothing lost, and ingests on as before; a warehouse from before the lifecycle gets states by name.
"""

from pathlib import Path

import duckdb
import pytest
from support.extracts import valid_row, write_csv

from assets._shared import migrations
from assets.landing import tables
from assets.landing.ingest import ingest_new_files

FIXTURES = Path(__file__).resolve().parent / "fixtures"
A, B, C = (f"scr_extract_2026-01-0{d}.csv" for d in (1, 2, 3))
VERSIONS = [m.version for m in migrations.MIGRATIONS if m.domain == migrations.LANDING]


def _columns(con, table: str) -> list[tuple]:
    return con.execute(f"DESCRIBE {table}").fetchall()


def _main_warehouse(tmp_path: Path, monkeypatch) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    monkeypatch.chdir(FIXTURES)  # load.sql names its CSV files relative to here
    con.execute("IMPORT DATABASE 'main_warehouse'")
    monkeypatch.chdir(tmp_path)
    return con


def test_steps_are_numbered_in_order():
    every = [m.version for m in migrations.MIGRATIONS]
    assert every == list(range(1, len(every) + 1))
    assert VERSIONS == [1, 2, 3, 4, 5]  # the landing steps came first


def test_a_fresh_warehouse_runs_every_step_once(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert tables.ensure_tables(con) == VERSIONS
        assert tables.ensure_tables(con) == []  # recorded: nothing to run again
        assert con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == [
            (v,) for v in VERSIONS
        ]


def test_main_warehouse_upgrades_keeps_its_history_and_ingests_on(tmp_path, monkeypatch):
    con = _main_warehouse(tmp_path, monkeypatch)
    assert "schema_migrations" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    events_before = con.execute("SELECT * FROM landing_events ORDER BY seq").fetchall()
    with duckdb.connect(str(tmp_path / "fresh.duckdb")) as fresh:
        tables.ensure_tables(fresh)
        for table in ("ingested_files", "landing_events", "raw_scr_versions"):
            assert _columns(con, table) == _columns(fresh, table), table  # the same shape

    landing = tmp_path / "landing"
    write_csv(landing / A, [valid_row("SCR-1")])  # the bytes of A's current file (file 3)
    write_csv(landing / C, [valid_row("SCR-4")])  # new; B stays removed
    summary = ingest_new_files(con, landing, "run-3", archive=tmp_path / "archive")

    assert con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == [
        (v,) for v in VERSIONS
    ]
    assert summary["scr_extract"]["skipped"] == [A]
    assert summary["scr_extract"]["files"] == [(C, 1)]
    assert con.execute(
        "SELECT file_id, source_file, state, removed_at IS NOT NULL FROM ingested_files "
        "ORDER BY file_id"
    ).fetchall() == [
        (1, A, "replaced", False),
        (2, B, "active", True),
        (3, A, "active", False),
        (4, C, "active", False),
    ]
    events = con.execute("SELECT * FROM landing_events ORDER BY seq").fetchall()
    assert events[:4] == events_before  # main's four events, untouched
    assert [(e[1], e[2], e[3]) for e in events[4:]] == [(5, "ingested", C)]
    assert con.execute("SELECT count(*) FROM raw_scr_versions").fetchall() == [(5,)]  # 2+1+1+1
    assert con.execute("SELECT count(*) FROM active_raw_scr_versions").fetchall() == [(3,)]
    assert tables.ensure_tables(con) == []
    con.close()


def test_a_warehouse_from_before_the_lifecycle_gets_states_by_name(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        for step in migrations.MIGRATIONS[:3]:  # the tables as they were before the lifecycle
            step.apply(con)
        con.execute(
            "INSERT INTO ingested_files (file_id, extract_type, source_file, content_sha256, "
            "size_bytes, rows_read, ingested_at) VALUES "
            "(1, 'scr_extract', 'a.csv', 'sha1', 10, 1, TIMESTAMP '2026-01-01 00:00:00'), "
            "(2, 'scr_extract', 'b.csv', 'sha2', 20, 1, TIMESTAMP '2026-01-02 00:00:00'), "
            "(3, 'scr_extract', 'a.csv', 'sha3', 30, 1, TIMESTAMP '2026-01-03 00:00:00')"
        )
        assert tables.ensure_tables(con) == VERSIONS  # nothing recorded yet: every step
        assert con.execute(
            "SELECT file_id, state, landed_seq FROM ingested_files ORDER BY file_id"
        ).fetchall() == [(1, "replaced", 1), (2, "active", 2), (3, "active", 4)]
        assert con.execute(
            "SELECT event, source_file, sha256, previous_sha256 FROM landing_events ORDER BY seq"
        ).fetchall() == [
            ("ingested", "a.csv", "sha1", None),
            ("ingested", "b.csv", "sha2", None),
            ("replaced", "a.csv", "sha3", "sha1"),
        ]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failed_step_leaves_no_record_and_runs_again(tmp_path, version, monkeypatch):
    """A step that fails rolls back with its record: the next open runs it again."""
    broken = [
        migrations.Migration(m.version, m.domain, m.description, _fail)
        if m.version == version
        else m
        for m in migrations.MIGRATIONS
    ]
    monkeypatch.setattr(migrations, "MIGRATIONS", tuple(broken))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(RuntimeError, match="step failed"):
            tables.ensure_tables(con)
        done = [v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()]
        assert done == VERSIONS[: version - 1]
        assert "half_done" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        monkeypatch.undo()
        assert tables.ensure_tables(con) == VERSIONS[version - 1 :]


def _fail(con):
    con.execute("CREATE TABLE half_done (x INTEGER)")
    raise RuntimeError("step failed")
