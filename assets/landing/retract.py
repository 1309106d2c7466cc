"""Retract a file (``scr-pipeline retract``): withdraw the current content of a name from every
measure, as a landing driver: the state (``lifecycle.py``), the event (``events.py``), one
commit, then the archive's manifest (``ingest.sync_manifest``). The file stays in the archive.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from assets._shared.errors import PipelineError
from assets.landing import events, lifecycle
from assets.landing.ingest import sync_manifest


def retract_file(
    con: duckdb.DuckDBPyConnection, name: str, reason: str, who: str | None, archive_dir: Path
) -> dict:
    """Withdraw the current file of ``name`` from every measure (it stays in the archive).

    The event carries no run id: the next ingest run claims it and reports it."""
    cur = lifecycle.current_by_name(con).get(name)
    if cur is None:
        raise PipelineError(
            f"{name}: no ingested file has this name (names are listed in "
            "ingest_reconciliation.parquet); nothing was retracted"
        )
    if cur["state"] == "retracted":
        raise PipelineError(f"{name}: already retracted; nothing changed")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        lifecycle.retract(con, cur["file_id"], now, reason)
        events.record_file_event(
            con, "retracted", cur["file_id"], now, None, reason=reason, who=who
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    sync_manifest(con, archive_dir)
    return {"file": name, "sha256": cur["sha256"], "at": now}
