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


TITLE = "6. How accurate the TCO determination is"
AGREEMENT_WORDS = (
    "Agreement is the share of the compared SCRs on which the automated determination (or the "
    "checkbox) and the analysts' verdict say the same thing."
)
KAPPA_WORDS = (
    "Cohen's kappa is that agreement corrected for the agreement two random guessers with the "
    "same proportions would reach by chance: 1 is perfect, 0 is no better than chance."
)


def accuracy_section(data: dict | None) -> str:
    """Agreement table and estimate table in plain words; one sentence before any sample or
    any review."""
    if data is None:
        return section(
            "accuracy",
            TITLE,
            "No audit sample has been drawn yet, so the accuracy of the automated determination "
            "is not measured. Draw one (scr-pipeline audit draw), have the analysts review its "
            "cases, land the reviews and refresh.",
            "",
        )
    if not data["agreement"] and not data["estimates"]:
        return section(
            "accuracy",
            TITLE,
            "No case of the recorded audit samples has a valid review yet, so the accuracy of "
            "the automated determination is not measured. Land the analysts' reviews "
            "(case_reviews_<date>.csv) and refresh.",
            "",
        )
    intro = (
        "Analysts reviewed randomly sampled cases against the two prongs of the TCO definition; "
        "their verdict is compared here with the automated determination (and the ICM "
        "checkbox) for the counted disruptions and dismantlements of those cases. "
        f"{AGREEMENT_WORDS} {KAPPA_WORDS} UNDETERMINED SCRs and an empty checkbox make no claim "
        "and are counted apart. The estimate scales the share the analysts found TCO-related "
        "up to the year's count, with a 90% interval: the range that holds the true number in "
        "nine samples out of ten."
    )
    return section(
        "accuracy",
        TITLE,
        intro,
        table(AGREEMENT_COLS, data["agreement"], "accuracy-table",
              "One row per sample, fiscal year and source (determination or checkbox): "
              "agreement with the analysts' reviews")
        + table(ESTIMATE_COLS, data["estimates"], "estimates-table",
                "One row per sample and fiscal year: the estimated number of truly TCO-related "
                "disruptions and dismantlements"),
    )  # fmt: skip
