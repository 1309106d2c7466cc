"""Case reviews: validate the analysts' determinations and keep one current review per case.

Why: the projection is only as good as the reviews behind it. Every review row is checked with
pandera (``schemas/case_review.py``; findings in ``case_review_findings`` and so in
validation_findings.parquet), and the current review of a case is its latest: later
``reviewed_on``, then the later file name, then the later ingest, then the later row. As for
SCRs, an unreadable date sorts as the latest, and a current review that breaks an error rule is
rejected as a whole (an older valid review does not stand in for it): the case counts as not
reviewed until a corrected review arrives.
"""

import hashlib

import dagster as dg
import duckdb

import schemas.case_review
from assets._shared.metadata import OWNERS, table_metadata
from assets._shared.resources import WarehouseResource
from assets._shared.validation import findings_asset
from assets.audit.sample import ensure_audit_tables
from schemas.case_review import TYPED_VIEW_SQL, case_review_schema
from schemas.extracts import CASE_REVIEWS

CURRENT_SQL = """
CREATE OR REPLACE TABLE case_review_current AS
WITH errs AS (
    SELECT file_id, source_row, string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
    FROM case_review_findings WHERE severity = 'error' GROUP BY ALL
), ranked AS (
    SELECT v.*,
        row_number() OVER (PARTITION BY case_number ORDER BY reviewed_d DESC NULLS FIRST,
                           source_file DESC, file_id DESC, source_row DESC) AS rn,
        count(*) OVER (PARTITION BY case_number) AS reviews
    FROM case_review_versions v WHERE case_number IS NOT NULL
)
SELECT r.case_number, r.reviewed_d AS reviewed_on, r.association_of_individuals,
    r.crosses_international_border, r.notes, r.reviews, r.file_id, r.source_file, r.source_row,
    e.rules IS NOT NULL AS rejected, e.rules AS rejected_rules,
    CASE WHEN e.rules IS NULL THEN
        r.association_of_individuals = 'N' OR r.crosses_international_border = 'N' END AS exception,
    CASE WHEN e.rules IS NULL THEN CASE
        WHEN r.association_of_individuals = 'N' AND r.crosses_international_border = 'N' THEN 'both'
        WHEN r.association_of_individuals = 'N' THEN 'no_association'
        WHEN r.crosses_international_border = 'N' THEN 'no_border_crossing' END END AS failed_prong
FROM ranked r LEFT JOIN errs e USING (file_id, source_row)
WHERE r.rn = 1
"""


def samples_signature(con: duckdb.DuckDBPyConnection) -> str:
    """Changes when a sample is drawn, so every review is re-checked against the samples."""
    row = con.execute("SELECT count(*), coalesce(max(sample_id), 0) FROM audit_samples").fetchall()[
        0
    ]
    return hashlib.sha256(repr(row).encode()).hexdigest()[:8]


def _samples_for_rules(con: duckdb.DuckDBPyConnection) -> str:
    """The case-review rules read the recorded audit samples: they are part of the fingerprint."""
    ensure_audit_tables(con)
    return samples_signature(con)


case_review_findings = findings_asset(
    name="case_review_findings",
    spec=CASE_REVIEWS,
    module=schemas.case_review,
    schema=case_review_schema,
    view="case_review_versions",
    deps=["raw_case_reviews", "audit_samples"],
    description="One row per failed rule per case review row (pandera checks named by rule_id, "
    "schemas/reference/case_review_rules.csv).",
    prepare=_samples_for_rules,
)


@dg.asset(
    deps=["case_review_findings"],
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per reviewed case: its current review, whether it was rejected by a "
    "rule, and whether the case is an exception (fails prong A, B or both).",
)
def case_review_current(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        con.execute(TYPED_VIEW_SQL)
        con.execute(CURRENT_SQL)
        rejected, exceptions = con.execute(
            "SELECT count(*) FILTER (rejected), count(*) FILTER (exception) "
            "FROM case_review_current"
        ).fetchall()[0]
        meta = table_metadata(con, "case_review_current")
        context.log.info(
            f"{meta['dagster/row_count'].value:,} reviewed case(s): {exceptions:,} exception(s), "
            f"{rejected:,} rejected by a rule"
        )
        return dg.MaterializeResult(
            metadata={
                **meta,
                "rejected": dg.MetadataValue.int(int(rejected)),
                "exceptions": dg.MetadataValue.int(int(exceptions)),
            }
        )
