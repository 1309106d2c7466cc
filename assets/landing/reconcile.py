"""Reconcile: every record of a file is read (rows read = the file's records counted by a second
reader, ``records_in_file``), every row read is either valid or quarantined, per file, and
every current SCR is counted, not approved, or quarantined. An asset check fails when the arithmetic does not
add up, which would mean the pipeline lost or double-counted a row.
"""

import dagster as dg
import duckdb

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, existing_tables, markdown_preview, table_metadata
from assets._shared.resources import WarehouseResource
from schemas.extracts import EXTRACTS


def reconciliation_sql(con: duckdb.DuckDBPyConnection) -> str:
    existing = existing_tables(con)
    # per-file counts straight from each table: a scan of one column, no row-level join
    raw = " UNION ALL ".join(f"SELECT file_id FROM {s.raw_table}" for s in EXTRACTS)
    bad = (
        " UNION ALL ".join(
            f"SELECT file_id, source_row FROM {s.findings_table} WHERE severity = 'error'"
            for s in EXTRACTS
            if s.findings_table in existing
        )
        or "SELECT NULL::INTEGER AS file_id, NULL::BIGINT AS source_row WHERE false"
    )
    return f"""
    WITH bad AS (SELECT DISTINCT file_id, source_row FROM ({bad})),
    stored AS (SELECT file_id, count(*) AS rows_stored FROM ({raw}) GROUP BY ALL),
    quarantined AS (SELECT file_id, count(*) AS rows_quarantined FROM bad GROUP BY ALL),
    per_file AS (
        SELECT file_id, s.rows_stored, coalesce(q.rows_quarantined, 0) AS rows_quarantined
        FROM stored s LEFT JOIN quarantined q USING (file_id)
    ), cur AS (SELECT file_id, count(*) AS rows_current FROM scr_current GROUP BY ALL)
    SELECT f.file_id, f.source_file AS file, f.source_file, f.extract_type, f.content_sha256, f.size_bytes,
        f.records_in_file, f.rows_read, coalesce(p.rows_stored, 0) AS rows_stored,
        coalesce(p.rows_stored, 0) - coalesce(p.rows_quarantined, 0) AS rows_valid,
        coalesce(p.rows_quarantined, 0) AS rows_quarantined,
        CASE WHEN f.extract_type = 'scr_extract' THEN coalesce(c.rows_current, 0) END AS rows_current,
        CASE WHEN f.extract_type = 'scr_extract'
             THEN coalesce(p.rows_stored, 0) - coalesce(c.rows_current, 0) END AS rows_superseded,
        f.validated_rules IS NOT NULL AS validated, f.ingested_at, f.run_id,
        f.state, f.state_changed_at, f.state_reason
    FROM ingested_files f LEFT JOIN per_file p USING (file_id) LEFT JOIN cur c USING (file_id)
    """


