"""Determination accuracy: the automated TCO determination (and the ICM checkbox) against the
analysts' reviews of the sampled cases.

Why: the inspector general's second recommendation is to validate the data behind the measure.
The pipeline determines each SCR's TCO status from ICM fields; analysts review a random sample
of cases against the two prongs of the definition. This asset compares the two, so the
agency can say how often the determination is wrong (docs/audit-statistics.md, "Determination
accuracy").

For every recorded sample, over the *counted disruption/dismantlement SCRs* (current record
approved and valid) of its cases with a current, valid review, approved in the fiscal years the
sample covers: the count of SCRs per (fiscal year, source, value, analyst_verdict). ``source``
is ``determination`` (TCO / NON_TCO / UNDETERMINED) or ``checkbox`` (the raw
``tco_involvement``: ``Y``, ``N`` or the empty string); ``analyst_verdict`` is ``TCO`` when
the review says Y to both prongs, else ``NOT_TCO``; a case's verdict applies to all of its
SCRs, as the OIG counted. Only non-empty cells are rows.

Agreement is measured on the 2x2 table of the values that make a claim (TCO or Y against
NON_TCO or N) by the verdict; UNDETERMINED SCRs and an empty checkbox make no claim and are
counted apart (``not_compared``), never as agreement or disagreement (``AGREEMENT_SQL``).
"""

import dagster as dg
import duckdb

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import FilesResource, WarehouseResource
from assets.audit.tables import ensure_audit_tables
from schemas.counting import COUNTING_MACROS

OUTPUT_FILE = "determination_accuracy.parquet"

# One row per (sample, reviewed case): the analysts' verdict (TCO when both prongs are Y). Only
# cases with a verdict in force (status 'reviewed'): not disputed, unreviewable or rejected ones
# (assets/audit/case_reviews.py). Shared with measure_estimates.
REVIEWED_CASES_SQL = """
SELECT c.sample_id, c.case_number, r.analyst_verdict
FROM audit_sample_cases c
JOIN case_review_current r ON r.case_number = c.case_number AND r.status = 'reviewed'
"""

ACCURACY_SQL = f"""
WITH reviewed AS ({REVIEWED_CASES_SQL}),
scrs AS (
    SELECT v.sample_id, s.fiscal_year, v.analyst_verdict,
        s.determination, coalesce(s.tco_involvement, '') AS checkbox
    FROM reviewed v JOIN audit_samples a USING (sample_id)
    JOIN scr_current s ON s.case_number = v.case_number AND s.counted AND is_dd(s.scr_type)
        AND s.fiscal_year BETWEEN a.fiscal_year_from AND a.fiscal_year_to
)
SELECT CAST(sample_id AS INTEGER) AS sample_id, CAST(fiscal_year AS INTEGER) AS fiscal_year,
    source, value, analyst_verdict, count(*) AS scrs
FROM scrs UNPIVOT (value FOR source IN (determination, checkbox))
GROUP BY ALL
ORDER BY sample_id, fiscal_year, source DESC, value, analyst_verdict
"""


def agreement_kappa_sql(a: str, b: str, c: str, d: str) -> str:
    """Select items ``agreement`` and ``kappa`` of a 2x2 table of two raters (the one place this
    arithmetic lives; also ``assets/audit/reviewer_agreement.py``): ``a`` both say yes, ``b``
    the first yes and the second no, ``c`` the reverse, ``d`` both no (column names). Observed
    agreement p_o = (a + d) / n; chance agreement p_e = ((a + b)(a + c) + (c + d)(b + d)) / n^2;
    kappa = (p_o - p_e) / (1 - p_e), NULL when n = 0 or p_e = 1 (both always say the same)."""
    n = f"({a} + {b} + {c} + {d})"
    chance = (
        f"(CAST(({a} + {b}) * ({a} + {c}) + ({c} + {d}) * ({b} + {d}) AS DOUBLE) / ({n} * {n}))"
    )
    observed = f"(({a} + {d}) / {n})"
    return (
        f"CASE WHEN {n} > 0 THEN {observed} END AS agreement, "
        f"CASE WHEN {n} > 0 AND {chance} < 1 THEN ({observed} - {chance}) / (1 - {chance}) END "
        "AS kappa"
    )


