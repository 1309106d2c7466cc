"""Resource requests (audit recommendation 3): validate them, pick each request's current row,
and set beside every valid request the SCR evidence its program office could have cited.

Duplicates: a ``request_id`` in a later file (lexical file name order, then later ingest, then
later row) replaces the earlier row as the current request; every row stays in raw storage. The
same ``request_id`` twice in one file breaks ``rr.request_id.unique`` on both rows, so that
request is quarantined until a later file settles it. A current request that breaks any error
rule is quarantined as a whole: left out of the evidence table and listed in
``quarantined_resource_requests.parquet`` (its findings are in ``validation_findings.parquet``).

Evidence for a request: the last complete fiscal year before ``submitted_date``
(``fiscal_year(submitted_date) - 1``) and SCRs counted in that year (valid current records,
approved in it) in the request's categories.
"""

import dagster as dg
import duckdb

import schemas.resource_request
from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import WarehouseResource
from assets._shared.validation import findings_asset
from schemas.extracts import RESOURCE_REQUESTS
from schemas.reference import within
from schemas.resource_request import CATEGORY_SEPARATOR, TYPED_VIEW_SQL, resource_request_schema

CURRENT_SQL = """
CREATE OR REPLACE TABLE resource_request_current AS
WITH errs AS (
    SELECT file_id, source_row, string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
    FROM resource_request_findings WHERE severity = 'error' GROUP BY ALL
), ranked AS (
    SELECT v.*,
        row_number() OVER (PARTITION BY request_id
                           ORDER BY source_file DESC, file_id DESC, source_row DESC) AS rn,
        count(*) OVER (PARTITION BY request_id) AS versions
    FROM resource_request_versions v WHERE request_id IS NOT NULL
)
SELECT request_id, fiscal_year_i AS fiscal_year, program_office, title,
    amount_usd_d AS amount_usd, positions_i AS positions, scr_categories, cites_scr_data,
    submitted_d AS submitted_date, versions, file_id, source_file, source_row,
    e.rules IS NOT NULL AS quarantined, e.rules AS quarantine_rules
FROM ranked r LEFT JOIN errs e USING (file_id, source_row)
WHERE rn = 1
"""

# SCRs are pre-aggregated per (fiscal year, category); an SCR has one category, so summing
# over a request's distinct labels counts each SCR once.
EVIDENCE_SQL = """
CREATE OR REPLACE TABLE resource_request_evidence AS
WITH req AS (
    SELECT *, fiscal_year(submitted_date) - 1 AS evidence_fiscal_year
    FROM resource_request_current WHERE NOT quarantined
), labels AS (
    SELECT DISTINCT request_id, evidence_fiscal_year, category
    FROM (SELECT request_id, evidence_fiscal_year,
                 unnest(string_split(scr_categories, $sep)) AS category
          FROM req WHERE scr_categories IS NOT NULL)
), scrs AS (
    SELECT fiscal_year, criminal_category, count(*) AS approved_scrs,
        count(*) FILTER (is_dd) AS dd_total,
        count(*) FILTER (counts_in('dd_tco', scr_type, determination, non_tco_reason)) AS dd_tco
    FROM scr_current WHERE counted GROUP BY ALL
), ev AS (
    SELECT l.request_id, sum(s.approved_scrs) AS approved_scrs, sum(s.dd_total) AS dd_total,
        sum(s.dd_tco) AS dd_tco
    FROM labels l JOIN scrs s
      ON s.fiscal_year = l.evidence_fiscal_year AND s.criminal_category = l.category
    GROUP BY ALL
)
SELECT request_id, fiscal_year, program_office, title, amount_usd, positions, cites_scr_data,
    scr_categories, submitted_date, evidence_fiscal_year,
    CAST(coalesce(ev.approved_scrs, 0) AS BIGINT) AS approved_scrs,
    CAST(coalesce(ev.dd_total, 0) AS BIGINT) AS dd_total,
    CAST(coalesce(ev.dd_tco, 0) AS BIGINT) AS dd_tco,
    coalesce(ev.approved_scrs, 0) > 0 AS evidence_available,
    coalesce(ev.approved_scrs, 0) > 0 AND cites_scr_data = 'N' AS evidence_gap,
    source_file, source_row
FROM req LEFT JOIN ev USING (request_id)
ORDER BY fiscal_year, request_id
"""

SUMMARY_SQL = """
CREATE OR REPLACE TABLE resource_request_summary AS
SELECT fiscal_year,
    count(*) AS requests,
    count(*) FILTER (cites_scr_data = 'Y') AS citing_scr_data,
    count(*) FILTER (cites_scr_data = 'N') AS not_citing_scr_data,
    count(*) FILTER (evidence_available) AS evidence_available,
    count(*) FILTER (evidence_gap) AS evidence_gaps,
    CAST(sum(amount_usd) AS DECIMAL(18, 2)) AS amount_usd,
    CAST(sum(positions) AS BIGINT) AS positions,
    CAST(coalesce(sum(amount_usd) FILTER (evidence_gap), 0) AS DECIMAL(18, 2)) AS gap_amount_usd,
    CAST(coalesce(sum(positions) FILTER (evidence_gap), 0) AS BIGINT) AS gap_positions
FROM resource_request_evidence
GROUP BY fiscal_year ORDER BY fiscal_year
"""

