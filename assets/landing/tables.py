"""The landing tables: ``ingested_files``, ``landing_events``, one raw table per extract type and
the views of active rows, made and upgraded in one place by numbered migrations.

Why: every landing step writes these tables and may assume they exist once the driver called
``ensure_tables``. A table's shape changes only by a new step appended to ``MIGRATIONS``; the
warehouse records each step it has run in ``schema_migrations``, so a warehouse made by any
earlier code (main's, which ran the same statements ad hoc on every ingest and has no record)
upgrades by running the steps it lacks. Every step is idempotent (``IF NOT EXISTS``): a
warehouse without ``schema_migrations`` runs them all and keeps what it has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from assets._shared.sql import quote_ident
from assets.landing import lifecycle
from assets.landing.events import record_event
from schemas.extracts import EXTRACTS, ExtractSpec

MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL
)
"""

FILES_DDL = """
CREATE TABLE IF NOT EXISTS ingested_files (
    file_id INTEGER PRIMARY KEY, extract_type VARCHAR NOT NULL, source_file VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL, size_bytes BIGINT, rows_read BIGINT, extra_columns VARCHAR[],
    ingested_at TIMESTAMP NOT NULL, run_id VARCHAR,
    validated_rules VARCHAR, current_built BOOLEAN DEFAULT false
)
"""

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS landing_events (
    event_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, event VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL, extract_type VARCHAR, sha256 VARCHAR, previous_sha256 VARCHAR,
    size_bytes BIGINT, "at" TIMESTAMP NOT NULL, ingested_at TIMESTAMP, reason VARCHAR,
    who VARCHAR, file_id INTEGER, run_id VARCHAR, in_manifest BOOLEAN NOT NULL DEFAULT false
)
"""

LIFECYCLE_COLUMNS = (
    ("state", "VARCHAR DEFAULT 'active'"),
    ("landed_seq", "BIGINT"),
    ("removed_at", "TIMESTAMP"),
    ("state_changed_at", "TIMESTAMP"),
    ("state_reason", "VARCHAR"),
)


def raw_table_ddl(spec: ExtractSpec) -> str:
    cols = ", ".join(f"{quote_ident(c)} VARCHAR" for c in spec.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(spec.raw_table)} (file_id INTEGER NOT NULL, "
        f"source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, content_sha256 VARCHAR, "
        f"ingested_at TIMESTAMP, {cols}, extra JSON)"
    )


def _tables_as_first_made(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(FILES_DDL)
    for spec in EXTRACTS:
        con.execute(raw_table_ddl(spec))


def _landing_fingerprint(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS mtime_ns BIGINT")


def _second_reader_count(con: duckdb.DuckDBPyConnection) -> None:
    # the file's records by a second reader (assets/landing/csv_records.py); NULL for .xlsx
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS records_in_file BIGINT")


def _lifecycle(con: duckdb.DuckDBPyConnection) -> None:
    """File states and events; a warehouse from before them gets states by name."""
    con.execute(EVENTS_DDL)
    had_state = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'ingested_files' AND column_name = 'state'"
    ).fetchall()[0][0]
    for col, typ in LIFECYCLE_COLUMNS:
        con.execute(f"ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS {col} {typ}")
    if not had_state:
        _states_by_name(con)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


# In the order they came; append, never edit or renumber a step a warehouse may have run.
MIGRATIONS = (
    Migration(1, "ingested_files and one raw table per extract type", _tables_as_first_made),
    Migration(2, "ingested_files.mtime_ns: the landing fingerprint", _landing_fingerprint),
    Migration(3, "ingested_files.records_in_file: a second reader's count", _second_reader_count),
    Migration(4, "landing_events and file states (the lifecycle)", _lifecycle),
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Run the migrations this warehouse lacks, each in its own transaction with its record;
    then the raw tables' contract columns and the active-rows views. Returns the versions run."""
    con.execute(MIGRATIONS_DDL)
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    ran = []
    for step in MIGRATIONS:
        if step.version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            step.apply(con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [step.version, step.description, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        ran.append(step.version)
    _contract_columns(con)
    _active_views(con)
    return ran


def _contract_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A column the contract gained (an optional case-review column) exists in its raw table:
    it follows ``schemas/extracts.py`` rather than a numbered step (cheap, idempotent)."""
    have = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND database_name = current_database()"
        ).fetchall()
    }
    for spec in EXTRACTS:
        for c in spec.columns:
            if (spec.raw_table, c) not in have:
                con.execute(
                    f"ALTER TABLE {quote_ident(spec.raw_table)} "
                    f"ADD COLUMN IF NOT EXISTS {quote_ident(c)} VARCHAR"
                )


def _active_views(con: duckdb.DuckDBPyConnection) -> None:
    for spec in EXTRACTS:
        con.execute(
            f"CREATE OR REPLACE VIEW {quote_ident(lifecycle.active_view(spec.raw_table))} AS "
            f"SELECT * FROM {quote_ident(spec.raw_table)} WHERE file_id IN "
            "(SELECT file_id FROM ingested_files WHERE state = 'active')"
        )


def _states_by_name(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse from before the lifecycle: states and events by name, in file order."""
    rows = con.execute(
        "SELECT file_id, source_file, extract_type, content_sha256, size_bytes, ingested_at "
        "FROM ingested_files ORDER BY file_id"
    ).fetchall()
    con.execute("UPDATE ingested_files SET landed_seq = file_id, state = 'active'")
    seen: dict[str, str] = {}
    for file_id, name, extract_type, sha, size, ingested_at in rows:
        if name in seen:
            lifecycle.make_current(con, name, file_id, ingested_at)
        record_event(
            con,
            "replaced" if name in seen else "ingested",
            name,
            at=ingested_at,
            extract_type=extract_type,
            sha256=sha,
            previous_sha256=seen.get(name),
            size_bytes=size,
            ingested_at=ingested_at,
            file_id=file_id,
        )
        seen[name] = sha
