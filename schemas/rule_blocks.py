"""Building blocks shared by every extract's rules: SQL for the typed views (DuckDB parses once)
and null-safe polars expressions for the pandera checks, plus the schema builder that insists
the rule catalogue (``reference/*_rules.csv``) and the checks agree rule for rule.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.reference import rules

MAX_ID_LENGTH = 40
YES_NO = ("Y", "N")
DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
TIMESTAMP_RE = (
    DATE_RE + r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)


# --- SQL for typed views -------------------------------------------------------------------
def blank_to_null(col: str) -> str:
    """A value that is empty or only whitespace is missing."""
    return f"CASE WHEN trim({col}) = '' THEN NULL ELSE {col} END AS {col}"


def parsed(col: str, regex: str, sql_type: str, alias: str) -> str:
    """Typed value, or NULL when present but not in the expected format (the *.format rules)."""
    return (
        f"CASE WHEN regexp_full_match(trim({col}), '{regex}') "
        f"THEN TRY_CAST(trim({col}) AS {sql_type}) END AS {alias}"
    )


# --- polars expressions: True where a row passes ------------------------------------------
def col(name: str) -> pl.Expr:
    return pl.col(name)


def present(name: str) -> pl.Expr:
    return col(name).is_not_null()


def parses(raw: str, typed: str) -> pl.Expr:
    return col(raw).is_null() | col(typed).is_not_null()


def length_ok(name: str, longest: int = MAX_ID_LENGTH) -> pl.Expr:
    return col(name).is_null() | col(name).str.len_chars().is_between(1, longest)


def one_of(name: str, allowed: tuple[str, ...]) -> pl.Expr:
    return col(name).is_null() | col(name).is_in(list(allowed))


def at_least(typed: str, low: int) -> pl.Expr:
    return col(typed).is_null() | (col(typed) >= low)


def not_before(later: str, earlier: pl.Expr) -> pl.Expr:
    return col(later).is_null() | earlier.is_null() | (col(later) >= earlier)


def labels_known(name: str, labels: list[str], separator: str = ";") -> pl.Expr:
    """Every ``separator``-split label of ``name`` is in ``labels`` (missing passes)."""
    known = col(name).str.split(separator).list.eval(pl.element().is_in(labels)).list.all()
    return col(name).is_null() | known.fill_null(False)


# --- schema -------------------------------------------------------------------------------
def schema_from_rules(name: str, prefix: str, exprs: dict[str, pl.Expr]) -> pa.DataFrameSchema:
    """A pandera schema with one check per rule, each named by its rule_id."""
    catalogue = {r for r, v in rules().items() if r.startswith(prefix) and v.severity == "error"}
    if catalogue != set(exprs):  # the catalogue and the code must agree, rule for rule
        raise RuntimeError(f"rule catalogue and checks differ: {sorted(catalogue ^ set(exprs))}")
    checks = [
        pa.Check(lambda data, e=expr: data.lazyframe.select(e.alias("ok")), name=rule_id)
        for rule_id, expr in exprs.items()
    ]
    return pa.DataFrameSchema(checks=checks, name=name, strict=False)
