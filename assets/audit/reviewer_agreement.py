"""Reviewer agreement: how often an independent second review agrees with the first.

Why: the analysts' verdict is the truth the determination is measured against; an auditor asks
how reliable the reviews themselves are. Audit practice answers with a second review of part of
the sample (``review_role = second``) and reports agreement between the two reviewers.

Per recorded sample, over its cases with a valid first and a valid second review that both
gave a verdict (neither UNREVIEWABLE; each role's latest valid review, as in
``assets/audit/case_reviews.py``), per item (prong A ``association_of_individuals``, prong B
``crosses_international_border``, and the ``verdict``, TCO when both prongs are Y): the cases
compared, how many agree, the percent agreement and Cohen's kappa (the arithmetic of
``assets.audit.accuracy.agreement_kappa_sql``; docs/audit-statistics.md). An adjudication does
not change agreement: it settles the case, not how often the first two readings agreed.
Published as ``reviewer_agreement.parquet``.
"""

import dagster as dg
import duckdb

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, existing_tables, markdown_preview, table_metadata
from assets._shared.resources import FilesResource, WarehouseResource
from assets.audit.accuracy import agreement_kappa_sql
from assets.audit.tables import ensure_audit_tables

OUTPUT_FILE = "reviewer_agreement.parquet"
ITEMS = ("association_of_individuals", "crosses_international_border", "verdict")

AGREEMENT_SQL = f"""
WITH pairs AS (
    SELECT c.sample_id, c.case_number,
        f.association_of_individuals AS a1, s.association_of_individuals AS a2,
        f.crosses_international_border AS b1, s.crosses_international_border AS b2,
        f.verdict AS v1, s.verdict AS v2
    FROM audit_sample_cases c
    JOIN case_review_role_latest f ON f.case_number = c.case_number AND f.role = 'first'
    JOIN case_review_role_latest s ON s.case_number = c.case_number AND s.role = 'second'
    WHERE f.verdict <> 'UNREVIEWABLE' AND s.verdict <> 'UNREVIEWABLE'
), items AS (  -- each item as yes/no of the first (r1) and the second (r2) reviewer
    SELECT sample_id, 1 AS ord, 'association_of_individuals' AS item, a1 = 'Y' AS r1, a2 = 'Y' AS r2
    FROM pairs
    UNION ALL
    SELECT sample_id, 2, 'crosses_international_border', b1 = 'Y', b2 = 'Y' FROM pairs
    UNION ALL
    SELECT sample_id, 3, 'verdict', v1 = 'TCO', v2 = 'TCO' FROM pairs
), g AS (
    SELECT sample_id, ord, item, count(*) FILTER (r1 AND r2) AS yy,
        count(*) FILTER (r1 AND NOT r2) AS yn, count(*) FILTER (NOT r1 AND r2) AS ny,
        count(*) FILTER (NOT r1 AND NOT r2) AS nn
    FROM items GROUP BY ALL
)
SELECT CAST(sample_id AS INTEGER) AS sample_id, item, CAST(yy + yn + ny + nn AS BIGINT) AS cases,
    CAST(yy + nn AS BIGINT) AS agree, {agreement_kappa_sql("yy", "yn", "ny", "nn")}
FROM g
ORDER BY sample_id, ord
"""

# Per sample: cases in dispute (first and second disagree, no adjudication yet).
DISPUTED_SQL = """
SELECT c.sample_id, count(*) AS in_dispute
FROM audit_sample_cases c JOIN case_review_current r USING (case_number)
WHERE r.status = 'in_dispute' GROUP BY ALL
"""


def build_reviewer_agreement(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)compute ``reviewer_agreement``; empty (with its columns) before any second review."""
    ensure_audit_tables(con)
    if "case_review_role_latest" not in existing_tables(con):  # no review was ever built
        con.execute(
            "CREATE OR REPLACE TABLE reviewer_agreement (sample_id INTEGER, item VARCHAR, "
            "cases BIGINT, agree BIGINT, agreement DOUBLE, kappa DOUBLE)"
        )
        return
    con.execute(f"CREATE OR REPLACE TABLE reviewer_agreement AS {AGREEMENT_SQL}")


def agreement_by_sample(con: duckdb.DuckDBPyConnection) -> dict[int, dict]:
    """sample_id -> {item: (cases, agree, agreement, kappa)} and its ``in_dispute`` count."""
    out: dict[int, dict] = {}
    for sid, item, cases, agree, agreement, kappa in con.execute(
        "SELECT sample_id, item, cases, agree, agreement, kappa FROM reviewer_agreement"
    ).fetchall():
        out.setdefault(sid, {"in_dispute": 0})[item] = (cases, agree, agreement, kappa)
    for sid, n in con.execute(DISPUTED_SQL).fetchall():
        if sid in out:
            out[sid]["in_dispute"] = int(n)
    return out


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _kappa(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def agreement_sentence(agreement: dict | None) -> str:
    """One sentence on the reviewers' agreement in a sample (V&V element C); '' without one."""
    if not agreement or "verdict" not in agreement:
        return ""
    cases, agree, share, kappa = agreement["verdict"]
    a = agreement["association_of_individuals"]
    b = agreement["crosses_international_border"]
    text = (
        f" A second analyst independently reviewed {cases:,} of the sampled cases: the two "
        f"reviews agreed on the verdict for {agree:,} ({_pct(share)}, Cohen's kappa "
        f"{_kappa(kappa)}), on the association of individuals for {a[1]:,} ({_pct(a[2])}) and on "
        f"the border crossing for {b[1]:,} ({_pct(b[2])})"
    )
    if agreement["in_dispute"]:
        text += (
            f"; {agreement['in_dispute']:,} case(s) in dispute are left out of the estimate "
            "until adjudicated"
        )
    return text + "."


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["case_review_current", "audit_samples"],
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    description="Per sample, agreement between the first and the second reviewer of the cases "
    "reviewed twice: cases, agree, percent agreement and Cohen's kappa for prong A, prong B and "
    "the verdict; published as reviewer_agreement.parquet.",
)
def reviewer_agreement(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        build_reviewer_agreement(con)
        meta = table_metadata(con, "reviewer_agreement")
        latest = con.execute(
            "SELECT cases, agreement, kappa FROM reviewer_agreement WHERE item = 'verdict' "
            "ORDER BY sample_id DESC LIMIT 1"
        ).fetchall()
        preview = markdown_preview(con, "SELECT * FROM reviewer_agreement ORDER BY ALL LIMIT 30")
    extra: dict[str, dg.MetadataValue] = {"agreement": dg.MetadataValue.md(preview)}
    if latest:
        cases, share, kappa = latest[0]
        extra["cases_reviewed_twice"] = dg.MetadataValue.int(int(cases))
        extra["verdict_agreement"] = dg.MetadataValue.float(float(share))
        if kappa is not None:
            extra["verdict_kappa"] = dg.MetadataValue.float(float(kappa))
        context.log.info(
            f"latest sample: {cases} case(s) reviewed twice, verdict agreement {_pct(share)}, "
            f"kappa {_kappa(kappa)}"
        )
    else:
        context.log.info("no case has a first and a second review yet")
    return dg.MaterializeResult(
        metadata={
            **meta,
            **extra,
            "output_file": dg.MetadataValue.path(str(files.output / OUTPUT_FILE)),
        }
    )
