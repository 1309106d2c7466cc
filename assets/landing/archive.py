"""The archive: every ingested file, byte for byte, named by its sha256, plus an append-only
manifest of landing events. The warehouse (and so every output) can be rebuilt from it alone.

Layout (docs/REFERENCE.md, Configuration): ``<archive>/<sha256>.csv|.parquet`` and ``<archive>/manifest.jsonl``,
one JSON object per event (ingested, replaced, restored, removed, retracted).

Order of writes, so that a kill at any point leaves archive and warehouse consistent:
1. the file's bytes are copied to a temp name in the archive, fsynced, renamed to
   ``<sha256><suffix>`` (a copy that is already there is not made again);
2. the warehouse transaction commits the rows, the ``ingested_files`` row and the events
   (``landing_events.in_manifest = false``);
3. the events are appended to ``manifest.jsonl`` (fsynced), then flagged ``in_manifest``.
A kill before 2 leaves at most an unreferenced archive copy (harmless: content-addressed). A
kill between 2 and 3 leaves events only in the warehouse: every ingest starts by appending
events not yet in the manifest. A kill between the append and the flag repeats lines on the
next append; readers keep the first line of each ``event_id``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

MANIFEST = "manifest.jsonl"
EVENTS = ("ingested", "replaced", "restored", "removed", "retracted")
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

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS landing_events (
    event_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, event VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL, extract_type VARCHAR, sha256 VARCHAR, previous_sha256 VARCHAR,
    size_bytes BIGINT, "at" TIMESTAMP NOT NULL, ingested_at TIMESTAMP, reason VARCHAR,
    who VARCHAR, file_id INTEGER, run_id VARCHAR, in_manifest BOOLEAN NOT NULL DEFAULT false
)
"""


def archive_path(archive_dir: Path, sha256: str, suffix: str) -> Path:
    return Path(archive_dir) / f"{sha256}{suffix}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archive_copy(source: Path, archive_dir: Path, sha256: str) -> Path:
    """Copy ``source`` to ``<archive>/<sha256><suffix>`` (temp, fsync, rename) unless present.

    The copy is hashed as it is written: bytes that no longer match ``sha256`` (the file changed
    after it was scanned) are refused with ``ValueError`` and nothing is left behind."""
    archive_dir = Path(archive_dir)
    target = archive_path(archive_dir, sha256, source.suffix)
    if target.exists():
        return target
    archive_dir.mkdir(parents=True, exist_ok=True)
    tmp = archive_dir / f".{sha256}{source.suffix}.{os.getpid()}.tmp"
    h = hashlib.sha256()
    try:
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        if h.hexdigest() != sha256:
            raise ValueError(f"{source.name} changed while it was being archived")
        os.replace(tmp, target)
        _fsync_dir(archive_dir)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def ensure_events_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(EVENTS_DDL)


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
    con.execute(
        "INSERT INTO landing_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            event_id,
            seq,
            event,
            source_file,
            extract_type,
            sha256,
            previous_sha256,
            size_bytes,
            at,
            ingested_at,
            reason,
            who,
            file_id,
            run_id,
            in_manifest,
        ],
    )
    return event_id


def _iso(value) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def append_manifest(con: duckdb.DuckDBPyConnection, archive_dir: Path) -> int:
    """Append every event not yet in the manifest (in event order), fsync, then flag them.

    Called after each warehouse commit and at the start of every ingest (repairs a kill that
    fell between the commit and the append). Returns the number of lines written."""
    ensure_events_table(con)
    rows = con.execute(
        "SELECT event_id, event, source_file, extract_type, sha256, previous_sha256, size_bytes, "
        '"at", ingested_at, reason, who FROM landing_events WHERE NOT in_manifest ORDER BY seq'
    ).fetchall()
    if not rows:
        return 0
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for row in rows:
        rec = dict(zip(MANIFEST_FIELDS, row, strict=True))
        rec["at"], rec["ingested_at"] = _iso(rec["at"]), _iso(rec["ingested_at"])
        lines.append(json.dumps(rec, sort_keys=True) + "\n")
    with open(archive_dir / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())
    con.execute(
        "UPDATE landing_events SET in_manifest = true WHERE list_contains(?, event_id)",
        [[r[0] for r in rows]],
    )
    return len(rows)


def read_manifest(archive_dir: Path) -> list[dict]:
    """Manifest events in order, the first line of each ``event_id`` only; times as datetimes."""
    path = Path(archive_dir) / MANIFEST
    if not path.exists():
        return []
    seen: set[str] = set()
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec["event_id"] in seen:
            continue
        seen.add(rec["event_id"])
        for key in ("at", "ingested_at"):
            if rec.get(key):
                rec[key] = dt.datetime.fromisoformat(rec[key]).replace(tzinfo=None)
        events.append(rec)
    return events


@dataclass(frozen=True)
class ArchivedFile:
    name: str
    sha256: str
    path: Path
    ingested_at: dt.datetime
    extract_type: str


def _file_states(events: list[dict]) -> dict[tuple[str, str], dict]:
    """(name, sha) -> {'state', 'ingested_at', 'extract_type'} after replaying ``events``."""
    files: dict[tuple[str, str], dict] = {}
    for ev in events:
        key = (ev["source_file"], ev["sha256"])
        kind = ev["event"]
        if kind in ("ingested", "replaced", "restored"):
            for other_key, other in files.items():
                if other_key[0] == key[0] and other["state"] == "active" and other_key != key:
                    other["state"] = "replaced"
            if kind == "restored":
                files[key]["state"] = "active"
            else:
                files[key] = {
                    "state": "active",
                    "ingested_at": ev["ingested_at"],
                    "extract_type": ev["extract_type"],
                }
        elif kind == "retracted":
            files[key]["state"] = "retracted"
    return files


def active_archived_files(archive_dir: Path) -> list[ArchivedFile]:
    """Files active by the manifest (latest content per name, minus retractions), name order."""
    files = _file_states(read_manifest(archive_dir))
    out = []
    for (name, sha), f in sorted(files.items()):
        if f["state"] == "active":
            suffix = Path(name).suffix
            out.append(
                ArchivedFile(
                    name,
                    sha,
                    archive_path(archive_dir, sha, suffix),
                    f["ingested_at"],
                    f["extract_type"],
                )
            )
    return out
