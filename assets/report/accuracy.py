"""The report's accuracy section: the automated TCO determination against the analysts' reviews.

Why: the published TCO count is only as good as the determination behind it. This section shows
what the reviewed audit samples measured (determination_accuracy, assets/audit/accuracy.py) and
the ratio estimate of the truly TCO-related count beside the published one
(measure_estimates, assets/audit/estimates.py). Wording kept here, values escaped by ``table``.
"""

import duckdb

from assets._shared.metadata import existing_tables
from assets.report.html import Col, fmt_count, fmt_pct, fmt_text, section, table

AGREEMENT_SQL = """
SELECT sample_id, fiscal_year, source, compared, not_compared, agreement, tco_rejected,
    non_tco_accepted, kappa
FROM determination_agreement ORDER BY sample_id DESC, fiscal_year NULLS LAST, source DESC
"""
ESTIMATES_SQL = """
SELECT sample_id, fiscal_year, method, dd_total, dd_tco_published, reviewed_cases, estimate,
    lower_bound, upper_bound, note
FROM measure_estimates WHERE criminal_category IS NULL  -- a stratified sample's overall row
ORDER BY sample_id DESC, fiscal_year DESC
"""


def gather(con: duckdb.DuckDBPyConnection, rows) -> dict | None:
    """The section's rows (empty lists before any sample was reviewed); None, and no section,
    while no audit sample has been drawn."""
    have = existing_tables(con)
    if "audit_samples" not in have or not rows(con, "SELECT 1 FROM audit_samples LIMIT 1"):
        return None
    return {
        "agreement": rows(con, AGREEMENT_SQL) if "determination_agreement" in have else [],
        "estimates": rows(con, ESTIMATES_SQL) if "measure_estimates" in have else [],
    }


def _fy(v: object) -> str:
    return "all years" if v is None else f"FY{v}"


def _kappa(v: object) -> str:
    return "n/a" if v is None else f"{float(v):.2f}"


AGREEMENT_COLS = [
    Col("sample_id", "Sample", fmt_text),
    Col("fiscal_year", "Fiscal year", _fy),
    Col("source", "Compared", lambda v: "Determination" if v == "determination" else "Checkbox"),
    Col("compared", "SCRs compared", fmt_count, True),
    Col("not_compared", "Not compared (undetermined / empty)", fmt_count, True),
    Col("agreement", "Agreement", fmt_pct, True),
    Col("tco_rejected", "TCO rejected by analysts", fmt_pct, True),
    Col("non_tco_accepted", "Non-TCO accepted as TCO", fmt_pct, True),
    Col("kappa", "Cohen's kappa", _kappa, True),
]
ESTIMATE_COLS = [
    Col("sample_id", "Sample", fmt_text),
    Col("fiscal_year", "Fiscal year", _fy),
    Col("method", "Estimator", lambda v: "stratified" if v == "stratified" else "ratio (cases)"),
    Col("dd_total", "Disruptions + dismantlements", fmt_count, True),
    Col("dd_tco_published", "Published as TCO", fmt_count, True),
    Col("reviewed_cases", "Reviewed cases", fmt_count, True),
    Col("estimate", "Estimated truly TCO", fmt_count, True),
    Col("lower_bound", "90% lower bound", fmt_count, True),
    Col("upper_bound", "90% upper bound", fmt_count, True),
    Col("note", "Note", fmt_text),
]


def accuracy_section(data: dict) -> str:
    """Agreement table and estimate table; one sentence when no sample has been reviewed."""
    if not data["agreement"] and not data["estimates"]:
        return section(
            "accuracy",
            "Accuracy of the TCO determination",
            "No case of the recorded audit samples has a valid review yet, so the accuracy of "
            "the automated determination is not measured. Land the analysts' reviews "
            "(case_reviews_<date>.csv) and refresh.",
            "",
        )
    intro = (
        "Counted disruptions and dismantlements of the reviewed sample cases, the automated "
        "determination (and the ICM checkbox) against the analysts' verdict (TCO when the "
        "review meets both prongs). UNDETERMINED SCRs and an empty checkbox make no claim: "
        "they are counted apart, not as agreement. The estimate is the ratio estimate of the "
        "number truly TCO-related (docs/audit-statistics.md), with its 90% interval."
    )
    return section(
        "accuracy",
        "Accuracy of the TCO determination",
        intro,
        table(AGREEMENT_COLS, data["agreement"], "accuracy-table",
              "Agreement with the analysts' reviews")
        + table(ESTIMATE_COLS, data["estimates"], "estimates-table",
                "Estimated TCO-related disruptions and dismantlements"),
    )  # fmt: skip
