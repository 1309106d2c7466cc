"""Every kept table's DDL is one numbered step in ``assets/_shared/migrations.py``.

A fresh warehouse runs each domain's steps once and records them; a warehouse built by the code
before this change (``fixtures/main_ab_warehouse``: the ``EXPORT DATABASE`` of one refresh of the
A+B extracts, landing steps 1-4 recorded, every other kept table made ad hoc) runs the steps it
lacks, keeps every row and ends with the shape a fresh one has; the measures then see nothing
changed. The DDL of a table filled by a query has that query's shape.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from support.extracts import FILES_A_B
from support.project import refreshed_warehouse

from assets._shared import migrations
from assets._shared.migrations import AUDIT, FINDINGS, LANDING, MEASURES, SCR, migrate
from assets._shared.resources import WarehouseResource
from assets.landing.tables import ensure_tables as ensure_landing_tables
from assets.measures import quarterly, restatements

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOMAINS = (LANDING, FINDINGS, SCR, MEASURES, AUDIT)
# the tables a refresh keeps (the others are rebuilt from them every run)
KEPT = (
    "schema_migrations", "ingested_files", "landing_events", "raw_scr_versions",
    "raw_resource_requests", "raw_case_reviews", "header_renames", "scr_findings",
    "resource_request_findings", "case_review_findings", "build_state", "quarterly_measures",
    "category_measures", "quarterly_measures_history", "scr_determinations", "publications",
    "published_contributions", "restatement_runs", "restatements", "audit_samples",
    "audit_sample_population", "audit_sample_cases", "audit_sample_strata", "audit_sample_frame",
)  # fmt: skip


def _versions(domain: str) -> list[int]:
    return [m.version for m in migrations.MIGRATIONS if m.domain == domain]


def _shape(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """(column, type, null, key, default) of each column, in order."""
    return [r[:5] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SHOW TABLES").fetchall()}


def _migrate_all(con: duckdb.DuckDBPyConnection) -> dict[str, list[int]]:
    ran = {LANDING: ensure_landing_tables(con)}
    return ran | {d: migrate(con, d) for d in DOMAINS if d != LANDING}


def test_steps_are_numbered_in_order_each_in_a_known_domain():
    steps = migrations.MIGRATIONS
    assert [m.version for m in steps] == list(range(1, len(steps) + 1))
    assert {m.domain for m in steps} == set(DOMAINS)
    assert len({m.description for m in steps}) == len(steps)


def test_a_fresh_warehouse_runs_each_domain_s_steps_once(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert migrate(con, MEASURES) == [8, 9]  # a domain runs its own steps only
        assert _tables(con) == {
            "schema_migrations", "quarterly_measures", "category_measures",
            "quarterly_measures_history", "scr_determinations", "publications",
            "published_contributions", "restatement_runs", "restatements",
        }  # fmt: skip
        assert _migrate_all(con) == {d: _versions(d) for d in DOMAINS} | {MEASURES: []}
        assert _migrate_all(con) == {d: [] for d in DOMAINS}  # recorded: nothing runs again
        assert _tables(con) >= set(KEPT)
        recorded = con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert recorded == [(m.version,) for m in migrations.MIGRATIONS]


def test_a_step_inside_the_caller_s_transaction_commits_and_rolls_back_with_it(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE work (x INTEGER)")
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO work VALUES (1)")
        assert migrate(con, AUDIT) == [10, 11]
        con.execute("ROLLBACK")
        assert _tables(con) == {"work"}  # the steps and their records went with it
        con.execute("BEGIN TRANSACTION")
        assert migrate(con, AUDIT) == [10, 11]
        con.execute("INSERT INTO work VALUES (2)")  # the caller's transaction is still usable
        con.execute("COMMIT")
        assert con.execute("SELECT * FROM work").fetchall() == [(2,)]
        assert migrate(con, AUDIT) == []


@pytest.fixture
def old_warehouse(tmp_path, monkeypatch) -> Iterator[duckdb.DuckDBPyConnection]:
    """The old code's warehouse, opened as every asset opens it (with the counting macros)."""
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        monkeypatch.chdir(FIXTURES)  # load.sql names its CSV files relative to here
        con.execute("IMPORT DATABASE 'main_ab_warehouse'")
        monkeypatch.chdir(tmp_path)
    with WarehouseResource(path=str(path)).connect() as con:
        yield con


def test_a_warehouse_built_by_the_old_code_upgrades_and_keeps_every_row(old_warehouse, tmp_path):
    con = old_warehouse
    recorded = con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert recorded == [(1,), (2,), (3,), (4,)]  # the old code numbered the landing steps only
    tables = sorted(_tables(con))
    rows = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    shapes = {t: _shape(con, t) for t in tables}
    assert len(rows["scr_determinations"]) == 13 and len(rows["publications"]) == 1

    assert _migrate_all(con) == {
        LANDING: [5], FINDINGS: [6], SCR: [7], MEASURES: [8, 9], AUDIT: [10, 11]
    }  # fmt: skip
    for t in tables:
        if t != "schema_migrations":
            assert con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() == rows[t], t
            assert _shape(con, t) == shapes[t], t
    with duckdb.connect(str(tmp_path / "fresh.duckdb")) as fresh:
        _migrate_all(fresh)
        for t in KEPT:
            assert _shape(con, t) == _shape(fresh, t), t  # the same shape as a fresh warehouse
    # the measures work on: nothing changed since the old code measured and published
    present, changed = quarterly.changed_quarter_keys(con)
    assert (present, changed) == (["FY2023-Q4", "FY2024-Q1", "FY2024-Q2"], [])
    restatements.ensure_tables(con)
    assert restatements.republishes_the_last(con)


def test_each_kept_table_has_the_shape_of_the_query_that_fills_it(tmp_path):
    """The measures' DDL is written out; a query that gains or retypes a column fails here
    until a step gives the table that column."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(refreshed_warehouse("ab", FILES_A_B), copy)
    with WarehouseResource(path=str(copy)).connect() as con:  # with the counting macros
        for name, rows in (
            ("quarterly_measures", quarterly.quarter_rows(con, [-1])),
            ("category_measures", quarterly.category_rows(con, [-1])),
        ):
            con.register("__rows", rows)
            assert _cols(con, "SELECT * FROM __rows") == _cols(con, f"FROM {name}"), name
            con.unregister("__rows")
        restatements.ensure_tables(con)  # the views of what fills the tables
        assert _cols(con, "FROM determination_rows") == _cols(con, "FROM scr_determinations")
        assert _cols(con, "FROM current_contributions") == _cols(
            con, "FROM published_contributions"
        )
        pending = con.sql(restatements.PENDING_SQL, params={"refresh_id": None, "at": None})
        assert _of(pending) == _cols(con, "FROM restatements")
        assert _cols(con, "FROM quarterly_measures_history") == [
            *_cols(con, "FROM quarterly_measures"), ("superseded_at", "TIMESTAMP"),
            ("run_id", "VARCHAR"),
        ]  # fmt: skip


def _of(rel: duckdb.DuckDBPyRelation) -> list[tuple[str, str]]:
    return [(c, str(t)) for c, t in zip(rel.columns, rel.types, strict=True)]


def _cols(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[str, str]]:
    return _of(con.sql(query))
