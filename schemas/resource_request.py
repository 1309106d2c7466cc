"""Rules for resource requests: the typed view over raw rows and the pandera schema that checks it.

Same pattern as ``schemas/scr_extract.py``: values are parsed once, in DuckDB
(``TYPED_VIEW_SQL``); a value that is present but does not parse becomes NULL in its typed
column and the ``*.format`` / ``*.integer`` rule flags exactly that. Uniqueness of
``request_id`` within a file is a window count in the same view, so it holds across batches.
Each pandera check is named by its ``rule_id`` from ``reference/resource_request_rules.csv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.extracts import RESOURCE_REQUESTS
from schemas.reference import criminal_categories
from schemas.rule_blocks import (
    DATE_RE,
    FUTURE_AFTER_SQL,
    YES_NO,
    at_least,
    cleaned_columns,
    cleaning_warnings,
    col,
    labels_known,
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

FISCAL_YEAR_RANGE = (2000, 2100)
CATEGORY_SEPARATOR = ";"  # labels contain commas ("Illicit Trade, Travel, and Finance ...")
_AMOUNT_RE = r"-?[0-9]{1,16}(\.[0-9]{1,2})?"  # dollars and cents; fits DECIMAL(18, 2)
_INT_RE = r"-?[0-9]{1,9}"  # as rule_blocks.INTEGER_RE, but fits INTEGER


_TYPED_SQL = ",\n".join(
    [
        "file_id",
        "source_file",
        "source_row",
        *cleaned_columns(RESOURCE_REQUESTS.columns),
        parsed("fiscal_year", _INT_RE, "INTEGER", "fiscal_year_i"),
        parsed("amount_usd", _AMOUNT_RE, "DECIMAL(18, 2)", "amount_usd_d"),
        parsed("positions", _INT_RE, "INTEGER", "positions_i"),
        parsed("submitted_date", DATE_RE, "DATE", "submitted_d"),
        FUTURE_AFTER_SQL,
    ]
)

# View used by validation and by the current-request step.
TYPED_VIEW_SQL = f"""
CREATE OR REPLACE VIEW resource_request_versions AS
SELECT *, count(*) OVER (PARTITION BY file_id, request_id) AS rows_with_id_in_file
FROM (SELECT {_TYPED_SQL} FROM active_raw_resource_requests)
"""


# Columns no shape rule judges: a NUL in them is a warning of its own (``rr.<column>.nul``).
FREE_TEXT = ("request_id", "program_office", "title")


def rule_expressions() -> dict[str, pl.Expr]:
    """rule_id -> polars expression that is True where a row passes the rule."""
    low, high = FISCAL_YEAR_RANGE
    return {
        "rr.request_id.required": present("request_id"),
        "rr.request_id.unique": col("request_id").is_null() | (col("rows_with_id_in_file") == 1),
        "rr.fiscal_year.required": present("fiscal_year"),
        "rr.fiscal_year.integer": parses("fiscal_year", "fiscal_year_i"),
        "rr.fiscal_year.range": col("fiscal_year_i").is_null()
        | col("fiscal_year_i").is_between(low, high),
        "rr.program_office.required": present("program_office"),
        "rr.title.required": present("title"),
        "rr.amount_usd.required": present("amount_usd"),
        "rr.amount_usd.format": parses("amount_usd", "amount_usd_d"),
        "rr.amount_usd.min": at_least("amount_usd_d", 0),
        "rr.positions.required": present("positions"),
        "rr.positions.integer": parses("positions", "positions_i"),
        "rr.positions.min": at_least("positions_i", 0),
        "rr.scr_categories.enum": labels_known(
            "scr_categories", list(criminal_categories()), CATEGORY_SEPARATOR
        ),
        "rr.cites_scr_data.required": present("cites_scr_data"),
        "rr.cites_scr_data.enum": one_of("cites_scr_data", YES_NO),
        "rr.submitted_date.required": present("submitted_date"),
        "rr.submitted_date.format": parses("submitted_date", "submitted_d"),
        "rr.submitted_date.future": not_future("submitted_d", date=True),
        **cleaning_warnings("rr.", RESOURCE_REQUESTS.columns, ()),
        **nul_warnings("rr.", FREE_TEXT),
    }


def resource_request_schema() -> pa.DataFrameSchema:
    """pandera schema over one batch of ``resource_request_versions``; every failure is a finding."""
    return schema_from_rules("resource_request", "rr.", rule_expressions())