def reconcile_problems(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Everything that does not add up; all zeros / empty lists when the refresh is whole."""
    bad_files = [
        r[0]
        for r in con.execute(
            "SELECT source_file FROM ingest_reconciliation WHERE rows_read <> rows_stored "
            "OR rows_read IS DISTINCT FROM coalesce(records_in_file, rows_read) "
            "OR rows_valid + rows_quarantined <> rows_read "
            "OR rows_current + rows_superseded <> rows_stored ORDER BY file_id"
        ).fetchall()
    ]
    scr_ids, current, distinct_current, wrong_quarantine = con.execute(
        """SELECT
            (SELECT count(DISTINCT scr_id) FROM scr_versions WHERE scr_id IS NOT NULL),
            (SELECT count(*) FROM scr_current),
            (SELECT count(DISTINCT scr_id) FROM scr_current),
            (SELECT count(*) FROM scr_current c WHERE c.quarantined IS DISTINCT FROM EXISTS (
                SELECT 1 FROM scr_findings f WHERE f.severity = 'error'
                AND f.file_id = c.file_id AND f.source_row = c.source_row))"""
    ).fetchall()[0]
    counted = con.execute("SELECT count(*) FILTER (counted) FROM scr_current").fetchall()[0][0]
    measured = counted
    if con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'quarterly_measures'"
    ).fetchall()[0][0]:
        measured = con.execute(
            "SELECT coalesce(sum(initial_approved + disruptions + dismantlements), 0) "
            "FROM quarterly_measures"
        ).fetchall()[0][0]
    return {
        "files_not_reconciling": bad_files,
        "scr_ids_without_one_current_record": int(scr_ids - current)
        + int(current - distinct_current),
        "current_records_with_wrong_quarantine": int(wrong_quarantine),
        "counted_scrs_not_in_quarterly_measures": int(counted - measured),
    }


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["scr_current", "resource_request_findings", "case_review_findings"],
    check_specs=[
        dg.AssetCheckSpec(
            "rows_reconcile",
            asset="ingest_reconciliation",
            description="Per file: records in the file (a second reader's count) = rows read = "
            "rows stored = rows valid + rows quarantined = "
            "current + superseded versions. Every scr_id has exactly one current record, "
            "quarantined exactly when it has an error finding, and the quarterly measures "
            "count every counted SCR once. Blocking: nothing is published when it fails.",
            blocking=True,
        )
    ],
    kinds={"duckdb"},
    owners=OWNERS,
    description="Per landing file: rows read, valid, quarantined, current and superseded, and its "
    "lifecycle state (active, replaced, retracted with the reason); events in landing_events.",
)
def ingest_reconciliation(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        con.execute(f"CREATE OR REPLACE TABLE ingest_reconciliation AS {reconciliation_sql(con)}")
        problems = reconcile_problems(con)
        scrs, counted, quarantined = con.execute(
            "SELECT count(*), count(*) FILTER (counted), count(*) FILTER (quarantined) "
            "FROM scr_current"
        ).fetchall()[0]
        totals = con.execute(
            "SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_valid), 0), "
            "coalesce(sum(rows_quarantined), 0), coalesce(sum(rows_current), 0), "
            "coalesce(sum(rows_superseded), 0) FROM ingest_reconciliation"
        ).fetchall()[0]
        last_run = markdown_preview(
            con,
            "SELECT run_id, ingested_at, count(*) AS files, sum(rows_read) AS rows_read, "
            "sum(rows_valid) AS rows_valid, sum(rows_quarantined) AS rows_quarantined "
            "FROM ingest_reconciliation GROUP BY ALL ORDER BY ingested_at DESC",
        )
        meta = {
            **table_metadata(con, "ingest_reconciliation"),
            **{
                name: dg.MetadataValue.int(int(v))
                for name, v in zip(
                    (
                        "rows_read",
                        "rows_valid",
                        "rows_quarantined",
                        "rows_current",
                        "rows_superseded",
                    ),
                    totals,
                    strict=True,
                )
            },
            "current_scrs": dg.MetadataValue.int(scrs),
            "counted_scrs": dg.MetadataValue.int(counted),
            "quarantined_scrs": dg.MetadataValue.int(quarantined),
            "per_refresh": dg.MetadataValue.md(last_run),
            "per_file": dg.MetadataValue.md(
                markdown_preview(
                    con,
                    "SELECT file, state, rows_read, rows_valid, rows_quarantined, rows_current, "
                    "rows_superseded, state_reason FROM ingest_reconciliation ORDER BY file_id DESC",
                )
            ),
        }
    context.log.info(
        f"reconciliation: {totals[0]:,} rows read = {totals[1]:,} valid + {totals[2]:,} quarantined"
    )
    yield dg.MaterializeResult(metadata=meta)
    passed = not problems["files_not_reconciling"] and not any(
        v for k, v in problems.items() if k != "files_not_reconciling"
    )
    yield dg.AssetCheckResult(
        check_name="rows_reconcile",
        passed=passed,
        description=None if passed else "rows do not reconcile: " + _describe(problems),
        metadata={
            k: dg.MetadataValue.json(v) if isinstance(v, list) else v for k, v in problems.items()
        },
    )


def _describe(problems: dict[str, object]) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in problems.items() if v)
