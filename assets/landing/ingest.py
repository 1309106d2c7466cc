"""Ingest: the one module that tells a landing file's story, top to bottom.

For each new file, in order: archive its bytes (``archive.py``), read its rows into the raw
table (``raw_rows.py``), reconcile them with a second reader's count (``csv_records.py``),
record the file (``raw_rows.record_file``), make it the current content of its name
(``lifecycle.py``) and record the event (``events.py``). Those modules are called from here and
never call one another (import-linter holds it). After the warehouse commit the new events go
to the archive's manifest (``sync_manifest``).

A file is ingested once (by content hash). All new files go in one transaction: if any file
cannot be read as an extract, the refresh stops naming that file and the warehouse is unchanged.
"""

import datetime as dt
from pathlib import Path

import duckdb

from assets._shared.errors import BadExtractError, PipelineError
from assets._shared.settings import path_from_env
from assets.landing import events, lifecycle, raw_rows
from assets.landing.archive import append_to_manifest, archive_copy, archive_path
from assets.landing.csv_records import check_rows_read
from assets.landing.scan import LandingFile, LandingScan, scan_landing
from assets.landing.tables import ensure_tables, raw_table_ddl
from schemas.extracts import EXTRACTS, spec_for

__all__ = ["ensure_tables", "ingest_new_files", "raw_table_ddl", "replay_events"]

_CHANGED = (
    "changed while it was being read",
    "Wait until it is copied completely, then run `scr-pipeline refresh` again.",
)


def ingest_new_files(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    run_id: str,
    log=None,
    archive: Path | None = None,
    settle_seconds: float = 0,
) -> dict[str, dict]:
    """Apply the landing dir to the warehouse, atomically: new files are archived then ingested,
    replaced/restored/removed names recorded as events. Returns per-type summaries."""
    archive_dir = Path(archive) if archive else path_from_env("SCR_ARCHIVE_DIR")
    ensure_tables(con)
    sync_manifest(con, archive_dir)  # events a killed refresh committed but did not append
    known = {
        (name, size, mtime): sha
        for name, size, mtime, sha in con.execute(
            "SELECT source_file, size_bytes, mtime_ns, content_sha256 FROM ingested_files "
            "WHERE mtime_ns IS NOT NULL"
        ).fetchall()
    }
    scan = scan_landing(landing, known, settle_seconds)
    summary = _with_fallback(
        con, lambda fast: _ingest_all(con, scan, run_id, log, archive_dir, fast), log
    )
    sync_manifest(con, archive_dir)
    run_events = events.events_of_run(con, run_id)
    for spec in EXTRACTS:
        summary[spec.name]["events"] = [e for e in run_events if e["extract_type"] == spec.name]
    return summary


def sync_manifest(con: duckdb.DuckDBPyConnection, archive_dir: Path) -> int:
    """Append the events not yet in the archive's manifest, then flag them (after a commit,
    and first thing in every ingest: repairs a kill between the commit and the append)."""
    pending = events.not_in_manifest(con)
    written = append_to_manifest(archive_dir, pending)
    if pending:
        events.mark_in_manifest(con, [e["event_id"] for e in pending])
    return written


def _with_fallback(con: duckdb.DuckDBPyConnection, work, log) -> dict:
    """``work(duckdb_csv)`` with DuckDB's CSV reader; if it refuses a file, the transaction is
    rolled back and everything is read again through pyarrow, which accepts or names the problem
    exactly as it always has."""
    try:
        return work(True)
    except raw_rows.DuckDBReadFailed as err:
        con.execute("SET preserve_insertion_order = false")
        if log:
            log.info(f"DuckDB's CSV reader refused a file ({str(err)[:200]}); reading with pyarrow")
        return work(False)


def _new_summary() -> dict[str, dict]:
    keys = ("files", "skipped", "duplicates", "unsettled")
    return {s.name: {"rows": 0} | {k: [] for k in keys} for s in EXTRACTS}


