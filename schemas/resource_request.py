"""Rules for resource requests: the typed view over raw rows and the pandera schema that checks it.

Same pattern as ``schemas/scr_extract.py``: values are parsed once, in DuckDB
(``TYPED_VIEW_SQL``); a value that is present but does not parse becomes NULL in its typed
column and the ``*.format`` / ``*.integer`` rule flags exactly that. Uniqueness of
``request_id`` within a file is a window count in the same view, so it holds across batches.
Each pandera check is named by its ``rule_id`` from ``reference/resource_request_rules.csv``.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.reference import criminal_categories, rules
from schemas.scr_extract import _DATE_RE, _blank_to_null, _check, _parsed

FISCAL_YEAR_RANGE = (2000, 2100)
CATEGORY_SEPARATOR = ";"  # labels contain commas ("Illicit Trade, Travel, and Finance ...")
YES_NO = ("Y", "N")
_AMOUNT_RE = r"[+-]?[0-9]{1,16}(\.[0-9]{1,2})?"  # dollars and cents; fits DECIMAL(18, 2)
_INT_RE = r"[+-]?[0-9]{1,9}"

_COLUMNS = (
    "request_id",
    "fiscal_year",
    "program_office",
    "title",
    "amount_usd",
    "positions",
    "scr_categories",
    "cites_scr_data",
    "submitted_date",
)

_TYPED_SQL = ",\n".join(
    [
        "file_id",
        "source_file",
        "source_row",
        *(_blank_to_null(c) for c in _COLUMNS),
        _parsed("fiscal_year", _INT_RE, "INTEGER", "fiscal_year_i"),
        _parsed("amount_usd", _AMOUNT_RE, "DECIMAL(18, 2)", "amount_usd_d"),
        _parsed("positions", _INT_RE, "INTEGER", "positions_i"),
        _parsed("submitted_date", _DATE_RE, "DATE", "submitted_d"),
    ]
)

# View used by validation and by the current-request step.
TYPED_VIEW_SQL = f"""
CREATE OR REPLACE VIEW resource_request_versions AS
SELECT *, count(*) OVER (PARTITION BY file_id, request_id) AS rows_with_id_in_file
FROM (SELECT {_TYPED_SQL} FROM raw_resource_requests)
"""


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _present(name: str) -> pl.Expr:
    return _c(name).is_not_null()


def _parses(raw: str, typed: str) -> pl.Expr:
    return _c(raw).is_null() | _c(typed).is_not_null()


def _at_least(typed: str, low: int) -> pl.Expr:
    return _c(typed).is_null() | (_c(typed) >= low)


def _categories_ok() -> pl.Expr:
    labels = list(criminal_categories())
    every_label_known = (
        _c("scr_categories")
        .str.split(CATEGORY_SEPARATOR)
        .list.eval(pl.element().is_in(labels))
        .list.all()
    )
    return _c("scr_categories").is_null() | every_label_known.fill_null(False)


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a row passes the rule."""
    low, high = FISCAL_YEAR_RANGE
    return {
        "rr.request_id.required": _present("request_id"),
        "rr.request_id.unique": _c("request_id").is_null() | (_c("rows_with_id_in_file") == 1),
        "rr.fiscal_year.required": _present("fiscal_year"),
        "rr.fiscal_year.integer": _parses("fiscal_year", "fiscal_year_i"),
        "rr.fiscal_year.range": _c("fiscal_year_i").is_null()
        | _c("fiscal_year_i").is_between(low, high),
        "rr.program_office.required": _present("program_office"),
        "rr.title.required": _present("title"),
        "rr.amount_usd.required": _present("amount_usd"),
        "rr.amount_usd.format": _parses("amount_usd", "amount_usd_d"),
        "rr.amount_usd.min": _at_least("amount_usd_d", 0),
        "rr.positions.required": _present("positions"),
        "rr.positions.integer": _parses("positions", "positions_i"),
        "rr.positions.min": _at_least("positions_i", 0),
        "rr.scr_categories.enum": _categories_ok(),
        "rr.cites_scr_data.required": _present("cites_scr_data"),
        "rr.cites_scr_data.enum": _c("cites_scr_data").is_null()
        | _c("cites_scr_data").is_in(list(YES_NO)),
        "rr.submitted_date.required": _present("submitted_date"),
        "rr.submitted_date.format": _parses("submitted_date", "submitted_d"),
    }


def resource_request_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``resource_request_versions``; every failure is a finding."""
    exprs = rule_expressions()
    catalogue = {r for r, v in rules().items() if r.startswith("rr.") and v.severity == "error"}
    if catalogue != set(exprs):  # the catalogue and the code must agree, rule for rule
        raise RuntimeError(f"rules and checks differ: {sorted(catalogue ^ set(exprs))}")
    return pa.DataFrameSchema(
        checks=[_check(rule_id, expr) for rule_id, expr in exprs.items()],
        name="resource_request",
        strict=False,
    )
