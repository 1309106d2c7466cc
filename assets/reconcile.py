"""Reconcile: every row read is either valid or quarantined, per file, and every current SCR
is counted, not approved, or quarantined. An asset check fails when the arithmetic does not
add up, which would mean the pipeline lost or double-counted a row.
"""

import dagster as dg
import duckdb

from pipelines.metadata import markdown_preview, table_metadata
from pipelines.resources import WarehouseResource
from schemas.extracts import EXTRACTS


def reconciliation_sql(con: duckdb.DuckDBPyConnection) -> str:
    existing = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    raw = " UNION ALL ".join(f"SELECT file_id, source_row FROM {s.raw_table}" for s in EXTRACTS)
    bad = (
        " UNION ALL ".join(
            f"SELECT file_id, source_row FROM {s.findings_table} WHERE severity = 'error'"
            for s in EXTRACTS
            if s.findings_table in existing
        )
        or "SELECT NULL::INTEGER AS file_id, NULL::BIGINT AS source_row WHERE false"
    )
    return f"""
    WITH raw AS ({raw}), bad AS (SELECT DISTINCT file_id, source_row FROM ({bad})),
    per_file AS (
        SELECT r.file_id, count(*) AS rows_stored, count(b.file_id) AS rows_quarantined
        FROM raw r LEFT JOIN bad b USING (file_id, source_row) GROUP BY ALL
    ), cur AS (SELECT file_id, count(*) AS rows_current FROM scr_current GROUP BY ALL)
    SELECT f.file_id, f.source_file, f.extract_type, f.content_sha256, f.size_bytes,
        f.rows_read, coalesce(p.rows_stored, 0) AS rows_stored,
        coalesce(p.rows_stored, 0) - coalesce(p.rows_quarantined, 0) AS rows_valid,
        coalesce(p.rows_quarantined, 0) AS rows_quarantined,
        CASE WHEN f.extract_type = 'scr_extract' THEN coalesce(c.rows_current, 0) END AS rows_current,
        CASE WHEN f.extract_type = 'scr_extract'
             THEN coalesce(p.rows_stored, 0) - coalesce(c.rows_current, 0) END AS rows_superseded,
        f.validated_rules IS NOT NULL AS validated, f.ingested_at
    FROM ingested_files f LEFT JOIN per_file p USING (file_id) LEFT JOIN cur c USING (file_id)
    """


@dg.asset(
    deps=["scr_current", "resource_request_findings"],
    check_specs=[
        dg.AssetCheckSpec(
            "rows_reconcile",
            asset="ingest_reconciliation",
            description="Per file: rows read = rows stored = rows valid + rows quarantined; and "
            "current SCRs = counted + not approved + quarantined.",
        )
    ],
    kinds={"duckdb"},
    owners=["team:oao-data-engineering"],
    group_name="validate",
    description="Per landing file: rows read, valid, quarantined, current and superseded.",
)
def ingest_reconciliation(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        con.execute(f"CREATE OR REPLACE TABLE ingest_reconciliation AS {reconciliation_sql(con)}")
        bad_files = con.execute(
            "SELECT source_file FROM ingest_reconciliation WHERE rows_read <> rows_stored "
            "OR rows_valid + rows_quarantined <> rows_read"
        ).fetchall()
        scrs, counted, not_approved, quarantined = con.execute(
            "SELECT count(*), count(*) FILTER (counted), "
            "count(*) FILTER (NOT quarantined AND NOT counted), count(*) FILTER (quarantined) "
            "FROM scr_current"
        ).fetchone()
        totals = con.execute(
            "SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_valid), 0), "
            "coalesce(sum(rows_quarantined), 0) FROM ingest_reconciliation"
        ).fetchone()
        meta = {
            **table_metadata(con, "ingest_reconciliation"),
            "rows_read": dg.MetadataValue.int(int(totals[0])),
            "rows_valid": dg.MetadataValue.int(int(totals[1])),
            "rows_quarantined": dg.MetadataValue.int(int(totals[2])),
            "current_scrs": dg.MetadataValue.int(scrs),
            "counted_scrs": dg.MetadataValue.int(counted),
            "quarantined_scrs": dg.MetadataValue.int(quarantined),
            "per_file": dg.MetadataValue.md(
                markdown_preview(
                    con,
                    "SELECT source_file, rows_read, rows_valid, rows_quarantined, rows_current "
                    "FROM ingest_reconciliation ORDER BY file_id DESC",
                )
            ),
        }
    context.log.info(
        f"reconciliation: {totals[0]:,} rows read = {totals[1]:,} valid + {totals[2]:,} quarantined"
    )
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name="rows_reconcile",
        passed=not bad_files and scrs == counted + not_approved + quarantined,
        metadata={
            "files_not_reconciling": dg.MetadataValue.json([r[0] for r in bad_files]),
            "current_scrs": scrs,
            "counted_plus_not_approved_plus_quarantined": counted + not_approved + quarantined,
        },
    )
