"""File states of the landing lifecycle (CONTRACT.md "Landing lifecycle"), keyed by file NAME.

The active content of a name is its latest landed content unless retracted; earlier contents
are ``replaced``. Only rows of ``active`` files are seen downstream: through one view per raw
table (``active_raw_scr_versions``, ...). A state change marks the files on both sides for
re-validation and current-record rebuild, so the SCRs they hold are "touched".

Only states: the columns and views are made in ``tables.py``, the events recorded and the
archive written by the driver (``ingest.py``, ``retract.py``), which calls this module.
"""

from __future__ import annotations

import duckdb

STATES = ("active", "replaced", "retracted")


def active_view(raw_table: str) -> str:
    return f"active_{raw_table}"


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


def mark_removals(con: duckdb.DuckDBPyConnection, present: set[str], now) -> list[int]:
    """Mark each ingested name that left the landing dir as removed (nothing else changes);
    returns their file ids, for one ``removed`` event each. A name that is back (same bytes) is
    unmarked, and may be reported again if it leaves again."""
    removed = []
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
        removed.append(cur["file_id"])
    return removed


def retract(con: duckdb.DuckDBPyConnection, file_id: int, now, reason: str | None) -> None:
    """The file is withdrawn from every measure (it stays in the archive)."""
    con.execute(
        "UPDATE ingested_files SET state = 'retracted', state_changed_at = ?, "
        "state_reason = ? WHERE file_id = ?",
        [now, reason, file_id],
    )
    touch(con, [file_id])


def mark_removed(con: duckdb.DuckDBPyConnection, name: str, sha: str, at) -> None:
    """Replay of a ``removed`` event: the file (name, sha) left the landing dir at ``at``."""
    con.execute(
        "UPDATE ingested_files SET removed_at = ? WHERE source_file = ? AND content_sha256 = ?",
        [at, name, sha],
    )


def restore_or_retract(con, name: str, sha: str, kind: str, now, reason=None) -> int:
    """Replay helper: the file (name, sha) becomes active again or is retracted."""
    file_id = con.execute(
        "SELECT file_id FROM ingested_files WHERE source_file = ? AND content_sha256 = ?",
        [name, sha],
    ).fetchall()[0][0]
    if kind == "restored":
        make_current(con, name, file_id, now)
    else:
        retract(con, file_id, now, reason)
    return file_id
