"""Export: the thin last step that publishes warehouse tables as Parquet for OAO staff.

Every file is written to a hidden temp name beside its target and renamed into place, so a
reader (or a crashed refresh) never sees half a file. A quarter's partition directory holds one
``data.parquet``; replacing it is one atomic rename. Partition columns live in the path only
(hive layout), so DuckDB and pyarrow both read them back as integers.
"""

import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from assets.restatements import record_publication
from pipelines.fiscal import parse_quarter_key
from pipelines.metadata import OWNERS, existing_tables
from pipelines.partitions import FISCAL_QUARTERS
from pipelines.resources import FilesResource, WarehouseResource
from schemas.extracts import EXTRACTS

PARTITIONED_TABLES = ("quarterly_measures", "category_measures", "scr_determinations")


def replace_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temp file beside ``target``, fsync it, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet_atomic(table: pa.Table, target: Path) -> None:
    """Write ``table`` to ``target`` via a temp file in the same directory and a rename."""
    replace_atomically(target, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_text_atomic(text: str, target: Path) -> None:
    """Write UTF-8 ``text`` (e.g. the HTML report) to ``target`` the same all-or-nothing way."""
    replace_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def partition_file(root: Path, fiscal_year: int, fiscal_quarter: int) -> Path:
    return root / f"fiscal_year={fiscal_year}" / f"fiscal_quarter={fiscal_quarter}" / "data.parquet"


def unpublished_quarters(output: Path, keys: list[str]) -> list[str]:
    """Quarter keys whose partition file is missing from the output dir (e.g. a new or wiped
    SCR_OUTPUT_DIR), so a refresh republishes them even when no number changed."""
    return [
        k
        for k in keys
        if not all(
            partition_file(output / t, *parse_quarter_key(k)).exists() for t in PARTITIONED_TABLES
        )
    ]


def unpublished_tables(output: Path) -> list[str]:
    """Always-published outputs missing from the output dir (a refresh then republishes)."""
    always = ("validation_findings.parquet", "report/index.html", *PUBLISHED_FILES)
    return [name for name in always if not (output / name).exists()]


def publish_partition(root: Path, fiscal_year: int, fiscal_quarter: int, table: pa.Table) -> bool:
    """Replace one quarter's partition whole; an empty table removes it. Returns True if written."""
    part = partition_file(root, fiscal_year, fiscal_quarter).parent
    if table.num_rows == 0:
        if part.exists():
            shutil.rmtree(part)
        if part.parent.exists() and not any(part.parent.iterdir()):
            part.parent.rmdir()
        return False
    write_parquet_atomic(table, part / "data.parquet")
    for stale in part.iterdir():  # only data.parquet belongs here
        if stale.name != "data.parquet" and stale.suffix == ".parquet":
            stale.unlink()
    return True


def partition_rows(con: duckdb.DuckDBPyConnection, table: str, fy: int, q: int) -> pa.Table:
    cols = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND column_name NOT IN ('fiscal_year', 'fiscal_quarter') ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    order = ", ".join(c for c in ("criminal_category",) if c in cols) or "1"
    select = ", ".join(f'"{c}"' for c in cols)
    sql = f"SELECT {select} FROM {table} WHERE fiscal_year = ? AND fiscal_quarter = ? ORDER BY {order}"
    return con.sql(sql, params=[fy, q]).to_arrow_table()


@dg.asset(
    deps=list(PARTITIONED_TABLES),
    partitions_def=FISCAL_QUARTERS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"parquet"},
    owners=OWNERS,
    group_name="publish",
    description="quarterly_measures/ and category_measures/ under SCR_OUTPUT_DIR, hive-partitioned "
    "by fiscal_year and fiscal_quarter; each quarter replaced whole or not at all.",
)
def published_quarters(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
) -> dg.MaterializeResult:
    written = removed = 0
    with warehouse.connect(read_only=False) as con:
        for key in context.partition_keys:
            fy, q = parse_quarter_key(key)
            for table in PARTITIONED_TABLES:
                if publish_partition(
                    files.output / table, fy, q, partition_rows(con, table, fy, q)
                ):
                    written += 1
                else:
                    removed += 1
    context.log.info(f"published {written} partition file(s), removed {removed} empty partition(s)")
    return dg.MaterializeResult(
        metadata={
            "partitions_written": dg.MetadataValue.int(written),
            "partitions_removed": dg.MetadataValue.int(removed),
            "output_dir": dg.MetadataValue.path(str(files.output)),
        }
    )


