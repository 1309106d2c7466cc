"""Rules for case reviews: the typed view over raw review rows and the pandera schema for it.

As for SCRs (``schemas/scr_extract.py``), parsing and look-ups happen once in DuckDB: blank
values become NULL, ``reviewed_d`` is the parsed date (NULL when present but unreadable) and
``in_sample`` says whether the case was drawn into any recorded audit sample. Each pandera check
is named by its ``rule_id`` from ``reference/case_review_rules.csv``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.reference import rules
from schemas.scr_extract import MAX_ID_LENGTH

RULE_PREFIX = "cr."
YES_NO = ("Y", "N")
_COLUMNS = (
    "case_number",
    "reviewed_on",
    "association_of_individuals",
    "crosses_international_border",
    "notes",
)


def _blank_to_null(col: str) -> str:
    return f"CASE WHEN trim({col}) = '' THEN NULL ELSE {col} END AS {col}"


# Needs audit_sample_cases (created empty by assets.audit_sample.ensure_audit_tables).
TYPED_VIEW_SQL = f"""
CREATE OR REPLACE VIEW case_review_versions AS
SELECT file_id, source_file, source_row, {", ".join(_blank_to_null(c) for c in _COLUMNS)},
    CASE WHEN regexp_full_match(trim(reviewed_on), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
         THEN TRY_CAST(trim(reviewed_on) AS DATE) END AS reviewed_d,
    case_number IN (SELECT case_number FROM audit_sample_cases) AS in_sample
FROM raw_case_reviews
"""


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _yes_no(name: str) -> pl.Expr:
    return _c(name).is_null() | _c(name).is_in(list(YES_NO))


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a review row passes the rule."""
    return {
        "cr.case_number.required": _c("case_number").is_not_null(),
        "cr.case_number.length": _c("case_number").is_null()
        | _c("case_number").str.len_chars().is_between(1, MAX_ID_LENGTH),
        "cr.case_number.in_sample": _c("case_number").is_null() | _c("in_sample").fill_null(False),
        "cr.reviewed_on.required": _c("reviewed_on").is_not_null(),
        "cr.reviewed_on.format": _c("reviewed_on").is_null() | _c("reviewed_d").is_not_null(),
        "cr.association_of_individuals.required": _c("association_of_individuals").is_not_null(),
        "cr.association_of_individuals.enum": _yes_no("association_of_individuals"),
        "cr.crosses_international_border.required": _c(
            "crosses_international_border"
        ).is_not_null(),
        "cr.crosses_international_border.enum": _yes_no("crosses_international_border"),
    }


def _check(rule_id: str, expr: pl.Expr) -> pa.Check:
    return pa.Check(lambda data, e=expr: data.lazyframe.select(e.alias("ok")), name=rule_id)


def case_review_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``case_review_versions`` rows."""
    exprs = rule_expressions()
    catalogue = {r for r in rules() if r.startswith(RULE_PREFIX)}
    if catalogue != set(exprs):  # the catalogue and the code must agree, rule for rule
        raise RuntimeError(f"rule catalogue and checks differ: {sorted(catalogue ^ set(exprs))}")
    return pa.DataFrameSchema(
        checks=[_check(rule_id, expr) for rule_id, expr in exprs.items()],
        name="case_review",
        strict=False,
    )
