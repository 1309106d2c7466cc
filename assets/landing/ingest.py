"""Ingest: the only stage that reads landing files. Every row of every new extract goes into a
raw table with its file, row number, content hash and ingest time; nothing is parsed or dropped.

A file is ingested once (by content hash). All new files go in one transaction: if any file
cannot be read as an extract, the refresh stops naming that file and the warehouse is unchanged.
"""

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa

from assets._shared.errors import BadExtractError, PipelineError
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import FilesResource, WarehouseResource
from assets._shared.settings import path_from_env
from assets._shared.sql import quote_ident
from assets.landing import lifecycle
from assets.landing.archive import append_manifest, archive_copy, archive_path, record_event
from assets.landing.csv_records import check_rows_read, duckdb_max_line_size, records_in_file
from assets.landing.readers import contract_header, csv_columns, read_batches, record_header_renames
from assets.landing.scan import LandingFile, LandingScan, glob_escaped, scan_landing
from schemas.extracts import EXTRACTS, ExtractSpec, spec_for

FILES_DDL = """
CREATE TABLE IF NOT EXISTS ingested_files (
    file_id INTEGER PRIMARY KEY, extract_type VARCHAR NOT NULL, source_file VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL, size_bytes BIGINT, rows_read BIGINT, extra_columns VARCHAR[],
    ingested_at TIMESTAMP NOT NULL, run_id VARCHAR,
    validated_rules VARCHAR, current_built BOOLEAN DEFAULT false
)
"""


def raw_table_ddl(spec: ExtractSpec) -> str:
    cols = ", ".join(f"{quote_ident(c)} VARCHAR" for c in spec.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(spec.raw_table)} (file_id INTEGER NOT NULL, "
        f"source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, content_sha256 VARCHAR, "
        f"ingested_at TIMESTAMP, {cols}, extra JSON)"
    )


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(FILES_DDL)
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS mtime_ns BIGINT")
    # the file's records by a second reader (assets/landing/csv_records.py); NULL for .xlsx
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS records_in_file BIGINT")
    for spec in EXTRACTS:
        con.execute(raw_table_ddl(spec))
        for c in spec.columns:  # an optional column added to the contract later (case reviews)
            con.execute(
                f"ALTER TABLE {quote_ident(spec.raw_table)} "
                f"ADD COLUMN IF NOT EXISTS {quote_ident(c)} VARCHAR"
            )
    lifecycle.ensure_lifecycle(con)


# A CSV read by DuckDB's parallel reader: the same columns and row numbers as a batch.
_CSV_SOURCE = (
    "(SELECT row_number() OVER () AS __row, {values} FROM read_csv($path, header = true, "
    "auto_detect = false, columns = $columns, delim = ',', quote = '\"', escape = '\"', "
    "strict_mode = true, null_padding = false, max_line_size = $max_line_size))"
)


def _insert_sql(
    spec: ExtractSpec, present: dict[str, str], extra: list[str], source: str = "__batch"
) -> str:
    """Rows of ``source`` (a registered batch, or ``_CSV_SOURCE``) into the raw table.

    ``present``: contract column -> the file's header for it (``contract_header``). Binds
    $file_id, $source_file, $sha256, $ingested_at (and the source's own parameters)."""
    q = quote_ident
    cols = [f"CAST({q(present[c])} AS VARCHAR)" if c in present else "NULL" for c in spec.columns]
    extra_sql = (
        "to_json(struct_pack("
        + ", ".join(f"{q(c)} := CAST({q(c)} AS VARCHAR)" for c in extra)
        + "))"
        if extra
        else "NULL"
    )
    return (
        f"INSERT INTO {q(spec.raw_table)} (file_id, source_file, source_row, content_sha256, "
        f"ingested_at, {', '.join(map(q, spec.columns))}, extra) "  # by name: added columns last
        f"SELECT $file_id, $source_file, __row, $sha256, $ingested_at, {', '.join(cols)}, "
        f"{extra_sql} FROM {source}"
    )


def _row_params(f: LandingFile, file_id: int, now: dt.datetime) -> dict:
    return {"file_id": file_id, "source_file": f.name, "sha256": f.sha256, "ingested_at": now}


class _DuckDBReadFailed(Exception):
    """DuckDB's CSV reader refused a file; it is read again the slow way for the message."""


