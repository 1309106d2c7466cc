"""Rules for SCR versions: the typed view over raw rows and the pandera schema that checks it.

Cleaning and parsing happen once, in DuckDB, in ``TYPED_COLUMNS_SQL``: every value is trimmed
(blank is missing), ``scr_id``/``case_number`` are upper-cased, timestamps become Eastern wall
time; a value that is present but does not parse becomes NULL in its typed column, and the
pandera ``*.format`` rules flag exactly that. Each pandera check is named by its ``rule_id`` from
``reference/scr_rules.csv``; checks are null-safe polars expressions over one batch of rows.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from schemas.extracts import SCR
from schemas.fiscal import PROGRAM_START
from schemas.reference import country_codes, criminal_categories
from schemas.rule_blocks import (
    DATE_RE,
    FUTURE_AFTER_SQL,
    INTEGER_RE,
    cleaned_columns,
    cleaning_warnings,
    col,
    digits_only,
    eastern_timestamp,
    labels_known,
    length_ok,
    not_before,
    not_future,
    nul_warnings,
    one_of,
    parsed,
    parses,
    present,
    schema_from_rules,
)

if TYPE_CHECKING:
    import pandera.polars as pa
    import polars as pl

SCR_TYPES = ("INITIAL", "DISRUPTION", "DISMANTLEMENT")
STATUSES = ("APPROVED", "PENDING", "RETURNED", "REJECTED", "WITHDRAWN")
CHECKBOX_FROM = dt.datetime(2023, 7, 18)  # ICM made "TCO involvement" mandatory on this day
INDICATOR_CONFLICT_RULE = "scr.tco_involvement.conflict"  # a warning on current records only
# Columns no shape rule judges: a NUL in them is a warning of its own (``scr.<column>.nul``); in
# any other column a NUL already breaks its enum, format or date rule.
FREE_TEXT = ("scr_id", "case_number", "subcategory", "field_office")


# Select list over raw_scr_versions: blank values are missing; typed columns for the rules.
def typed_columns_sql() -> str:
    """The select list, built from the rule blocks (``TYPED_COLUMNS_SQL`` is this, built once at
    import; a call builds it afresh, so a test sees a changed block)."""
    return ",\n".join(
        [
            "file_id",
            "source_file",
            "source_row",
            *cleaned_columns(SCR.columns, SCR.identity_columns),
            eastern_timestamp("created_at", "created_ts"),
            parsed("submitted_date", DATE_RE, "DATE", "submitted_d"),
            parsed("approved_date", DATE_RE, "DATE", "approved_d"),
            eastern_timestamp("last_modified_at", "last_modified_ts"),
            parsed("subject_count", INTEGER_RE, "BIGINT", "subject_count_i"),
            FUTURE_AFTER_SQL,
        ]
    )


TYPED_COLUMNS_SQL = typed_columns_sql()

# View used by validation and by the current-record step: rows of active files only.
TYPED_VIEW_SQL = f"CREATE OR REPLACE VIEW scr_versions AS SELECT {TYPED_COLUMNS_SQL} FROM active_raw_scr_versions"


def _countries_ok() -> pl.Expr:
    shape = col("countries").is_null() | col("countries").str.contains(r"^[A-Z]{2}(;[A-Z]{2})*$")
    return shape.fill_null(False) & labels_known("countries", sorted(country_codes()))


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a row passes the rule."""
    approved = col("status") == "APPROVED"
    return {
        "scr.scr_id.required": present("scr_id"),
        "scr.scr_id.length": length_ok("scr_id"),
        "scr.case_number.required": present("case_number"),
        "scr.case_number.length": length_ok("case_number"),
        "scr.scr_type.required": present("scr_type"),
        "scr.scr_type.enum": one_of("scr_type", SCR_TYPES),
        "scr.criminal_category.required": present("criminal_category"),
        "scr.criminal_category.enum": one_of("criminal_category", criminal_categories()),
        "scr.field_office.required": present("field_office"),
        "scr.status.required": present("status"),
        "scr.status.enum": one_of("status", STATUSES),
        "scr.created_at.required": present("created_at"),
        "scr.created_at.format": parses("created_at", "created_ts"),
        "scr.submitted_date.required": present("submitted_date"),
        "scr.submitted_date.format": parses("submitted_date", "submitted_d"),
        "scr.submitted_date.after_created": not_before("submitted_d", col("created_ts").dt.date()),
        "scr.approved_date.format": parses("approved_date", "approved_d"),
        "scr.approved_date.required_when_approved": ~approved.fill_null(False)
        | present("approved_date"),
        "scr.approved_date.only_when_approved": col("approved_date").is_null()
        | approved.fill_null(False),
        "scr.approved_date.after_submitted": not_before("approved_d", col("submitted_d")),
        "scr.approved_date.before_program": col("approved_d").is_null()
        | (col("approved_d") >= PROGRAM_START),
        "scr.tco_involvement.enum": one_of("tco_involvement", ("Y", "N")),
        "scr.tco_involvement.required_from_2023_07_18": col("created_ts").is_null()
        | (col("created_ts") < CHECKBOX_FROM)
        | present("tco_involvement"),
        "scr.subject_count.integer": digits_only("subject_count"),
        "scr.subject_count.range": ~digits_only("subject_count")
        | parses("subject_count", "subject_count_i"),
        "scr.subject_count.min": col("subject_count_i").is_null() | (col("subject_count_i") >= 1),
        "scr.countries.format": _countries_ok(),
        "scr.last_modified_at.required": present("last_modified_at"),
        "scr.last_modified_at.format": parses("last_modified_at", "last_modified_ts"),
        "scr.created_at.future": not_future("created_ts"),
        "scr.submitted_date.future": not_future("submitted_d", date=True),
        "scr.approved_date.future": not_future("approved_d", date=True),
        "scr.last_modified_at.future": not_future("last_modified_ts"),
        **cleaning_warnings("scr.", SCR.columns, SCR.identity_columns),
        **nul_warnings("scr.", FREE_TEXT),
    }


def scr_version_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``scr_versions`` rows; every failure is a finding."""
    return schema_from_rules(
        "scr_version", "scr.", rule_expressions(), elsewhere=(INDICATOR_CONFLICT_RULE,)
    )
