"""Publish: the one registry of outputs and what the warehouse implies of them (the plan).

Why: every refresh must repair whatever differs from what the warehouse implies, and one list
says what is published. The publish step (assets/publish/release.py) stages what
``plan_outputs`` gives; the ``published_outputs`` asset (assets/publish/published_outputs.py)
runs it. This module imports neither, so the arrows run one way: asset -> release -> registry.
Adding an output is one entry in ``PARTITIONED_TABLES``, ``PUBLISHED_FILES`` or
``RENDERED_FILES``.
"""

import functools
import hashlib
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from assets._shared.code_version import code_version_of
from assets._shared.findings import findings_sql
from assets._shared.metadata import existing_tables
from assets._shared.sql import quote_ident
from assets.audit.sample import SAMPLE_DIR, sample_cases
from assets.audit.stratified_sample import frame_table, strata_table
from assets.audit.worksheets import worksheet_files
from assets.publish import oao_workbook
from assets.publish.export import partition_columns, partition_path
from assets.publish.manifest import MANIFEST, check_manifest, read_manifest
from assets.publish.releases import release_differences
from assets.report import build as report
from assets.report import history
from assets.report import trace as trace_html
from assets.resource_requests.requests import QUARANTINED_SQL

# Warehouse tables published hive-partitioned: <table>/fiscal_year=Y/fiscal_quarter=Q/data.parquet
PARTITIONED_TABLES = ("quarterly_measures", "category_measures", "scr_determinations")