def _copy_csv_with_duckdb(
    con: duckdb.DuckDBPyConnection, f: LandingFile, file_id: int, now: dt.datetime
) -> tuple[int, list[str]]:
    """Copy a CSV with DuckDB's parallel reader: at 1M rows 1.5 s CPU instead of 3.1 s through
    pyarrow batches. Same rows, values and row numbers: empty fields are '' (as pyarrow reads
    them), rows are numbered in file order (the CSV reader keeps it, row_number() OVER ()
    counts it). Strict RFC 4180: anything DuckDB refuses raises ``_DuckDBReadFailed``."""
    columns = csv_columns(f.path, f.spec)  # header problems: the same BadExtractError
    mapping = contract_header(f.name, columns, f.spec)
    extra = [c for c in columns if c not in mapping.values()]
    values = ", ".join(f"coalesce({quote_ident(c)}, '') AS {quote_ident(c)}" for c in columns)
    sql = _insert_sql(f.spec, mapping, extra, _CSV_SOURCE.format(values=values))
    con.execute("SET preserve_insertion_order = true")
    try:
        rows = con.execute(
            sql,
            _row_params(f, file_id, now)
            | {
                "path": glob_escaped(str(f.path)),
                "columns": dict.fromkeys(columns, "VARCHAR"),
                "max_line_size": duckdb_max_line_size(),
            },
        ).fetchall()[0][0]
    except duckdb.Error as err:  # the transaction is aborted now: the caller rolls back
        raise _DuckDBReadFailed(str(err)) from None
    con.execute("SET preserve_insertion_order = false")
    return int(rows), columns


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    f: LandingFile,
    file_id: int,
    now: dt.datetime,
    run_id: str,
    duckdb_csv: bool = False,
) -> int:
    """Copy every row of one file into its raw table; returns the number of rows read."""
    with ThreadPoolExecutor(1) as pool:  # the second reader counts meanwhile (DuckDB and
        # pyarrow release the GIL while they read): about 1.3 s per million rows, overlapped
        counting = pool.submit(records_in_file, f.path, f.name, f.spec, f.sha256)
        try:
            rows, columns = _read_rows(con, f, file_id, now, duckdb_csv)
        except BaseException:
            counting.result()  # a file the count refuses: its message (row, truncation) first
            raise
        records = counting.result()
    _record_file(con, f, file_id, rows, columns, now, run_id, records)
    return rows


def _read_rows(con, f: LandingFile, file_id: int, now, duckdb_csv: bool) -> tuple[int, list[str]]:
    """Copy the file's rows into its raw table; (rows read, the file's header)."""
    if duckdb_csv and f.path.suffix == ".csv":
        return _copy_csv_with_duckdb(con, f, file_id, now)
    rows = 0
    sql = None
    columns: list[str] = []
    for columns, batch in read_batches(f.path, f.spec):
        if sql is None:
            mapping = contract_header(f.name, columns, f.spec)
            sql = _insert_sql(f.spec, mapping, [c for c in columns if c not in mapping.values()])
        if "__row" not in batch.schema.names:  # an .xlsx batch carries its sheet rows
            batch = batch.append_column(
                "__row", pa.array(range(rows + 1, rows + batch.num_rows + 1), pa.int64())
            )
        con.register("__batch", batch)
        con.execute(sql, _row_params(f, file_id, now))
        con.unregister("__batch")
        rows += batch.num_rows
    return rows, columns


def _record_file(con, f: LandingFile, file_id: int, rows, columns, now, run_id, records) -> None:
    """Record the file, once its rows equal the independent count of its records."""
    check_rows_read(f.name, rows, records)
    mapping = contract_header(f.name, columns, f.spec) if columns else {}
    extra = [c for c in columns if c not in mapping.values()]
    record_header_renames(con, file_id, mapping, columns)
    con.execute(
        "INSERT INTO ingested_files (file_id, extract_type, source_file, content_sha256, size_bytes,"
        " rows_read, extra_columns, ingested_at, run_id, mtime_ns, state, records_in_file) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
        [file_id, f.spec.name, f.name, f.sha256, f.size, rows, extra, now, run_id, f.mtime_ns,
         records],
    )  # fmt: skip


