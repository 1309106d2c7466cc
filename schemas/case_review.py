"""Rules for case reviews: the typed view over raw review rows and the pandera schema for it.

As for SCRs (``schemas/scr_extract.py``), parsing and look-ups happen once in DuckDB: blank
values become NULL, ``reviewed_d`` is the parsed date (NULL when present but unreadable) and
``in_sample`` says whether the case was drawn into any recorded audit sample. Each pandera check
is named by its ``rule_id`` from ``reference/case_review_rules.csv``. A case number in a CSV
review is read without the quote the CSV worksheet put before a formula-like value
(``schemas/spreadsheet_text.py``), so a filled worksheet names the case as it was drawn.

``reviewed_on`` is an ISO date (``YYYY-MM-DD``; an Excel date cell arrives as one), and in a CSV
also a US date ``M/D/YYYY``, as Excel on a US locale saves a date cell to CSV (``12/07/2026`` is
7 December 2026). The optional columns: ``review_role`` (``first``, ``second``,
``adjudication``; empty is ``first``) and ``review_outcome`` (empty or ``REVIEWED``: a verdict on
both prongs; ``UNREVIEWABLE``: the case file could not be reviewed, both prongs left empty).
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
    schema_from_rules,
    value_sql,
)
from schemas.spreadsheet_text import unprotect_sql

if TYPE_CHECKING:
    import pandera.polars as pa
    import polars as pl

RULE_PREFIX = "cr."


ROLES = ("first", "second", "adjudication")
OUTCOMES = ("REVIEWED", "UNREVIEWABLE")
US_DATE_RE = r"(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/[0-9]{4}"
# ISO everywhere; M/D/YYYY (US) only in a CSV, where Excel writes it (an impossible day is NULL)
REVIEWED_D_SQL = f"""CASE WHEN regexp_full_match({value_sql("reviewed_on")}, '{DATE_RE}')
        THEN TRY_CAST({value_sql("reviewed_on")} AS DATE)
    WHEN lower(source_file) LIKE '%.csv' AND regexp_full_match({value_sql("reviewed_on")}, '{US_DATE_RE}')
        THEN CAST(try_strptime({value_sql("reviewed_on")}, '%m/%d/%Y') AS DATE) END AS reviewed_d"""

# Needs audit_sample_cases (created empty by assets.audit.sample.ensure_audit_tables).
TYPED_VIEW_SQL = f"""
CREATE OR REPLACE VIEW case_review_versions AS
SELECT file_id, source_file, source_row,
    {", ".join(cleaned_columns(CASE_REVIEWS.columns, CASE_REVIEWS.identity_columns))},
    {REVIEWED_D_SQL}, {FUTURE_AFTER_SQL},
    {value_sql("case_number", identity=True)} IN (SELECT case_number FROM audit_sample_cases)
        AS in_sample
FROM (
    SELECT * REPLACE (CASE WHEN lower(source_file) LIKE '%.csv'
        THEN {unprotect_sql("case_number")} ELSE case_number END AS case_number)
    FROM active_raw_case_reviews
)
"""


def _unreviewable() -> pl.Expr:
    return col("review_outcome").fill_null("") == "UNREVIEWABLE"


def _prong_given(prong: str) -> pl.Expr:
    """A prong is required on every review except one marking the case file unreviewable."""
    return col(prong).is_not_null() | _unreviewable()


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a review row passes the rule."""
    return {
        "cr.case_number.required": col("case_number").is_not_null(),
        "cr.case_number.length": length_ok("case_number"),
        "cr.case_number.in_sample": col("case_number").is_null()
        | col("in_sample").fill_null(False),
        "cr.reviewed_on.required": col("reviewed_on").is_not_null(),
        "cr.reviewed_on.format": col("reviewed_on").is_null() | col("reviewed_d").is_not_null(),
        "cr.association_of_individuals.required": _prong_given("association_of_individuals"),
        "cr.association_of_individuals.enum": one_of("association_of_individuals", YES_NO),
        "cr.crosses_international_border.required": _prong_given("crosses_international_border"),
        "cr.crosses_international_border.enum": one_of("crosses_international_border", YES_NO),
        "cr.reviewed_on.future": not_future("reviewed_d", date=True),
        "cr.review_role.enum": one_of("review_role", ROLES),
        "cr.review_outcome.enum": one_of("review_outcome", OUTCOMES),
        "cr.review_outcome.unreviewable_prongs": ~_unreviewable()
        | (
            col("association_of_individuals").is_null()
            & col("crosses_international_border").is_null()
        ),
        **cleaning_warnings("cr.", CASE_REVIEWS.columns, CASE_REVIEWS.identity_columns),
    }


def case_review_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``case_review_versions`` rows."""
    return schema_from_rules("case_review", RULE_PREFIX, rule_expressions())
