"""SCR-level determinations: the rows behind every published count, one per current SCR with
an approval date, partitioned by the fiscal quarter of that date.

Why: OAO publishes counts; the inspector general asks which SCRs are behind them. Each row
carries the determination ``scr_current`` computed (never recomputed here), the prong inputs,
the quarantine flag and the file, row and content hash of the version it comes from. The
blocking check (``assets.measures.scr_determinations``, the asset) recounts the measures from
these rows, so a published count and its SCR list can never disagree. This module holds the
table and its SQL only, so restatements can read it without an import circle.
"""

import duckdb

from assets._shared.metadata import existing_tables
from assets._shared.migrations import MEASURES, migrate
from assets._shared.sql import load_sql
from schemas.counting import COUNTING_MACROS
from schemas.fiscal import parse_quarter_key, quarter_key

TABLE = "scr_determinations"

# The SQL is named SQL in determinations.sql beside this module.
ROWS_VIEW_SQL = load_sql(__file__, "determination_rows")
CHANGED_KEYS_SQL = load_sql(__file__, "changed_keys")
MISMATCH_SQL = {
    "quarterly_measures": load_sql(__file__, "quarterly_mismatches"),
    "category_measures": load_sql(__file__, "category_mismatches"),
}


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    """The view ``determination_rows`` on this connection, and the table made from it."""
    if "scr_current" in existing_tables(con):  # binding the view needs scr_current
        con.execute(ROWS_VIEW_SQL)
    migrate(con, MEASURES)  # the table (DDL: assets/_shared/migrations.py)


def changed_keys(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """(quarters holding determinations now, quarters whose determinations differ from the table).

    One hash per quarter on each side instead of a row-by-row diff: any change to any column of
    any SCR (a correction of field_office too) republishes that quarter's partition."""
    ensure_table(con)
    rows = con.execute(CHANGED_KEYS_SQL).fetchall()
    present = {quarter_key(fy, q) for fy, q, now, _ in rows if now}
    changed = {quarter_key(fy, q) for fy, q, _, diff in rows if diff}
    return present, changed


def with_determination_keys(
    con: duckdb.DuckDBPyConnection, present: list[str], changed: list[str]
) -> tuple[list[str], list[str]]:
    """Add the quarters whose SCR determinations changed to the refresh plan (measures.py)."""
    now, diff = changed_keys(con)
    return sorted(set(present) | now), sorted(set(changed) | diff)


def replace_quarters(con: duckdb.DuckDBPyConnection, keys: list[str]) -> None:
    """Replace the rows of the quarters ``keys`` with what scr_current says now (one transaction)."""
    ensure_table(con)
    pairs = [list(parse_quarter_key(k)) for k in keys]
    where = "list_contains(?, [fiscal_year, fiscal_quarter])"
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DELETE FROM {TABLE} WHERE {where}", [pairs])
    con.execute(f"INSERT INTO {TABLE} SELECT * FROM determination_rows WHERE {where}", [pairs])
    con.execute("COMMIT")


def count_mismatches(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    """Quarters (and categories) where the determinations' counts differ from the measures."""
    con.execute(COUNTING_MACROS)  # also on a connection not opened by the warehouse resource
    out = {}
    for table, sql in MISMATCH_SQL.items():
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        out[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return out
