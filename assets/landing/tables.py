"""The landing tables: ``ingested_files``, ``landing_events``, one raw table per extract type and
the views of active rows, made and upgraded by the landing domain's numbered migrations.

Why: every landing step writes these tables and may assume they exist once the driver called
``ensure_tables``. Their DDL is the landing steps of ``assets/_shared/migrations.py`` (the one
place for every kept table's DDL); here are what follows from them: the data step of a
warehouse from before the lifecycle (states by name) and the views of active rows.
"""

from __future__ import annotations

import duckdb

from assets._shared.migrations import LANDING, contract_columns, migrate, raw_table_ddl
from assets._shared.sql import quote_ident
from assets.landing import lifecycle
from assets.landing.events import record_event
from schemas.extracts import EXTRACTS

__all__ = ["ensure_tables", "raw_table_ddl"]

LIFECYCLE_STEP = 4  # the landing step that brought file states and landing_events


def ensure_tables(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Run the landing migrations this warehouse lacks (each in its own transaction with its
    record); then the raw tables' contract columns and the active-rows views. Returns the
    versions run."""
    ran = migrate(con, LANDING, then={LIFECYCLE_STEP: _states_where_missing})
    contract_columns(con)
    _active_views(con)
    return ran


def _states_where_missing(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse from before the lifecycle has files and no ``landed_seq`` (every landing
    since sets it): states and events by name."""
    if con.execute("SELECT count(*) FROM ingested_files WHERE landed_seq IS NULL").fetchall()[0][0]:
        _states_by_name(con)


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
