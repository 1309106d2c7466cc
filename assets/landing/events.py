"""Landing events in the warehouse: one ``landing_events`` row per ingested, replaced, restored,
removed or retracted file, and which of them the archive's manifest holds already.

Why its own module: the file states (``lifecycle.py``), the archive (``archive.py``) and the
events are three steps a landing driver (``ingest.py``, ``retract.py``) calls in order; none of
them calls another. The table itself is made in ``tables.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb

EVENTS = ("ingested", "replaced", "restored", "removed", "retracted")
EVENT_COUNTS = ("replaced", "restored", "removed", "retracted")
MANIFEST_FIELDS = (
    "event_id",
    "event",
    "source_file",
    "extract_type",
    "sha256",
    "previous_sha256",
    "size_bytes",
    "at",
    "ingested_at",
    "reason",
    "who",
)

_INSERT = """
INSERT INTO landing_events (event_id, seq, event, source_file, extract_type, sha256,
    previous_sha256, size_bytes, "at", ingested_at, reason, who, file_id, run_id, in_manifest)
VALUES ($event_id, $seq, $event, $source_file, $extract_type, $sha256, $previous_sha256,
    $size_bytes, $at, $ingested_at, $reason, $who, $file_id, $run_id, $in_manifest)
"""


def record_event(
    con: duckdb.DuckDBPyConnection,
    event: str,
    source_file: str,
    *,
    at: dt.datetime,
    extract_type: str | None = None,
    sha256: str | None = None,
    previous_sha256: str | None = None,
    size_bytes: int | None = None,
    ingested_at: dt.datetime | None = None,
    reason: str | None = None,
    who: str | None = None,
    file_id: int | None = None,
    run_id: str | None = None,
    event_id: str | None = None,
    in_manifest: bool = False,
) -> str:
    """Insert one landing event (inside the caller's transaction); returns its id."""
    assert event in EVENTS, event
    seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM landing_events").fetchall()[0][0]
    event_id = (
        event_id
        or hashlib.sha256(
            f"{seq}|{event}|{source_file}|{sha256}|{at.isoformat()}".encode()
        ).hexdigest()[:20]
    )
    row = {
        "event_id": event_id,
        "seq": seq,
        "event": event,
        "source_file": source_file,
        "extract_type": extract_type,
        "sha256": sha256,
        "previous_sha256": previous_sha256,
        "size_bytes": size_bytes,
        "at": at,
        "ingested_at": ingested_at,
        "reason": reason,
        "who": who,
        "file_id": file_id,
        "run_id": run_id,
        "in_manifest": in_manifest,
    }
    con.execute(_INSERT, row)
    return event_id


def record_file_event(
    con: duckdb.DuckDBPyConnection, event: str, file_id: int, at, run_id, **extra
) -> str:
    """An event about an ingested file, its name, type, hash and size read from its row."""
    name, extract_type, sha, size, ingested_at = con.execute(
        "SELECT source_file, extract_type, content_sha256, size_bytes, ingested_at "
        "FROM ingested_files WHERE file_id = ?",
        [file_id],
    ).fetchall()[0]
    fields = {"extract_type": extract_type, "sha256": sha, "size_bytes": size} | extra
    return record_event(
        con, event, name, at=at, ingested_at=ingested_at, file_id=file_id, run_id=run_id, **fields
    )


def claim_unowned(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Events recorded outside a run (a retraction) are reported by the next ingest run."""
    con.execute("UPDATE landing_events SET run_id = ? WHERE run_id IS NULL", [run_id])


def not_in_manifest(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Events not yet appended to the archive's manifest, in event order, as manifest records."""
    rows = con.execute(
        "SELECT event_id, event, source_file, extract_type, sha256, previous_sha256, size_bytes, "
        '"at", ingested_at, reason, who FROM landing_events WHERE NOT in_manifest ORDER BY seq'
    ).fetchall()
    return [dict(zip(MANIFEST_FIELDS, row, strict=True)) for row in rows]


def mark_in_manifest(con: duckdb.DuckDBPyConnection, event_ids: list[str]) -> None:
    con.execute(
        "UPDATE landing_events SET in_manifest = true WHERE list_contains(?, event_id)",
        [event_ids],
    )


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