def _with_fallback(con: duckdb.DuckDBPyConnection, work, log) -> dict:
    """``work(duckdb_csv)`` with DuckDB's CSV reader; if it refuses a file, the transaction is
    rolled back and everything is read again through pyarrow, which accepts or names the problem
    exactly as it always has."""
    try:
        return work(True)
    except _DuckDBReadFailed as err:
        con.execute("SET preserve_insertion_order = false")
        if log:
            log.info(f"DuckDB's CSV reader refused a file ({str(err)[:200]}); reading with pyarrow")
        return work(False)


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
    archive = Path(archive) if archive else path_from_env("SCR_ARCHIVE_DIR")
    ensure_tables(con)
    append_manifest(con, archive)  # events a killed refresh committed but did not append
    known = {
        (name, size, mtime): sha
        for name, size, mtime, sha in con.execute(
            "SELECT source_file, size_bytes, mtime_ns, content_sha256 FROM ingested_files "
            "WHERE mtime_ns IS NOT NULL"
        ).fetchall()
    }
    scan = scan_landing(landing, known, settle_seconds)
    summary = _with_fallback(
        con, lambda fast: _ingest_all(con, scan, run_id, log, archive, fast), log
    )
    append_manifest(con, archive)
    events = lifecycle.events_of_run(con, run_id)
    for spec in EXTRACTS:
        summary[spec.name]["events"] = [e for e in events if e["extract_type"] == spec.name]
    return summary


def _new_summary() -> dict[str, dict]:
    keys = ("files", "skipped", "duplicates", "unsettled")
    return {s.name: {"rows": 0} | {k: [] for k in keys} for s in EXTRACTS}