def _ingest_all(
    con: duckdb.DuckDBPyConnection,
    scan: LandingScan,
    run_id: str,
    log,
    archive_dir: Path,
    duckdb_csv: bool,
) -> dict[str, dict]:
    """Every scanned file, one story each, then the names that left; one transaction."""
    current = lifecycle.current_by_name(con)
    earlier = {
        (name, sha): (file_id, state)
        for file_id, name, sha, state in con.execute(
            "SELECT file_id, source_file, content_sha256, state FROM ingested_files"
        ).fetchall()
    }
    by_sha = {sha: name for (name, sha) in earlier}
    [(next_id,)] = con.execute(
        "SELECT coalesce(max(file_id), 0) + 1 FROM ingested_files"
    ).fetchall()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    summary = _new_summary()
    for name in scan.unsettled:
        summary[spec_for(name).name]["unsettled"].append(name)
    con.execute("BEGIN TRANSACTION")
    try:
        for f in scan.files:
            s = summary[f.spec.name]
            cur = current.get(f.name)
            prior = earlier.get((f.name, f.sha256))
            previous = cur["sha256"] if cur else None
            if (cur and cur["sha256"] == f.sha256) or (prior and prior[1] == "retracted"):
                s["skipped"].append(f.name)  # unchanged, or content that stays retracted
                if not archive_path(archive_dir, f.sha256, f.path.suffix).exists():
                    _archive(f, archive_dir)  # ingested before the archive existed
            elif prior is not None:  # the earlier bytes of this name landed again
                lifecycle.make_current(con, f.name, prior[0], now)
                events.record_file_event(
                    con, "restored", prior[0], now, run_id, previous_sha256=previous
                )
            elif f.sha256 in by_sha:
                s["duplicates"].append((f.name, by_sha[f.sha256]))
            else:
                event = "replaced" if cur else "ingested"
                n = _land(con, f, next_id, now, run_id, archive_dir, duckdb_csv)
                lifecycle.make_current(con, f.name, next_id, now)
                events.record_file_event(con, event, next_id, now, run_id, previous_sha256=previous)
                earlier[(f.name, f.sha256)] = (next_id, "active")
                by_sha[f.sha256] = f.name
                next_id += 1
                s["files"].append((f.name, n))
                s["rows"] += n
                if log:
                    log.info(f"ingested {f.name}: {n:,} rows ({f.spec.name})")
        for file_id in lifecycle.mark_removals(con, scan.present, now):
            events.record_file_event(con, "removed", file_id, now, run_id)
        events.claim_unowned(con, run_id)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return summary


def _land(con, f: LandingFile, file_id: int, now, run_id, archive_dir, duckdb_csv) -> int:
    """Archive first, then read and record; a file that changed meanwhile refuses the refresh."""
    _archive(f, archive_dir)
    try:
        n = _read_and_record(con, f, file_id, now, run_id, duckdb_csv)
    except duckdb.Error as err:
        msg = str(err).splitlines()[0][:300]
        raise BadExtractError(f.name, f"could not be stored ({msg})") from None
    st = f.path.stat()
    if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns):
        raise BadExtractError(f.name, *_CHANGED)
    return n


def _archive(f: LandingFile, archive_dir: Path) -> None:
    try:
        archive_copy(f.path, archive_dir, f.sha256)
    except ValueError:
        raise BadExtractError(f.name, *_CHANGED) from None


def _read_and_record(con, f: LandingFile, file_id: int, now, run_id, duckdb_csv: bool) -> int:
    """Read the rows, reconcile them with the second reader's count, record the file."""
    rows, columns, records = raw_rows.read_rows(con, f, file_id, now, duckdb_csv)
    check_rows_read(f.name, rows, records)
    raw_rows.record_file(con, f, file_id, rows, columns, now, run_id, records)
    return rows


def replay_events(
    con: duckdb.DuckDBPyConnection, archive_dir: Path, manifest: list[dict], run_id: str
) -> dict:
    """Apply manifest events to an empty warehouse (see ``assets.landing.rebuild.ingest_from_archive``)."""
    ensure_tables(con)
    if con.execute("SELECT count(*) FROM ingested_files").fetchall()[0][0]:
        raise PipelineError("ingest_from_archive needs an empty warehouse; this one has files")
    return _with_fallback(con, lambda fast: _replay(con, archive_dir, manifest, run_id, fast), None)


def _replay(con, archive_dir: Path, manifest: list[dict], run_id: str, duckdb_csv: bool) -> dict:
    """The manifest's story again: each event's file step, then the same event row."""
    counts = dict.fromkeys(("files", "rows", "events"), 0)
    next_id = 1
    con.execute("BEGIN TRANSACTION")
    try:
        for ev in manifest:
            name, sha, kind = ev["source_file"], ev["sha256"], ev["event"]
            file_id = None
            if kind in ("ingested", "replaced"):
                path = archive_path(archive_dir, sha, Path(name).suffix)
                spec = spec_for(name)
                f = LandingFile(path, spec, sha, int(ev["size_bytes"]), None, source_name=name)
                counts["rows"] += _read_and_record(
                    con, f, next_id, ev["ingested_at"], run_id, duckdb_csv
                )
                lifecycle.make_current(con, name, next_id, ev["at"])
                file_id, next_id = next_id, next_id + 1
                counts["files"] += 1
            elif kind in ("restored", "retracted"):
                file_id = lifecycle.restore_or_retract(
                    con, name, sha, kind, ev["at"], ev.get("reason")
                )
            elif kind == "removed":
                lifecycle.mark_removed(con, name, sha, ev["at"])
            fields = ("extract_type", "previous_sha256", "size_bytes", "ingested_at", "reason")
            events.record_event(
                con,
                kind,
                name,
                at=ev["at"],
                sha256=sha,
                who=ev.get("who"),
                file_id=file_id,
                run_id=run_id,
                event_id=ev["event_id"],
                in_manifest=True,
                **{k: ev.get(k) for k in fields},
            )
            counts["events"] += 1
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
