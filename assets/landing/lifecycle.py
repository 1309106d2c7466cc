"""File states of the landing lifecycle (CONTRACT.md "Landing lifecycle"), keyed by file NAME.

The active content of a name is its latest landed content unless retracted; earlier contents
are ``replaced``. Only rows of ``active`` files are seen downstream: through one view per raw
table (``active_raw_scr_versions``, ...). A state change marks the files on both sides for
re-validation and current-record rebuild, so the SCRs they hold are "touched".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from assets._shared.errors import PipelineError
from assets.landing.archive import append_manifest, ensure_events_table, record_event
from schemas.extracts import EXTRACTS

STATES = ("active", "replaced", "retracted")
EVENT_COUNTS = ("replaced", "restored", "removed", "retracted")


def active_view(raw_table: str) -> str:
    return f"active_{raw_table}"


def ensure_lifecycle(con: duckdb.DuckDBPyConnection) -> None:
    """State columns, the events table and the active-rows views (idempotent).

    A warehouse from before the lifecycle gets states by name: the latest file of each name
    is active, earlier ones replaced (and touched, so their rows stop counting)."""
    ensure_events_table(con)
    had_state = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'ingested_files' AND column_name = 'state'"
    ).fetchall()[0][0]
    for col, typ in (
        ("state", "VARCHAR DEFAULT 'active'"),
        ("landed_seq", "BIGINT"),
        ("removed_at", "TIMESTAMP"),
        ("state_changed_at", "TIMESTAMP"),
        ("state_reason", "VARCHAR"),
    ):
        con.execute(f"ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS {col} {typ}")
    if not had_state:
        _migrate(con)
    for spec in EXTRACTS:
        con.execute(
            f"CREATE OR REPLACE VIEW {active_view(spec.raw_table)} AS SELECT * FROM "
            f"{spec.raw_table} WHERE file_id IN "
            "(SELECT file_id FROM ingested_files WHERE state = 'active')"
        )


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT file_id, source_file, extract_type, content_sha256, size_bytes, ingested_at "
        "FROM ingested_files ORDER BY file_id"
    ).fetchall()
    con.execute("UPDATE ingested_files SET landed_seq = file_id, state = 'active'")
    seen: dict[str, str] = {}
    for file_id, name, extract_type, sha, size, ingested_at in rows:
        if name in seen:
            make_current(con, name, file_id, ingested_at)
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


def touch(con: duckdb.DuckDBPyConnection, file_ids: list[int]) -> None:
    """Re-validate these files and rebuild the current records of the SCRs they hold."""
    con.execute(
        "UPDATE ingested_files SET validated_rules = NULL, current_built = false "
        "WHERE list_contains(?, file_id)",
        [file_ids],
    )


def make_current(con: duckdb.DuckDBPyConnection, name: str, file_id: int, now) -> int | None:
    """``file_id`` becomes the active content of ``name``; the active one before it is replaced.

    Returns the file id it replaced (None if the name had no active file)."""
    prev = con.execute(
        "SELECT file_id FROM ingested_files WHERE source_file = ? AND state = 'active' "
        "AND file_id <> ?",
        [name, file_id],
    ).fetchall()
    con.execute(
        "UPDATE ingested_files SET state = 'replaced', state_changed_at = ? "
        "WHERE source_file = ? AND state = 'active' AND file_id <> ?",
        [now, name, file_id],
    )
    con.execute(
        "UPDATE ingested_files SET state = 'active', state_changed_at = ?, removed_at = NULL, "
        "landed_seq = (SELECT coalesce(max(landed_seq), 0) + 1 FROM ingested_files) "
        "WHERE file_id = ?",
        [now, file_id],
    )
    touch(con, [file_id, *(r[0] for r in prev)])
    return prev[0][0] if prev else None


def current_by_name(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    """name -> its current file (the latest landed content that is not replaced)."""
    rows = con.execute(
        "SELECT source_file, file_id, content_sha256, state, removed_at FROM ingested_files "
        "WHERE state <> 'replaced' "
        "QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY landed_seq DESC) = 1"
    ).fetchall()
    keys = ("file_id", "sha256", "state", "removed_at")
    return {r[0]: dict(zip(keys, r[1:], strict=True)) for r in rows}


def record_removals(
    con: duckdb.DuckDBPyConnection, present: set[str], now, run_id: str | None
) -> None:
    """One ``removed`` event per ingested name that left the landing dir (nothing else changes);
    a name that is back (same bytes) may be reported again if it leaves again."""
    for name, cur in current_by_name(con).items():
        if name in present:
            if cur["removed_at"] is not None:
                con.execute(
                    "UPDATE ingested_files SET removed_at = NULL WHERE file_id = ?",
                    [cur["file_id"]],
                )
            continue
        if cur["removed_at"] is not None:
            continue
        con.execute(
            "UPDATE ingested_files SET removed_at = ? WHERE file_id = ?", [now, cur["file_id"]]
        )
        _event_for_file(con, "removed", cur["file_id"], now, run_id)


def _event_for_file(con, event: str, file_id: int, now, run_id, **extra) -> str:
    name, extract_type, sha, size, ingested_at = con.execute(
        "SELECT source_file, extract_type, content_sha256, size_bytes, ingested_at "
        "FROM ingested_files WHERE file_id = ?",
        [file_id],
    ).fetchall()[0]
    return record_event(
        con,
        event,
        name,
        at=now,
        extract_type=extract_type,
        sha256=sha,
        size_bytes=size,
        ingested_at=ingested_at,
        file_id=file_id,
        run_id=run_id,
        **extra,
    )


def retract_file(
    con: duckdb.DuckDBPyConnection, name: str, reason: str, who: str | None, archive_dir: Path
) -> dict:
    """Withdraw the current file of ``name`` from every measure (it stays in the archive).

    The event carries no run id: the next ingest run claims it and reports it."""
    cur = current_by_name(con).get(name)
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
        con.execute(
            "UPDATE ingested_files SET state = 'retracted', state_changed_at = ?, "
            "state_reason = ? WHERE file_id = ?",
            [now, reason, cur["file_id"]],
        )
        touch(con, [cur["file_id"]])
        _event_for_file(con, "retracted", cur["file_id"], now, None, reason=reason, who=who)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    append_manifest(con, archive_dir)
    return {"file": name, "sha256": cur["sha256"], "at": now}


def restore_or_retract(con, name: str, sha: str, kind: str, now, reason=None, who=None) -> int:
    """Replay helper: the file (name, sha) becomes active again or is retracted."""
    file_id = con.execute(
        "SELECT file_id FROM ingested_files WHERE source_file = ? AND content_sha256 = ?",
        [name, sha],
    ).fetchall()[0][0]
    if kind == "restored":
        make_current(con, name, file_id, now)
    else:
        con.execute(
            "UPDATE ingested_files SET state = 'retracted', state_changed_at = ?, "
            "state_reason = ? WHERE file_id = ?",
            [now, reason, file_id],
        )
        touch(con, [file_id])
    return file_id


def events_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    cols = ("event", "source_file", "extract_type", "sha256", "previous_sha256", "reason", "at")
    rows = con.execute(
        'SELECT event, source_file, extract_type, sha256, previous_sha256, reason, "at" '
        "FROM landing_events WHERE run_id = ? ORDER BY seq",
        [run_id],
    ).fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _short(sha: str | None) -> str:
    return (sha or "?")[:8] + ".."


def event_note(ev: dict) -> str | None:
    """The one line the refresh prints for an event (``ingested`` is in the per-type count)."""
    name = ev["source_file"]
    if ev["event"] == "replaced":
        return f"replaced {name} (sha {_short(ev['previous_sha256'])} -> {_short(ev['sha256'])})"
    if ev["event"] == "restored":
        return (
            f"restored {name}: its earlier content landed again "
            f"(sha {_short(ev['previous_sha256'])} -> {_short(ev['sha256'])})"
        )
    if ev["event"] == "removed":
        return (
            f"removed {name} from the landing dir: nothing changes (its content stays in the "
            "archive and keeps counting)"
        )
    if ev["event"] == "retracted":
        return f"retracted {name} (sha {_short(ev['sha256'])}): {ev['reason']}"
    return None
