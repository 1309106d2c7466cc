"""Rules for SCR versions: the typed view over raw rows and the pandera schema that checks it.

Parsing (ISO dates and timestamps, integers) happens once, in DuckDB, in ``TYPED_COLUMNS_SQL``:
a value that is present but does not parse becomes NULL in its typed column, and the pandera
``*.format`` rules flag exactly that. Each pandera check is named by its ``rule_id`` from
``reference/scr_rules.csv``; checks are null-safe polars expressions over one batch of rows.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

from schemas.reference import country_codes, criminal_categories, rules

SCR_TYPES = ("INITIAL", "DISRUPTION", "DISMANTLEMENT")
DD_TYPES = ("DISRUPTION", "DISMANTLEMENT")
STATUSES = ("APPROVED", "PENDING", "RETURNED", "REJECTED", "WITHDRAWN")
CHECKBOX_FROM = dt.datetime(2023, 7, 18)  # ICM made "TCO involvement" mandatory on this day
MAX_ID_LENGTH = 40

_DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_OFFSET_RE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
_TS_RE = _DATE_RE + r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?" + _OFFSET_RE
# A date column may carry a midnight time: Parquet files written from pandas store dates as
# timestamps, which arrive as '2024-01-03 00:00:00'. Any other time of day is an error.
_DATE_OR_MIDNIGHT_RE = _DATE_RE + r"([T ]00:00(:00(\.0{1,9})?)?" + _OFFSET_RE + ")?"
# A whole number, also written as 3.0 (pandas stores an integer column with gaps as float).
_WHOLE_RE = r"[+-]?[0-9]{1,18}(\.0+)?"


def _blank_to_null(col: str) -> str:
    return f"CASE WHEN trim({col}) = '' THEN NULL ELSE {col} END AS {col}"


def _parsed(col: str, regex: str, sql_type: str, alias: str) -> str:
    return (
        f"CASE WHEN regexp_full_match(trim({col}), '{regex}') "
        f"THEN TRY_CAST(trim({col}) AS {sql_type}) END AS {alias}"
    )


# Select list over raw_scr_versions: blank values are missing; typed columns for the rules.
TYPED_COLUMNS_SQL = ",\n".join(
    [
        "file_id",
        "source_file",
        "source_row",
        *(
            _blank_to_null(c)
            for c in (
                "scr_id",
                "case_number",
                "scr_type",
                "criminal_category",
                "subcategory",
                "field_office",
                "status",
                "created_at",
                "submitted_date",
                "approved_date",
                "tco_involvement",
                "subject_count",
                "countries",
                "last_modified_at",
            )
        ),
        _parsed("created_at", _TS_RE, "TIMESTAMP", "created_ts"),
        _parsed("submitted_date", _DATE_OR_MIDNIGHT_RE, "DATE", "submitted_d"),
        _parsed("approved_date", _DATE_OR_MIDNIGHT_RE, "DATE", "approved_d"),
        _parsed("last_modified_at", _TS_RE, "TIMESTAMP", "last_modified_ts"),
        _parsed("subject_count", _WHOLE_RE, "DECIMAL(38, 10)", "subject_count_i").replace(
            " AS subject_count_i", "::BIGINT AS subject_count_i"
        ),
    ]
)

# View name used by validation and by the current-record step.
TYPED_VIEW_SQL = (
    f"CREATE OR REPLACE VIEW scr_versions AS SELECT {TYPED_COLUMNS_SQL} FROM raw_scr_versions"
)


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _present(name: str) -> pl.Expr:
    return _c(name).is_not_null()


def _parses(raw: str, typed: str) -> pl.Expr:
    return _c(raw).is_null() | _c(typed).is_not_null()


def _length_ok(name: str) -> pl.Expr:
    return _c(name).is_null() | _c(name).str.len_chars().is_between(1, MAX_ID_LENGTH)


def _in(name: str, allowed: tuple[str, ...]) -> pl.Expr:
    return _c(name).is_null() | _c(name).is_in(list(allowed))


def _countries_ok() -> pl.Expr:
    codes = sorted(country_codes())
    valid = (
        _c("countries").str.contains(r"^[A-Z]{2}(;[A-Z]{2})*$")
        & _c("countries").str.split(";").list.eval(pl.element().is_in(codes)).list.all()
    )
    return _c("countries").is_null() | valid.fill_null(False)


def _not_before(later: str, earlier: pl.Expr) -> pl.Expr:
    return _c(later).is_null() | earlier.is_null() | (_c(later) >= earlier)


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a row passes the rule."""
    approved = _c("status") == "APPROVED"
    return {
        "scr.scr_id.required": _present("scr_id"),
        "scr.scr_id.length": _length_ok("scr_id"),
        "scr.case_number.required": _present("case_number"),
        "scr.case_number.length": _length_ok("case_number"),
        "scr.scr_type.required": _present("scr_type"),
        "scr.scr_type.enum": _in("scr_type", SCR_TYPES),
        "scr.criminal_category.required": _present("criminal_category"),
        "scr.criminal_category.enum": _in("criminal_category", criminal_categories()),
        "scr.field_office.required": _present("field_office"),
        "scr.status.required": _present("status"),
        "scr.status.enum": _in("status", STATUSES),
        "scr.created_at.required": _present("created_at"),
        "scr.created_at.format": _parses("created_at", "created_ts"),
        "scr.submitted_date.required": _present("submitted_date"),
        "scr.submitted_date.format": _parses("submitted_date", "submitted_d"),
        "scr.submitted_date.after_created": _not_before("submitted_d", _c("created_ts").dt.date()),
        "scr.approved_date.format": _parses("approved_date", "approved_d"),
        "scr.approved_date.required_when_approved": ~approved.fill_null(False)
        | _present("approved_date"),
        "scr.approved_date.only_when_approved": _c("approved_date").is_null()
        | approved.fill_null(False),
        "scr.approved_date.after_submitted": _not_before("approved_d", _c("submitted_d")),
        "scr.tco_involvement.enum": _in("tco_involvement", ("Y", "N")),
        "scr.tco_involvement.required_from_2023_07_18": _c("created_ts").is_null()
        | (_c("created_ts") < CHECKBOX_FROM)
        | _present("tco_involvement"),
        "scr.subject_count.integer": _parses("subject_count", "subject_count_i"),
        "scr.subject_count.min": _c("subject_count_i").is_null() | (_c("subject_count_i") >= 1),
        "scr.countries.format": _countries_ok(),
        "scr.last_modified_at.required": _present("last_modified_at"),
        "scr.last_modified_at.format": _parses("last_modified_at", "last_modified_ts"),
    }


def _check(rule_id: str, expr: pl.Expr) -> pa.Check:
    return pa.Check(
        lambda data, e=expr: data.lazyframe.select(e.alias("ok")),
        name=rule_id,
    )


def scr_version_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``scr_versions`` rows; every failure is a finding."""
    exprs = rule_expressions()
    missing = {r for r, v in rules().items() if r.startswith("scr.") and v.severity == "error"}
    missing -= set(exprs)
    if missing:  # the catalogue and the code must agree, rule for rule
        raise RuntimeError(f"rules without a check: {sorted(missing)}")
    return pa.DataFrameSchema(
        checks=[_check(rule_id, expr) for rule_id, expr in exprs.items()],
        name="scr_version",
        strict=False,
    )