def publish_queries(
    context: dg.AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    output: Path,
    queries: dict[str, str],
) -> dg.MaterializeResult:
    """Write each query's result to ``output/<name>`` atomically; report row counts."""
    counts = {}
    for name, sql in queries.items():
        table = con.sql(sql).to_arrow_table()
        write_parquet_atomic(table, output / name)
        counts[name] = table.num_rows
    context.log.info("published " + ", ".join(f"{k} ({v:,} rows)" for k, v in counts.items()))
    return dg.MaterializeResult(
        metadata={
            k.removesuffix(".parquet") + "_rows": dg.MetadataValue.int(v) for k, v in counts.items()
        }
        | {"output_dir": dg.MetadataValue.path(str(output))}
    )


def findings_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Every finding of every extract type, plus indicator-conflict warnings on current SCRs."""
    existing = existing_tables(con)
    parts = [
        f"SELECT CASE WHEN '{s.name}' = 'scr_extract' THEN record_id END AS scr_id, case_number, "
        f"rule_id, severity, message, source_file, source_row, column_name, failure_value, "
        f"'{s.name}' AS extract_type, record_id FROM {s.findings_table}"
        for s in EXTRACTS
        if s.findings_table in existing
    ]
    parts.append(
        "SELECT scr_id, case_number, 'scr.tco_involvement.conflict', 'warning', "
        "'tco_involvement ' || tco_involvement || ' disagrees with the TCO definition test (subject_count ' "
        "|| subject_count || ', countries ' || countries || ')', source_file, source_row, "
        "'tco_involvement', tco_involvement, 'scr_extract', scr_id FROM scr_current WHERE indicator_conflict"
    )
    return " UNION ALL ".join(parts) + " ORDER BY source_file, source_row, rule_id"


PUBLISHED_FILES = {
    "annual_measures.parquet": "SELECT * FROM annual_measures ORDER BY fiscal_year",
    "ingest_reconciliation.parquet": "SELECT * FROM ingest_reconciliation ORDER BY file_id",
    "quarantined_scrs.parquet": "SELECT scr_id, case_number, scr_type, criminal_category, status, "
    "quarantine_rules, source_file, source_row FROM scr_current WHERE quarantined ORDER BY scr_id",
    "quarterly_measures_history.parquet": "SELECT * FROM quarterly_measures_history "
    "ORDER BY fiscal_year, fiscal_quarter, superseded_at",
    "restatements.parquet": "SELECT * FROM restatements ORDER BY new_refreshed_at, fiscal_year, fiscal_quarter, scr_id",
    "vv_statement.parquet": "SELECT * FROM vv_statement ORDER BY fiscal_year",
}


@dg.asset(
    deps=[
        "annual_measures",
        "scr_findings",
        "ingest_reconciliation",
        "case_review_findings",
        "restatements",
        "vv_statement",
    ],  # fmt: skip
    kinds={"parquet"},
    owners=OWNERS,
    group_name="publish",
    description="annual_measures, validation_findings, ingest_reconciliation, quarantined_scrs and "
    "quarterly_measures_history as Parquet files under SCR_OUTPUT_DIR.",
)
def published_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        queries = {"validation_findings.parquet": findings_sql(con), **PUBLISHED_FILES}
        result = publish_queries(context, con, files.output, queries)
        record_publication(
            con, context.run_id, datetime.now(UTC).replace(tzinfo=None)
        )  # until publish-last
        return result
