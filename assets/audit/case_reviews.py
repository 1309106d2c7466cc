"""Case reviews: validate the analysts' determinations and keep one current review per case.

Why: the projection and the estimates are only as good as the reviews behind them. Every review
row is checked with pandera (``schemas/case_review.py``; findings in ``case_review_findings`` and
so in validation_findings.parquet). A row that breaks an error rule is a finding and changes
nothing: a case's review in force is chosen from its *valid* reviews only, so a later bad review
(a typo, ``yes`` for ``Y``) leaves the earlier valid one standing.

Per case, among its valid reviews, each role's latest counts (later ``reviewed_on``, then the
later file name, then the later ingest, then the later row):

- the latest ``adjudication`` review, when there is one, stands;
- else the latest ``first`` review (role empty = first) and the latest ``second`` one: when both
  exist and their verdicts differ (TCO when both prongs are Y, else NOT_TCO; UNREVIEWABLE is a
  verdict of its own) the case is ``in_dispute``: no verdict, in no estimate, listed in
  ``case_review_disputes`` and counted by the warning check ``reviews_in_dispute`` until an
  adjudication lands; when they agree the first review stands;
- else the one that exists.

``status``: ``reviewed`` (a verdict in ``analyst_verdict``), ``unreviewable`` (the case file
could not be reviewed), ``in_dispute``, or ``rejected`` (the case has review rows but none is
valid; the columns then show its latest row). ``rejected`` (boolean, the column readers used
before ``status``) is true whenever the case has no verdict in force (status not ``reviewed``),
so every reader that skipped rejected reviews also skips disputed and unreviewable cases.
``rejected_rules`` names the rules broken by the case's latest invalid review, if any.
"""

import hashlib

import dagster as dg
import duckdb

import schemas.case_review
from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import WarehouseResource
from assets._shared.validation import findings_asset
from assets.audit.tables import ensure_audit_tables
from schemas.case_review import TYPED_VIEW_SQL, case_review_schema
from schemas.extracts import CASE_REVIEWS

LATEST = "reviewed_d DESC NULLS FIRST, source_file DESC, file_id DESC, source_row DESC"

# Every review row with its verdict, role and the rules it broke (NULL when valid).
REVIEWS_SQL = f"""
WITH errs AS (
    SELECT file_id, source_row, string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
    FROM case_review_findings WHERE severity = 'error' GROUP BY ALL
), r AS (
    SELECT v.*, e.rules, coalesce(v.review_role, 'first') AS role,
        CASE WHEN v.review_outcome = 'UNREVIEWABLE' THEN 'UNREVIEWABLE'
             WHEN v.association_of_individuals = 'Y' AND v.crosses_international_border = 'Y'
             THEN 'TCO' ELSE 'NOT_TCO' END AS verdict,
        row_number() OVER (PARTITION BY v.case_number ORDER BY {LATEST}) AS latest_row,
        row_number() OVER (PARTITION BY v.case_number, e.rules IS NULL ORDER BY {LATEST})
            AS latest_of_kind
    FROM case_review_versions v LEFT JOIN errs e USING (file_id, source_row)
    WHERE v.case_number IS NOT NULL
)
SELECT *, count(*) OVER (PARTITION BY case_number) AS reviews,
    count(rules) OVER (PARTITION BY case_number) AS invalid_reviews,
    max(CASE WHEN rules IS NOT NULL AND latest_of_kind = 1 THEN rules END)
        OVER (PARTITION BY case_number) AS latest_invalid_rules
FROM r
"""

# The latest valid review of each (case, role).
ROLE_LATEST_SQL = f"""
SELECT * FROM case_review_rows WHERE rules IS NULL
QUALIFY row_number() OVER (PARTITION BY case_number, role ORDER BY {LATEST}) = 1
"""

CURRENT_SQL = """
CREATE OR REPLACE TABLE case_review_current AS
WITH agg AS (
    SELECT case_number, bool_or(role = 'adjudication') AS adjudicated,
        count(DISTINCT verdict) FILTER (role IN ('first', 'second')) > 1 AS disagree
    FROM case_review_role_latest GROUP BY case_number
), chosen AS (
    SELECT l.*, CASE WHEN NOT a.adjudicated AND a.disagree THEN 'in_dispute'
                     WHEN l.verdict = 'UNREVIEWABLE' THEN 'unreviewable'
                     ELSE 'reviewed' END AS status
    FROM case_review_role_latest l JOIN agg a USING (case_number)
    QUALIFY row_number() OVER (PARTITION BY case_number ORDER BY
        CASE role WHEN 'adjudication' THEN 0 WHEN 'first' THEN 1 ELSE 2 END) = 1
), picked AS (
    SELECT * FROM chosen
    UNION ALL BY NAME
    SELECT *, 'rejected' AS status FROM case_review_rows r
    WHERE r.latest_row = 1 AND NOT EXISTS (
        SELECT 1 FROM case_review_role_latest l WHERE l.case_number = r.case_number)
)
SELECT case_number, reviewed_d AS reviewed_on, association_of_individuals,
    crosses_international_border, notes, reviews, file_id, source_file, source_row,
    status <> 'reviewed' AS rejected, latest_invalid_rules AS rejected_rules,
    CASE WHEN status = 'reviewed' THEN
        association_of_individuals = 'N' OR crosses_international_border = 'N' END AS exception,
    CASE WHEN status = 'reviewed' THEN CASE
        WHEN association_of_individuals = 'N' AND crosses_international_border = 'N' THEN 'both'
        WHEN association_of_individuals = 'N' THEN 'no_association'
        WHEN crosses_international_border = 'N' THEN 'no_border_crossing' END END AS failed_prong,
    reviewer, CASE WHEN status <> 'rejected' THEN role END AS review_role,
    coalesce(review_outcome, 'REVIEWED') AS review_outcome, status,
    CASE WHEN status = 'reviewed' THEN verdict END AS analyst_verdict,
    CAST(invalid_reviews AS BIGINT) AS invalid_reviews
FROM picked
ORDER BY case_number
"""