# The quarantined requests as published (quarantined_resource_requests.parquet) and previewed.
QUARANTINED_SQL = (
    "SELECT request_id, fiscal_year, program_office, title, quarantine_rules, source_file, "
    "source_row FROM resource_request_current WHERE quarantined ORDER BY request_id"
)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    return con.execute(sql).fetchall()[0]


resource_request_findings = findings_asset(
    name="resource_request_findings",
    spec=RESOURCE_REQUESTS,
    module=schemas.resource_request,
    schema=resource_request_schema,
    view="resource_request_versions",
    deps=[RESOURCE_REQUESTS.raw_table],
    description="One row per failed rule per resource request row (pandera checks named by "
    "rule_id, schemas/reference/resource_request_rules.csv).",
)


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["resource_request_findings"],
    check_specs=[
        dg.AssetCheckSpec(
            "schema_validity",
            asset="resource_request_current",
            description="Current resource requests that break an error rule (quarantined: left "
            "out of the evidence table, listed in quarantined_resource_requests.parquet); fails "
            "when more than max_share are (schemas/reference/check_thresholds.csv).",
        )
    ],
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per request_id: its current row (a later file replaces an earlier "
    "one) and whether it is quarantined, with the rules it breaks.",
)
def resource_request_current(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        con.execute(TYPED_VIEW_SQL)
        con.execute(CURRENT_SQL)
        total, quarantined, superseded = _one(
            con,
            "SELECT count(*), count(*) FILTER (quarantined), coalesce(sum(versions - 1), 0) "
            "FROM resource_request_current",
        )
        context.log.info(
            f"{total:,} current resource requests: {quarantined:,} quarantined, "
            f"{superseded:,} earlier row(s) replaced by a later file"
        )
        meta = {
            **table_metadata(con, "resource_request_current"),
            "quarantined": dg.MetadataValue.int(quarantined),
            "superseded_rows": dg.MetadataValue.int(int(superseded)),
            "quarantined_requests": dg.MetadataValue.md(markdown_preview(con, QUARANTINED_SQL)),
        }
    yield dg.MaterializeResult(metadata=meta)
    ok, figures = within(quarantined, total, "resource_request_current", "schema_validity")
    yield dg.AssetCheckResult(
        check_name="schema_validity",
        passed=ok,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"current_requests": total, "quarantined": quarantined, **figures},
    )


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["resource_request_current", "scr_current"],
    check_specs=[
        dg.AssetCheckSpec(
            "one_row_per_valid_request",
            asset="resource_request_evidence",
            description="Every valid current request has exactly one evidence row, and current "
            "requests = evidence rows + quarantined requests.",
        )
    ],
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per valid current resource request with the SCR evidence of the last "
    "complete fiscal year before it was submitted (approved SCRs, disruptions + dismantlements, "
    "TCO-validated ones) in its categories, and whether evidence went unused (evidence_gap).",
)
def resource_request_evidence(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        con.execute(EVIDENCE_SQL, {"sep": CATEGORY_SEPARATOR})
        rows, ids, gaps, gap_usd, gap_positions, available = _one(
            con,
            "SELECT count(*), count(DISTINCT request_id), count(*) FILTER (evidence_gap), "
            "coalesce(sum(amount_usd) FILTER (evidence_gap), 0), "
            "coalesce(sum(positions) FILTER (evidence_gap), 0), "
            "count(*) FILTER (evidence_available) FROM resource_request_evidence",
        )
        valid, quarantined, current = _one(
            con,
            "SELECT count(*) FILTER (NOT quarantined), count(*) FILTER (quarantined), count(*) "
            "FROM resource_request_current",
        )
        context.log.info(
            f"{rows:,} requests with evidence rows: {available:,} had SCR evidence available, "
            f"{gaps:,} of them did not cite it (${float(gap_usd):,.2f}, {gap_positions:,} positions)"
        )
        meta = {
            **table_metadata(con, "resource_request_evidence"),
            "evidence_available": dg.MetadataValue.int(available),
            "evidence_gaps": dg.MetadataValue.int(gaps),
            "gap_amount_usd": dg.MetadataValue.float(float(gap_usd)),
            "gap_positions": dg.MetadataValue.int(int(gap_positions)),
        }
    yield dg.MaterializeResult(metadata=meta)
    yield dg.AssetCheckResult(
        check_name="one_row_per_valid_request",
        passed=rows == ids == valid and current == rows + quarantined,
        metadata={
            "evidence_rows": rows,
            "distinct_request_ids": ids,
            "valid_current_requests": valid,
            "quarantined_requests": quarantined,
        },
    )


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["resource_request_evidence"],
    kinds={"duckdb"},
    owners=OWNERS,
    description="Per budget fiscal year: requests, citing SCR data, evidence available, evidence "
    "gaps, and the dollars and positions in gap requests.",
)
def resource_request_summary(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        con.execute(SUMMARY_SQL)
        years, requests, citing, gaps = _one(
            con,
            "SELECT count(*), coalesce(sum(requests), 0), coalesce(sum(citing_scr_data), 0), "
            "coalesce(sum(evidence_gaps), 0) FROM resource_request_summary",
        )
        context.log.info(
            f"{years} fiscal year(s): {requests:,} requests, {citing:,} citing SCR data, "
            f"{gaps:,} evidence gaps"
        )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(con, "resource_request_summary"),
                "requests": dg.MetadataValue.int(int(requests)),
                "citing_scr_data": dg.MetadataValue.int(int(citing)),
                "evidence_gaps": dg.MetadataValue.int(int(gaps)),
            }
        )
