"""Evidence to close the audit's three recommendations, by period, from the data.

Why: the inspector general closes a recommendation only on "evidence of completion of agreed-upon
corrective actions". These three tables are that evidence, computed from the same warehouse as
the measure: (1) the TCO checkbox on SCRs created since 18 July 2023, by fiscal quarter of
creation; (2) the validation process by fiscal year (rules, findings, quarantine, samples,
measured accuracy); (3) resource requests citing SCR data by budget year, before and after the
guidance date (ICE's estimated completion, 31 January 2024). The report's section 8 and the
workbook's "Rec" sheets show the same rows.
"""

from __future__ import annotations

import duckdb

from assets._shared.metadata import existing_tables
from assets.report.html import Col, fmt_count, fmt_pct, section, table

GUIDANCE_DATE = "2024-01-31"  # ICE's estimated completion of the resource request guidance

CHECKBOX_SQL = """
SELECT CAST(year(created_at) + CASE WHEN month(created_at) >= 10 THEN 1 ELSE 0 END AS INTEGER)
        AS fiscal_year,
    CAST(((month(created_at) + 2) % 12) // 3 + 1 AS INTEGER) AS fiscal_quarter,
    count(*) AS scrs_created,
    count(*) FILTER (tco_involvement IN ('Y', 'N')) AS checkbox_filled,
    count(*) FILTER (tco_involvement IN ('Y', 'N')) / count(*) AS checkbox_share,
    count(*) FILTER (tco_involvement = 'Y') AS checkbox_yes,
    count(*) FILTER (indicator_conflict) AS conflicts
FROM scr_current WHERE created_at >= TIMESTAMP '2023-07-18'
GROUP BY ALL ORDER BY fiscal_year, fiscal_quarter
"""
VALIDATION_SQL = """
SELECT fiscal_year, rules_applied, error_findings, warning_findings + indicator_conflicts
        AS warning_findings, quarantined, scrs_with_approval, quarantined_share,
    audit_sample_id, audit_sample_size, accuracy_sample_id, accuracy_reviewed_cases,
    accuracy_agreement, tco_estimate, tco_lower_bound, tco_upper_bound, dd_tco
FROM vv_statement ORDER BY fiscal_year
"""
REQUESTS_SQL = """
SELECT fiscal_year,
    CASE WHEN submitted_date > CAST($guidance AS DATE) THEN 'after guidance'
         ELSE 'before guidance' END AS period,
    count(*) AS requests,
    count(*) FILTER (cites_scr_data = 'Y') AS citing_scr_data,
    count(*) FILTER (cites_scr_data = 'Y') / count(*) AS citing_share,
    count(*) FILTER (evidence_gap) AS evidence_not_cited
FROM resource_request_evidence GROUP BY ALL ORDER BY fiscal_year, period DESC
"""
SOURCES = {
    "checkbox": ("scr_current", CHECKBOX_SQL),
    "validation": ("vv_statement", VALIDATION_SQL),
    "requests": ("resource_request_evidence", REQUESTS_SQL),
}


def gather(con: duckdb.DuckDBPyConnection, rows) -> dict[str, list[dict]]:
    """The three tables (an empty list when the table behind one is not built)."""
    have = existing_tables(con)
    out = {}
    for name, (table_name, sql) in SOURCES.items():
        params = {"guidance": GUIDANCE_DATE} if "$guidance" in sql else None
        try:
            out[name] = rows(con, sql, params) if table_name in have else []
        except duckdb.BinderException:  # a table another stage builds, not (yet) in its shape
            out[name] = []
    return out


def _fy(v: object) -> str:
    return f"FY{v}"


CHECKBOX_COLS = [
    Col("fiscal_year", "Fiscal year", _fy),
    Col("fiscal_quarter", "Quarter created", lambda v: f"Q{v}"),
    Col("scrs_created", "SCRs created", fmt_count, True),
    Col("checkbox_filled", "Checkbox filled", fmt_count, True),
    Col("checkbox_share", "Share filled", fmt_pct, True),
    Col("checkbox_yes", "Answered TCO", fmt_count, True),
    Col("conflicts", "Conflicts with the definition", fmt_count, True),
]
VALIDATION_COLS = [
    Col("fiscal_year", "Fiscal year", _fy),
    Col("rules_applied", "Rules applied", fmt_count, True),
    Col("error_findings", "Errors", fmt_count, True),
    Col("warning_findings", "Warnings", fmt_count, True),
    Col("quarantined", "Quarantined SCRs", fmt_count, True),
    Col("audit_sample_size", "Cases sampled", fmt_count, True),
    Col("accuracy_reviewed_cases", "Cases reviewed", fmt_count, True),
    Col("accuracy_agreement", "Agreement", fmt_pct, True),
    Col("dd_tco", "Published TCO count", fmt_count, True),
    Col("tco_estimate", "Estimate", fmt_count, True),
    Col("tco_lower_bound", "90% lower", fmt_count, True),
    Col("tco_upper_bound", "90% upper", fmt_count, True),
]
REQUEST_COLS = [
    Col("fiscal_year", "Budget year", _fy),
    Col("period", "Submitted"),
    Col("requests", "Requests", fmt_count, True),
    Col("citing_scr_data", "Citing SCR data", fmt_count, True),
    Col("citing_share", "Share citing", fmt_pct, True),
    Col("evidence_not_cited", "SCR evidence not cited", fmt_count, True),
]


def closeout_section(data: dict[str, list[dict]]) -> str:
    """Section 8: one table per recommendation, each naming the file its figures come from."""
    body = (
        "<h3>Recommendation 1: every SCR says whether a TCO is involved</h3>"
        + table(CHECKBOX_COLS, data["checkbox"], "closeout-checkbox-table",
                "One row per fiscal quarter of creation, SCRs created on or after 18 July 2023: "
                "how many carry the TCO checkbox, and how many answers conflict with the "
                "definition test (quarantined_scrs.parquet, validation_findings.parquet)")
        + "<h3>Recommendation 2: the data behind the measure are validated</h3>"
        + table(VALIDATION_COLS, data["validation"], "closeout-validation-table",
                "One row per fiscal year: the rules, findings and quarantine of every refresh, "
                "the audit samples drawn and reviewed, and the measured accuracy with its 90% "
                "interval (vv_statement.parquet and the V&V pages)")
        + "<h3>Recommendation 3: resource requests use SCR data</h3>"
        + table(REQUEST_COLS, data["requests"], "closeout-requests-table",
                f"One row per budget year and period (submitted on or before / after "
                f"{GUIDANCE_DATE}, the guidance's estimated completion): requests citing SCR "
                "data, and requests whose categories had SCR evidence they did not cite "
                "(resource_request_evidence.parquet)")
    )  # fmt: skip
    return section(
        "closeout",
        "8. Evidence for closing the three recommendations",
        "The inspector general closes a recommendation on evidence that the agreed corrective "
        "actions are complete. These tables are that evidence, from the same data as the "
        "measure, by period.",
        body,
    )
