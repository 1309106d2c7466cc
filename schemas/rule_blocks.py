"""Building blocks shared by every extract's rules: SQL for the typed views (DuckDB parses once)
and null-safe polars expressions for the pandera checks, plus the schema builder that insists
the rule catalogue (``reference/*_rules.csv``) and the checks agree rule for rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas.reference import rules

if TYPE_CHECKING:
    import pandera.polars as pa
    import polars as pl

MAX_ID_LENGTH = 40
YES_NO = ("Y", "N")
DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME_RE = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_OFFSET_RE = r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)"  # hours 00-23, minutes 00-59
# A date, or a date and time with an optional UTC offset (an offset needs a time: 2024-01-02-05
# is not a date at UTC-5).
TIMESTAMP_RE = DATE_RE + r"([T ]" + _TIME_RE + _OFFSET_RE + "?)?"
INTEGER_RE = r"-?[0-9]{1,18}"  # plain digits: "+3" is not a plain integer (an error everywhere)
EASTERN = "America/New_York"  # every timestamp is compared as US Eastern wall time
WHITESPACE = " \t\n\r\x0b\x0c"  # trimmed from both ends of every value before the rules
_WS_SQL = "' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12)"
UNTRIMMED, CASED = "__untrimmed", "__cased"  # view columns holding a value as it was written


# --- SQL for typed views -------------------------------------------------------------------
def value_sql(col: str, identity: bool = False) -> str:
    """The value the rules see: trimmed, blank is missing, an identity upper-case.

    Almost every value needs no trimming: one whose first and last characters are above ' '
    (every whitespace character is below it) is taken as it is; trim() with a character list
    (about 3x the cost of the whole check) runs only on the rest, blanks included."""
    v = (
        f"CASE WHEN ord({col}) > 32 AND ord(reverse({col})) > 32 THEN {col} "
        f"ELSE nullif(trim({col}, {_WS_SQL}), '') END"
    )
    return f"upper({v})" if identity else v


def cleaned(col: str, identity: bool = False) -> list[str]:
    """Select items for one raw column: its rule value, and the value as written wherever
    cleaning changed it (``<col>__untrimmed``, ``<col>__cased``: NULL almost always)."""
    trimmed = value_sql(col)
    items = [
        f"{value_sql(col, identity)} AS {col}",
        f"CASE WHEN {trimmed} <> {col} THEN {col} END AS {col}{UNTRIMMED}",
    ]
    if identity:
        items.append(f"CASE WHEN upper({trimmed}) <> {trimmed} THEN {trimmed} END AS {col}{CASED}")
    return items


def cleaned_columns(columns: tuple[str, ...], identities: tuple[str, ...] = ()) -> list[str]:
    return [item for c in columns for item in cleaned(c, c in identities)]


def parsed(col: str, regex: str, sql_type: str, alias: str) -> str:
    """Typed value, or NULL when present but not in the expected format (the *.format rules).

    The format is checked on the trimmed value; the cast reads the raw one, because DuckDB's
    casts to DATE and BIGINT skip leading and trailing ASCII whitespace themselves (pinned by
    ``test_casts_skip_the_whitespace_the_rules_trim``): a second trim there would do nothing.
    (Not so for TIMESTAMP: ``'...09:30:00.5<tab>'`` does not cast, so timestamps cast the
    trimmed value.)"""
    v = value_sql(col)
    return f"CASE WHEN regexp_full_match({v}, '{regex}') THEN TRY_CAST({col} AS {sql_type}) END AS {alias}"


def eastern_timestamp(col: str, alias: str) -> str:
    """An ISO timestamp as Eastern wall time: one with a UTC offset is converted (ICU, built in),
    one without is taken as Eastern already; NULL when it does not parse (*.format)."""
    v = value_sql(col)
    has_offset = f"regexp_matches({v}, '{_TIME_RE}{_OFFSET_RE}$')"
    return (
        f"CASE WHEN regexp_full_match({v}, '{TIMESTAMP_RE}') THEN CASE WHEN {has_offset} "
        f"THEN timezone('{EASTERN}', TRY_CAST({v} AS TIMESTAMPTZ)) "
        f"ELSE TRY_CAST({v} AS TIMESTAMP) END END AS {alias}"
    )


# The latest Eastern date/time a value may carry: one day after its file was ingested
# (``ingested_at`` is stored with every raw row, in UTC), so a rebuild finds the same.
FUTURE_AFTER_SQL = (
    f"timezone('{EASTERN}', timezone('UTC', ingested_at)) + INTERVAL 1 DAY AS future_after"
)


# --- polars expressions: True where a row passes ------------------------------------------
def col(name: str) -> pl.Expr:
    import polars as pl

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
    import polars as pl

    known = col(name).str.split(separator).list.eval(pl.element().is_in(labels)).list.all()
    return col(name).is_null() | known.fill_null(False)


def not_future(typed: str, date: bool = False) -> pl.Expr:
    """Not later than one day after the file was ingested (``future_after`` in the view)."""
    limit = col("future_after").dt.date() if date else col("future_after")
    return col(typed).is_null() | limit.is_null() | (col(typed) <= limit)


def cleaning_warnings(prefix: str, columns: tuple[str, ...], identities: tuple[str, ...]) -> dict:
    """``<prefix><column>.whitespace`` for every column, ``<prefix><id>.case`` for identities:
    True where cleaning did not change the value (these are warnings: the row is kept)."""
    out = {f"{prefix}{c}.whitespace": col(c + UNTRIMMED).is_null() for c in columns}
    out |= {f"{prefix}{c}.case": col(c + CASED).is_null() for c in identities}
    return out


def nul_warnings(prefix: str, columns: tuple[str, ...]) -> dict:
    """``<prefix><column>.nul`` for every column: True where the value holds no NUL character
    (a warning: NUL inside a value is a sign of a binary or corrupted export; the row is kept)."""
    return {
        f"{prefix}{c}.nul": ~col(c).str.contains("\x00", literal=True).fill_null(False)
        for c in columns
    }


def digits_only(name: str) -> pl.Expr:
    """Written as a whole number in plain digits, whatever its size (missing passes)."""
    return col(name).is_null() | col(name).str.contains(r"^-?[0-9]+$").fill_null(True)


def finding_value_column(rule_id: str, column: str) -> str:
    """The view column whose value a finding shows: as written for whitespace/case warnings."""
    if rule_id.endswith(".whitespace"):
        return column + UNTRIMMED
    if rule_id.endswith(".case"):
        return column + CASED
    return column


def header_rule(prefix: str) -> str:
    """The file-level warning for a header matched case-insensitively after trimming."""
    return f"{prefix}header.normalized"


# --- schema -------------------------------------------------------------------------------
def schema_from_rules(
    name: str, prefix: str, exprs: dict[str, pl.Expr], elsewhere: tuple[str, ...] = ()
) -> pa.DataFrameSchema:
    """A pandera schema with one check per row rule, each named by its rule_id.

    ``elsewhere``: catalogue rules computed outside the row checks (e.g. the indicator conflict
    on current records); the header warning is file-level (``assets/_shared/validation.py``)."""
    import pandera.polars as pa

    catalogue = {
        r
        for r in rules()
        if r.startswith(prefix) and r not in elsewhere and r != header_rule(prefix)
    }
    if catalogue != set(exprs):  # the catalogue and the code must agree, rule for rule
        raise RuntimeError(f"rule catalogue and checks differ: {sorted(catalogue ^ set(exprs))}")
    checks = [
        pa.Check(lambda data, e=expr: data.lazyframe.select(e.alias("ok")), name=rule_id)
        for rule_id, expr in exprs.items()
    ]
    return pa.DataFrameSchema(checks=checks, name=name, strict=False)
