"""Rules for case reviews: the typed view over raw review rows and the pandera schema for it.

As for SCRs (``schemas/scr_extract.py``), parsing and look-ups happen once in DuckDB: blank
values become NULL, ``reviewed_d`` is the parsed date (NULL when present but unreadable) and
``in_sample`` says whether the case was drawn into any recorded audit sample. Each pandera check
is named by its ``rule_id`` from ``reference/case_review_rules.csv``. A case number in a CSV
review is read without the quote the CSV worksheet put before a formula-like value
(``schemas/spreadsheet_text.py``), so a filled worksheet names the case as it was drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.extracts import CASE_REVIEWS
from schemas.rule_blocks import (
    DATE_RE,
    FUTURE_AFTER_SQL,
    YES_NO,
    cleaned_columns,
    cleaning_warnings,
    col,
    length_ok,
    not_future,
    one_of,
    parsed,
    schema_from_rules,
    value_sql,
)
from schemas.spreadsheet_text import unprotect_sql

if TYPE_CHECKING:
    import pandera.polars as pa
    import polars as pl

RULE_PREFIX = "cr."


# Needs audit_sample_cases (created empty by assets.audit.sample.ensure_audit_tables).
TYPED_VIEW_SQL = f"""
CREATE OR REPLACE VIEW case_review_versions AS
SELECT file_id, source_file, source_row,
    {", ".join(cleaned_columns(CASE_REVIEWS.columns, CASE_REVIEWS.identity_columns))},
    {parsed("reviewed_on", DATE_RE, "DATE", "reviewed_d")}, {FUTURE_AFTER_SQL},
    {value_sql("case_number", identity=True)} IN (SELECT case_number FROM audit_sample_cases)
        AS in_sample
FROM (
    SELECT * REPLACE (CASE WHEN lower(source_file) LIKE '%.csv'
        THEN {unprotect_sql("case_number")} ELSE case_number END AS case_number)
    FROM active_raw_case_reviews
)
"""


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a review row passes the rule."""
    return {
        "cr.case_number.required": col("case_number").is_not_null(),
        "cr.case_number.length": length_ok("case_number"),
        "cr.case_number.in_sample": col("case_number").is_null()
        | col("in_sample").fill_null(False),
        "cr.reviewed_on.required": col("reviewed_on").is_not_null(),
        "cr.reviewed_on.format": col("reviewed_on").is_null() | col("reviewed_d").is_not_null(),
        "cr.association_of_individuals.required": col("association_of_individuals").is_not_null(),
        "cr.association_of_individuals.enum": one_of("association_of_individuals", YES_NO),
        "cr.crosses_international_border.required": col(
            "crosses_international_border"
        ).is_not_null(),
        "cr.crosses_international_border.enum": one_of("crosses_international_border", YES_NO),
        "cr.reviewed_on.future": not_future("reviewed_d", date=True),
        **cleaning_warnings("cr.", CASE_REVIEWS.columns, CASE_REVIEWS.identity_columns),
    }


def case_review_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``case_review_versions`` rows."""
    return schema_from_rules("case_review", RULE_PREFIX, rule_expressions())