# One Parquet file per entry: name -> SQL (or a function of the connection giving the SQL).
PUBLISHED_FILES: dict[str, str | Callable[[duckdb.DuckDBPyConnection], str]] = {
    "validation_findings.parquet": findings_sql,
    "annual_measures.parquet": "SELECT * FROM annual_measures ORDER BY fiscal_year",
    "ingest_reconciliation.parquet": "SELECT * FROM ingest_reconciliation ORDER BY file_id",
    "quarantined_scrs.parquet": "SELECT scr_id, case_number, scr_type, criminal_category, status, "
    "quarantine_rules, source_file, source_row FROM scr_current WHERE quarantined ORDER BY scr_id",
    "quarterly_measures_history.parquet": "SELECT * FROM quarterly_measures_history "
    "ORDER BY fiscal_year, fiscal_quarter, superseded_at",
    "resource_request_evidence.parquet": "SELECT * FROM resource_request_evidence "
    "ORDER BY fiscal_year, request_id",
    "resource_request_summary.parquet": "SELECT * FROM resource_request_summary ORDER BY fiscal_year",
    "quarantined_resource_requests.parquet": QUARANTINED_SQL,
    "audit_projection.parquet": "SELECT * FROM audit_projection ORDER BY ALL",
    "determination_accuracy.parquet": "SELECT * FROM determination_accuracy ORDER BY ALL",
    "measure_estimates.parquet": "SELECT * FROM measure_estimates ORDER BY sample_id, fiscal_year",
    "reviewer_agreement.parquet": "SELECT * FROM reviewer_agreement ORDER BY sample_id, item",
    "restatements.parquet": "SELECT * FROM restatements "
    "ORDER BY new_refreshed_at, fiscal_year, fiscal_quarter, scr_id",
    "vv_statement.parquet": "SELECT * FROM vv_statement ORDER BY fiscal_year",
}


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def report_files(con: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
    page = history.with_history_link(report.render_page(con))
    return {report.REPORT_PATH.as_posix(): page.encode("utf-8")}


def audit_sample_files(con: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
    """Per recorded sample: its cases (hive-partitioned by sample_id) and the review worksheet."""
    if not con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'audit_sample_cases'"
    ).fetchall()[0][0]:
        return {}
    out = {}
    for (sid,) in con.execute(
        "SELECT DISTINCT sample_id FROM audit_sample_cases ORDER BY 1"
    ).fetchall():
        out[f"{SAMPLE_DIR}/sample_id={sid}/cases.parquet"] = _parquet_bytes(sample_cases(con, sid))
        out |= worksheet_files(con, sid)  # CSV and .xlsx
    stratified = con.execute(  # a stratified sample's design: its strata and its whole frame
        "SELECT DISTINCT sample_id FROM audit_sample_strata ORDER BY 1"
        if "audit_sample_strata" in existing_tables(con)
        else "SELECT 1 WHERE false"
    ).fetchall()
    for (sid,) in stratified:
        out[f"{SAMPLE_DIR}/sample_id={sid}/strata.parquet"] = _parquet_bytes(strata_table(con, sid))
        out[f"{SAMPLE_DIR}/sample_id={sid}/frame.parquet"] = _parquet_bytes(frame_table(con, sid))
    return out


# The report's code version: its modules, what they import and its templates
REPORT_CODE_VERSION = code_version_of(report, history)


def report_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """The report's inputs (its small queries) and code version, without rendering it (seconds)."""
    return _digest(_stable(report.gather(con)), report.data_time(con), REPORT_CODE_VERSION)


def _stable(value: object) -> str:
    """A text form that is the same in every process (sets sorted: str hashing is salted)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_stable(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, set | frozenset):
        return "{" + ",".join(sorted(_stable(v) for v in value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_stable(v) for v in value) + "]"
    return repr(value)


@dataclass(frozen=True)
class Rendered:
    """An output that is not one query: ``files`` gives {relative path: content}. With
    ``fingerprint`` and ``paths`` (cheaper than rendering) the repair check need not render."""

    files: Callable[[duckdb.DuckDBPyConnection], dict[str, bytes]]
    fingerprint: Callable[[duckdb.DuckDBPyConnection], str] | None = None
    paths: frozenset[str] = frozenset()


RENDERED_FILES: dict[str, Rendered] = {
    "report": Rendered(
        report_files, report_fingerprint, frozenset({report.REPORT_PATH.as_posix()})
    ),
    "audit_sample": Rendered(audit_sample_files),
    "vv_pages": Rendered(trace_html.vv_files),
    "oao_workbook": Rendered(oao_workbook.workbook_files(PUBLISHED_FILES)),
}

# Warehouse tables whose change alone means "publish again" (volatile columns left out: the code
# version a file was validated under and whether scr_current reflects it are bookkeeping; what
# re-validation changes shows in validation_findings and the measures)
INPUT_TABLES = {"ingested_files": ("mtime_ns", "validated_rules", "current_built")}


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def query_fingerprint(con: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """Order-independent fingerprint of a query's rows (None when its tables do not exist yet)."""
    try:
        n, xor, total = con.execute(
            f"SELECT count(*), bit_xor(hash(q)), sum(hash(q)::HUGEINT) FROM ({sql}) q"
        ).fetchall()[0]
    except duckdb.CatalogException:
        return None
    return _digest(sql, n, xor, total)


def _combined(groups: list[tuple]) -> tuple[int, int | None, int | None]:
    """``count(*), bit_xor(hash), sum(hash)`` of a table from those of its groups (the last
    three columns of each): what ``query_fingerprint`` finds, without a second scan."""
    if not groups:
        return 0, None, None
    return (
        sum(g[-3] for g in groups),
        functools.reduce(operator.xor, (g[-2] for g in groups)),
        sum(g[-1] for g in groups),
    )


def partition_writer() -> str:
    """What else decides a partition file's bytes: the code that selects, orders and writes it
    (this module and export.py, their own code version: not what they import, so a changed
    report template reuses every partition) and the pyarrow that encodes it. A change to either
    rewrites every partition once, so published bytes are always what this code writes."""
    from assets.publish import export

    return _digest(pa.__version__, code_version_of(__file__, export.__file__, imports=False))


def _sql_of(con: duckdb.DuckDBPyConnection, entry) -> str:
    return entry(con) if callable(entry) else entry


@dataclass
class OutputPlan:
    """What the warehouse implies: every file path, and a fingerprint per output."""

    paths: set[str] = field(default_factory=set)
    fingerprints: dict[str, str] = field(default_factory=dict)
    rendered: dict[str, bytes] = field(default_factory=dict)
    queries: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # per partitioned table: (fiscal_year, fiscal_quarter) -> its row count
    partition_counts: dict[str, dict[tuple[int, int], int]] = field(default_factory=dict)
    # per partition file: a fingerprint of its rows and columns (kept in the manifest's entry)
    partition_fingerprints: dict[str, str] = field(default_factory=dict)


def plan_outputs(con: duckdb.DuckDBPyConnection, render: bool = False) -> OutputPlan:
    """Paths and fingerprints of every output; ``render`` also builds rendered contents."""
    plan = OutputPlan()
    writer = partition_writer()
    for table in PARTITIONED_TABLES:
        try:  # one scan: the table's fingerprint is the sum of its partitions' (order-free)
            per_quarter = con.execute(
                f"SELECT fiscal_year, fiscal_quarter, count(*), bit_xor(hash(t)), "
                f"sum(hash(t)::HUGEINT) FROM {table} t GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        except duckdb.CatalogException:
            continue
        plan.fingerprints[table] = _digest(f"SELECT * FROM {table}", *_combined(per_quarter))
        cols = partition_columns(con, table)
        plan.partitions[table] = [(fy, q) for fy, q, *_ in per_quarter]
        plan.partition_counts[table] = {(fy, q): n for fy, q, n, *_ in per_quarter}
        for fy, q, *rows in per_quarter:
            rel = partition_path(table, fy, q)
            plan.paths.add(rel)
            plan.partition_fingerprints[rel] = _digest(rel, cols, writer, *rows)
    for name, entry in PUBLISHED_FILES.items():
        sql = _sql_of(con, entry)
        fp = query_fingerprint(con, sql)
        if fp is not None:
            plan.fingerprints[name], plan.queries[name] = fp, sql
            plan.paths.add(name)
    for name, out in RENDERED_FILES.items():
        try:
            if out.fingerprint and not render:
                plan.fingerprints[name], plan.paths = out.fingerprint(con), plan.paths | out.paths
                continue
            files = out.files(con)
        except duckdb.CatalogException:  # its tables are not built yet: nothing to publish
            continue
        plan.rendered |= files
        plan.paths |= set(files)
        plan.fingerprints[name] = (
            out.fingerprint(con)
            if out.fingerprint
            else _digest(
                *(f"{k}={hashlib.sha256(v).hexdigest()}" for k, v in sorted(files.items()))
            )
        )
    for table, volatile in INPUT_TABLES.items():
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if r[0] not in volatile
        ]
        if cols:
            select = ", ".join(map(quote_ident, cols))
            plan.fingerprints[f"input:{table}"] = query_fingerprint(
                con, f"SELECT {select} FROM {quote_ident(table)}"
            )
    return plan


def published_differences(output_dir: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a publish would change, and why: manifest vs files on disk, files the warehouse
    implies vs files listed, and each output's fingerprint vs the one recorded when published.
    Read-only; empty when the published outputs are exactly what the warehouse implies."""
    manifest = read_manifest(output_dir)
    if manifest is None:
        return [f"{MANIFEST}: missing or unreadable (nothing published yet, or wiped)"]
    diffs = release_differences(output_dir)
    diffs += check_manifest(output_dir)
    plan = plan_outputs(con)
    listed = set(manifest["files"])
    diffs += [
        f"{p}: implied by the warehouse but not published" for p in sorted(plan.paths - listed)
    ]
    diffs += [
        f"{p}: published but no longer implied by the warehouse"
        for p in sorted(listed - plan.paths)
    ]
    old = manifest.get("outputs", {})
    diffs += [
        f"{name}: the warehouse implies different content than was published"
        for name in sorted(set(plan.fingerprints) | set(old))
        if plan.fingerprints.get(name) != old.get(name)
    ]
    # a partition written by other code (the partition writer's code version, pyarrow): same
    # rows, other bytes; rewritten once
    entries = manifest["files"]
    diffs += [
        f"{rel}: written by another version of the partition writer"
        for rel, fp in sorted(plan.partition_fingerprints.items())
        if rel in entries and entries[rel].get("fingerprint") not in (None, fp)
    ]
    return diffs