def _ingest_all(
    con: duckdb.DuckDBPyConnection,
    scan: LandingScan,
    run_id: str,
    log,
    archive: Path,
    duckdb_csv: bool,
) -> dict[str, dict]:
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
            if (cur and cur["sha256"] == f.sha256) or (prior and prior[1] == "retracted"):
                s["skipped"].append(f.name)  # unchanged, or content that stays retracted
                _archive_if_missing(f, archive)
            elif prior is not None:  # the earlier bytes of this name landed again
                lifecycle.make_current(con, f.name, prior[0], now)
                _file_event(con, "restored", f, prior[0], now, run_id, cur)
            elif f.sha256 in by_sha:
                s["duplicates"].append((f.name, by_sha[f.sha256]))
            else:
                n = _ingest_landed(con, f, next_id, now, run_id, archive, duckdb_csv)
                lifecycle.make_current(con, f.name, next_id, now)
                _file_event(con, "replaced" if cur else "ingested", f, next_id, now, run_id, cur)
                earlier[(f.name, f.sha256)] = (next_id, "active")
                by_sha[f.sha256] = f.name
                next_id += 1
                s["files"].append((f.name, n))
                s["rows"] += n
                if log:
                    log.info(f"ingested {f.name}: {n:,} rows ({f.spec.name})")
        lifecycle.record_removals(con, scan.present, now, run_id)
        con.execute("UPDATE landing_events SET run_id = ? WHERE run_id IS NULL", [run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return summary


def _archive_if_missing(f: LandingFile, archive: Path) -> None:
    """Files ingested before the archive existed are archived when seen unchanged in landing."""
    if not archive_path(archive, f.sha256, f.path.suffix).exists():
        _archive(f, archive)


def _archive(f: LandingFile, archive: Path) -> None:
    try:
        archive_copy(f.path, archive, f.sha256)
    except ValueError:
        raise BadExtractError(
            f.name,
            "changed while it was being read",
            "Wait until it is copied completely, then run `scr-pipeline refresh` again.",
        ) from None


def _ingest_landed(con, f: LandingFile, file_id: int, now, run_id, archive, duckdb_csv) -> int:
    """Archive first, then read the rows; a file that changed meanwhile refuses the refresh."""
    _archive(f, archive)
    try:
        n = ingest_file(con, f, file_id, now, run_id, duckdb_csv)
    except duckdb.Error as err:
        msg = str(err).splitlines()[0][:300]
        raise BadExtractError(f.name, f"could not be stored ({msg})") from None
    st = f.path.stat()
    if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns):
        raise BadExtractError(
            f.name,
            "changed while it was being read",
            "Wait until it is copied completely, then run `scr-pipeline refresh` again.",
        )
    return n


def _file_event(con, event: str, f: LandingFile, file_id: int, now, run_id, cur) -> None:
    ingested_at = con.execute(
        "SELECT ingested_at FROM ingested_files WHERE file_id = ?", [file_id]
    ).fetchall()[0][0]
    record_event(
        con,
        event,
        f.name,
        at=now,
        extract_type=f.spec.name,
        sha256=f.sha256,
        previous_sha256=cur["sha256"] if cur else None,
        size_bytes=f.size,
        ingested_at=ingested_at,
        file_id=file_id,
        run_id=run_id,
    )


def replay_events(
    con: duckdb.DuckDBPyConnection, archive: Path, events: list[dict], run_id: str
) -> dict:
    """Apply manifest events to an empty warehouse (see ``assets.landing.rebuild.ingest_from_archive``)."""
    ensure_tables(con)
    if con.execute("SELECT count(*) FROM ingested_files").fetchall()[0][0]:
        raise PipelineError("ingest_from_archive needs an empty warehouse; this one has files")
    return _with_fallback(con, lambda fast: _replay(con, archive, events, run_id, fast), None)


def _replay(con, archive: Path, events: list[dict], run_id: str, duckdb_csv: bool) -> dict:
    counts = dict.fromkeys(("files", "rows", "events"), 0)
    next_id = 1
    con.execute("BEGIN TRANSACTION")
    try:
        for ev in events:
            name, sha, kind = ev["source_file"], ev["sha256"], ev["event"]
            file_id = None
            if kind in ("ingested", "replaced"):
                path = archive_path(archive, sha, Path(name).suffix)
                spec = spec_for(name)
                f = LandingFile(path, spec, sha, int(ev["size_bytes"]), None, source_name=name)
                counts["rows"] += ingest_file(
                    con, f, next_id, ev["ingested_at"], run_id, duckdb_csv
                )
                lifecycle.make_current(con, name, next_id, ev["at"])
                file_id, next_id = next_id, next_id + 1
                counts["files"] += 1
            elif kind in ("restored", "retracted"):
                file_id = lifecycle.restore_or_retract(
                    con, name, sha, kind, ev["at"], ev.get("reason"), ev.get("who")
                )
            elif kind == "removed":
                con.execute(
                    "UPDATE ingested_files SET removed_at = ? "
                    "WHERE source_file = ? AND content_sha256 = ?",
                    [ev["at"], name, sha],
                )
            fields = ("extract_type", "previous_sha256", "size_bytes", "ingested_at", "reason")
            record_event(
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


def _outputs() -> Iterator[dg.AssetSpec]:
    for spec in EXTRACTS:
        yield dg.AssetSpec(
            spec.raw_table,
            description=f"Every row of every {spec.prefix}* extract, as read, with provenance. "
            f"Downstream reads {lifecycle.active_view(spec.raw_table)} (rows of active files).",
            kinds={"duckdb"},
            owners=OWNERS,
        )


def _notes(s: dict) -> list[str]:
    """Lines the refresh prints for this run: lifecycle events, duplicates, unsettled files."""
    notes = [n for n in map(lifecycle.event_note, s["events"]) if n]
    notes += [
        f"{name}: same content as {other}, already ingested (not counted twice)"
        for name, other in s["duplicates"]
    ]
    notes += [
        f"{name}: changed less than the settle time ago; left for later" for name in s["unsettled"]
    ]
    return notes


def _events_md(events: list[dict]) -> str:
    if not events:
        return "No landing events in this run."
    lines = ["| event | file | sha256 | previous sha256 | reason |", "|---|---|---|---|---|"]
    for e in events:
        lines.append(
            f"| {e['event']} | {e['source_file']} | {(e['sha256'] or '')[:12]} | "
            f"{(e['previous_sha256'] or '')[:12]} | {e['reason'] or ''} |"
        )
    return "\n".join(lines)


@dg.multi_asset(specs=list(_outputs()), can_subset=False)
def landing_extracts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
):
    """Archive and read new landing files into the raw tables, all or nothing; record replaced,
    restored, removed and retracted files as landing events."""
    with warehouse.connect() as con:
        summary = ingest_new_files(
            con, files.landing, context.run_id, context.log, files.archive, files.settle
        )
        for spec in EXTRACTS:
            s = summary[spec.name]
            kinds = [e["event"] for e in s["events"]]
            yield dg.MaterializeResult(
                asset_key=spec.raw_table,
                metadata={
                    "new_files": dg.MetadataValue.int(len(s["files"])),
                    "rows_read": dg.MetadataValue.int(s["rows"]),
                    "files_already_ingested": dg.MetadataValue.int(len(s["skipped"])),
                    **{k: dg.MetadataValue.int(kinds.count(k)) for k in lifecycle.EVENT_COUNTS},
                    "lifecycle_events": dg.MetadataValue.int(sum(k != "ingested" for k in kinds)),
                    "lifecycle_notes": dg.MetadataValue.json(_notes(s)),
                    "landing_events": dg.MetadataValue.md(_events_md(s["events"])),
                    **table_metadata(con, spec.raw_table),  # row count, schema, preview
                    "files": dg.MetadataValue.md(
                        markdown_preview(
                            con,
                            "SELECT source_file, state, rows_read, content_sha256, ingested_at "
                            "FROM ingested_files WHERE extract_type = ? ORDER BY file_id DESC",
                            [spec.name],
                        )
                    ),
                },
            )
