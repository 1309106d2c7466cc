"""The landing tables: ``ingested_files``, ``landing_events``, one raw table per extract type and
the views of active rows, made (and brought up to date) in one place.

Why one place: every landing step writes these tables; each may assume they exist once the
driver called ``ensure_tables``. A warehouse made by older code gets the columns added since and,
if it predates the lifecycle, file states by name (the latest file of each name is active,
earlier ones replaced and touched, so their rows stop counting).
"""

from __future__ import annotations

import duckdb

from assets._shared.sql import quote_ident
from assets.landing import lifecycle
from assets.landing.events import record_event
from schemas.extracts import EXTRACTS, ExtractSpec

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

# columns ingested_files gained after it was first made, in the order they came
FILES_ADDED_COLUMNS = (
    ("mtime_ns", "BIGINT"),
    # the file's records by a second reader (assets/landing/csv_records.py); NULL for .xlsx
    ("records_in_file", "BIGINT"),
)
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


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every landing table, column and view (idempotent)."""
    con.execute(FILES_DDL)
    for col, typ in FILES_ADDED_COLUMNS:
        con.execute(f"ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS {col} {typ}")
    for spec in EXTRACTS:
        con.execute(raw_table_ddl(spec))
        for c in spec.columns:  # an optional column added to the contract later (case reviews)
            con.execute(
                f"ALTER TABLE {quote_ident(spec.raw_table)} "
                f"ADD COLUMN IF NOT EXISTS {quote_ident(c)} VARCHAR"
            )
    con.execute(EVENTS_DDL)
    had_state = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'ingested_files' AND column_name = 'state'"
    ).fetchall()[0][0]
    for col, typ in LIFECYCLE_COLUMNS:
        con.execute(f"ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS {col} {typ}")
    if not had_state:
        _states_by_name(con)
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