# Per sample and fiscal year (and per sample over all its years: fiscal_year NULL) and source:
# the 2x2 of claim (TCO/Y vs NON_TCO/N) by verdict, and the four measures read from it.
AGREEMENT_SQL = f"""
WITH t AS (
    SELECT *, CASE WHEN value IN ('TCO', 'Y') THEN 'TCO'
                   WHEN value IN ('NON_TCO', 'N') THEN 'NOT_TCO' END AS claim
    FROM determination_accuracy
), g AS (
    SELECT sample_id, fiscal_year, source, sum(scrs) AS scrs,
        coalesce(sum(scrs) FILTER (claim IS NULL), 0) AS not_compared,
        coalesce(sum(scrs) FILTER (claim = 'TCO' AND analyst_verdict = 'TCO'), 0) AS tco_tco,
        coalesce(sum(scrs) FILTER (claim = 'TCO' AND analyst_verdict = 'NOT_TCO'), 0) AS tco_not,
        coalesce(sum(scrs) FILTER (claim = 'NOT_TCO' AND analyst_verdict = 'TCO'), 0) AS not_tco,
        coalesce(sum(scrs) FILTER (claim = 'NOT_TCO' AND analyst_verdict = 'NOT_TCO'), 0)
            AS not_not
    FROM t GROUP BY GROUPING SETS ((sample_id, fiscal_year, source), (sample_id, source))
), m AS (
    SELECT *, tco_tco + tco_not + not_tco + not_not AS compared,
        {agreement_kappa_sql("tco_tco", "tco_not", "not_tco", "not_not")}
    FROM g
)
SELECT CAST(sample_id AS INTEGER) AS sample_id, CAST(fiscal_year AS INTEGER) AS fiscal_year,
    source, CAST(scrs AS BIGINT) AS scrs, CAST(compared AS BIGINT) AS compared,
    CAST(not_compared AS BIGINT) AS not_compared, CAST(tco_tco AS BIGINT) AS tco_tco,
    CAST(tco_not AS BIGINT) AS tco_not, CAST(not_tco AS BIGINT) AS not_tco,
    CAST(not_not AS BIGINT) AS not_not, agreement,
    CASE WHEN tco_tco + tco_not > 0 THEN tco_not / (tco_tco + tco_not) END AS tco_rejected,
    CASE WHEN not_tco + not_not > 0 THEN not_tco / (not_tco + not_not) END AS non_tco_accepted,
    kappa
FROM m
ORDER BY sample_id, fiscal_year NULLS LAST, source DESC
"""


def build_accuracy(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)compute ``determination_accuracy`` and ``determination_agreement`` in the warehouse."""
    ensure_audit_tables(con)
    con.execute(COUNTING_MACROS)  # is_dd, also on a connection the warehouse resource did not open
    con.execute(f"CREATE OR REPLACE TABLE determination_accuracy AS {ACCURACY_SQL}")
    con.execute(f"CREATE OR REPLACE TABLE determination_agreement AS {AGREEMENT_SQL}")


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def headline(con: duckdb.DuckDBPyConnection) -> str:
    """The latest reviewed sample over all its years, in one line (log and metadata)."""
    row = con.execute(
        "SELECT sample_id, compared, not_compared, agreement, tco_rejected, non_tco_accepted, "
        "kappa FROM determination_agreement WHERE fiscal_year IS NULL AND source = 'determination' "
        "ORDER BY sample_id DESC LIMIT 1"
    ).fetchall()
    if not row:
        return "no reviewed sample yet: determination accuracy not measured"
    sid, compared, skipped, agree, rejected, accepted, kappa = row[0]
    k = "n/a" if kappa is None else f"{kappa:.3f}"
    return (
        f"sample {sid}: the analysts agree with the determination for {_pct(agree)} of "
        f"{compared:,} compared SCRs ({skipped:,} UNDETERMINED not compared); they reject "
        f"{_pct(rejected)} of determined-TCO SCRs and accept {_pct(accepted)} of "
        f"determined-NON_TCO ones; Cohen's kappa {k}"
    )


def _latest_metrics(con: duckdb.DuckDBPyConnection) -> dict[str, dg.MetadataValue]:
    """Numbers a UI chart can plot: the latest sample's measures over all its years."""
    row = con.execute(
        "SELECT agreement, tco_rejected, non_tco_accepted, kappa, compared, not_compared "
        "FROM determination_agreement WHERE fiscal_year IS NULL AND source = 'determination' "
        "ORDER BY sample_id DESC LIMIT 1"
    ).fetchall()
    if not row:
        return {}
    names = ("agreement_rate", "share_tco_rejected", "share_non_tco_accepted", "cohens_kappa")
    values = zip(names, row[0][:4], strict=True)
    out = {n: dg.MetadataValue.float(float(v)) for n, v in values if v is not None}
    out["scrs_compared"] = dg.MetadataValue.int(int(row[0][4]))
    out["scrs_not_compared"] = dg.MetadataValue.int(int(row[0][5]))
    return out


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["case_review_current", "audit_samples", "scr_current"],
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    description="Counted disruption/dismantlement SCRs of the reviewed sample cases per sample, "
    "fiscal year, source (determination or checkbox), value and analyst verdict; agreement "
    "rate, rejected/accepted shares and Cohen's kappa in the metadata; published as "
    "determination_accuracy.parquet.",
)
def determination_accuracy(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        build_accuracy(con)
        meta = table_metadata(con, "determination_accuracy")
        agreement = markdown_preview(
            con,
            "SELECT sample_id, coalesce(CAST(fiscal_year AS VARCHAR), 'all') AS fiscal_year, "
            "source, compared, not_compared, round(agreement, 4) AS agreement, "
            "round(tco_rejected, 4) AS tco_rejected, round(non_tco_accepted, 4) AS "
            "non_tco_accepted, round(kappa, 4) AS kappa FROM determination_agreement "
            "WHERE sample_id = (SELECT max(sample_id) FROM determination_agreement)",
        )
        text = headline(con)
        latest = _latest_metrics(con)
    context.log.info(f"{meta['dagster/row_count'].value:,} accuracy cell(s); {text}")
    return dg.MaterializeResult(
        metadata={
            **meta,
            **latest,
            "headline": dg.MetadataValue.text(text),
            "agreement": dg.MetadataValue.md(agreement),
            "output_file": dg.MetadataValue.path(str(files.output / OUTPUT_FILE)),
        }
    )