# The first and second reviews of each disputed case, side by side.
DISPUTES_SQL = """
CREATE OR REPLACE TABLE case_review_disputes AS
SELECT c.case_number, f.reviewer AS first_reviewer, f.reviewed_d AS first_reviewed_on,
    f.verdict AS first_verdict, f.source_file AS first_source_file,
    f.source_row AS first_source_row, s.reviewer AS second_reviewer,
    s.reviewed_d AS second_reviewed_on, s.verdict AS second_verdict,
    s.source_file AS second_source_file, s.source_row AS second_source_row
FROM case_review_current c
JOIN case_review_role_latest f ON f.case_number = c.case_number AND f.role = 'first'
JOIN case_review_role_latest s ON s.case_number = c.case_number AND s.role = 'second'
WHERE c.status = 'in_dispute'
ORDER BY c.case_number
"""

# Error and warning findings of the review files in force, newest file first (refresh summary).
FINDINGS_SQL = """
SELECT source_file, source_row, column_name, rule_id, severity FROM case_review_findings
WHERE file_id IN (SELECT file_id FROM ingested_files WHERE state = 'active')
ORDER BY severity, file_id DESC, source_row, rule_id
"""
FIRST_FINDINGS = 3


def build_current(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build ``case_review_current`` and ``case_review_disputes`` from the review rows."""
    con.execute(TYPED_VIEW_SQL)
    current_from_versions(con)


def current_from_versions(con: duckdb.DuckDBPyConnection) -> None:
    """The choice of the review in force, over ``case_review_versions`` and the findings."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW case_review_rows AS {REVIEWS_SQL}")
    con.execute(f"CREATE OR REPLACE TABLE case_review_role_latest AS {ROLE_LATEST_SQL}")
    con.execute(CURRENT_SQL)
    con.execute(DISPUTES_SQL)


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


DISPUTE_CHECK = "reviews_in_dispute"


def _review_findings(con: duckdb.DuckDBPyConnection) -> dict[str, dg.MetadataValue]:
    """Error and warning findings of the review files in force, and the first few errors named
    (file, row, column, rule), for the refresh summary and the UI."""
    rows = con.execute(FINDINGS_SQL).fetchall()
    errors = [r for r in rows if r[4] == "error"]
    first = [
        {"file": f, "row": int(n), "column": c, "rule": r}
        for f, n, c, r, _ in errors[:FIRST_FINDINGS]
    ]
    return {
        "review_errors": dg.MetadataValue.int(len(errors)),
        "review_warnings": dg.MetadataValue.int(len(rows) - len(errors)),
        "first_review_errors": dg.MetadataValue.json(first),
    }


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["case_review_findings"],
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per reviewed case: the review in force (the latest valid one; an "
    "adjudication over a first and second review), its status (reviewed, unreviewable, "
    "in_dispute, rejected), the analysts' verdict, and whether the case is an exception (fails "
    "prong A, B or both). Disputed cases are listed in case_review_disputes.",
    check_specs=[
        dg.AssetCheckSpec(
            DISPUTE_CHECK,
            asset="case_review_current",
            description="No case is in dispute: a case whose first and second reviews disagree "
            "on the verdict is left out of every estimate until an adjudication review lands "
            "(review_role = adjudication). Warns with the number of such cases.",
        )
    ],
)
def case_review_current(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        build_current(con)
        counts = dict(
            con.execute("SELECT status, count(*) FROM case_review_current GROUP BY ALL").fetchall()
        )
        (exceptions,) = con.execute(
            "SELECT count(*) FILTER (exception) FROM case_review_current"
        ).fetchall()[0]
        disputed = int(counts.get("in_dispute", 0))
        meta = table_metadata(con, "case_review_current")
        disputes = markdown_preview(con, "SELECT * FROM case_review_disputes LIMIT 20")
        findings = _review_findings(con)
    context.log.info(
        f"{meta['dagster/row_count'].value:,} reviewed case(s): {counts.get('reviewed', 0):,} "
        f"with a verdict ({exceptions:,} exception(s)), {disputed:,} in dispute, "
        f"{counts.get('unreviewable', 0):,} unreviewable, {counts.get('rejected', 0):,} with no "
        "valid review"
    )
    return dg.MaterializeResult(
        metadata={
            **meta,
            **{
                name: dg.MetadataValue.int(int(counts.get(status, 0)))
                for name, status in (
                    ("reviewed", "reviewed"),
                    ("rejected", "rejected"),
                    ("in_dispute", "in_dispute"),
                    ("unreviewable", "unreviewable"),
                )
            },
            "exceptions": dg.MetadataValue.int(int(exceptions)),
            "disputes": dg.MetadataValue.md(disputes),
            **findings,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=DISPUTE_CHECK,
                passed=disputed == 0,
                severity=dg.AssetCheckSeverity.WARN,
                description=None
                if disputed == 0
                else f"{disputed} case(s) in dispute: their first and second reviews disagree on "
                "the verdict; land an adjudication review (review_role = adjudication) for each "
                "(table case_review_disputes).",
                metadata={"in_dispute": disputed},
            )
        ],
    )
