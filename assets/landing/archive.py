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

This module touches only the file system; the events' rows are ``events.py``'s, and the driver
(``ingest.sync_manifest``) moves events from one to the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.jsonl"  # one JSON object per event (fields: events.MANIFEST_FIELDS)


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


def _iso(value) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def append_to_manifest(archive_dir: Path, records: list[dict]) -> int:
    """Append ``records`` (events, in event order) to ``manifest.jsonl`` and fsync it.

    The caller flags them as written only after this returns (``sync_manifest`` in
    ``ingest.py``); a kill in between repeats lines, and readers keep the first of each id."""
    if not records:
        return 0
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for rec in records:
        rec = dict(rec)
        rec["at"], rec["ingested_at"] = _iso(rec["at"]), _iso(rec["ingested_at"])
        lines.append(json.dumps(rec, sort_keys=True) + "\n")
    with open(archive_dir / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write("".join(lines))
        fh.flush()
        os.fsync(fh.fileno())
    return len(records)


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
