"""Restatements: which SCRs changed a quarter that was already published, and what caused it.

Why: a late correction restates a published count; OAO must answer "why did FY2023 Q2 change
since the last report?" with SCRs and files, not only with the old and new number.

- ``published_contributions``: every SCR-level determination as of the last publication (the
  snapshot ``record_publication`` takes once every output is in place); ``publications`` logs them.
- An SCR's *contribution* is nothing when it is not counted, else its (quarter, scr_type,
  criminal_category, determination, non_tco_reason). A restatement row is one SCR whose
  contribution to a previously published quarter changed: one row per affected published quarter
  (an SCR moving from Q1 to Q2 restates both when both were published).
- ``restatements`` (published as restatements.parquet) keeps every publication's rows; the rows of
  the refresh in progress are staged by the ``restatements`` asset with that refresh's id.
"""

from datetime import UTC, datetime

import dagster as dg
import duckdb
import pyarrow as pa

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, existing_tables, table_metadata
from assets._shared.resources import WarehouseResource
from assets._shared.sql import load_sql
from assets.measures.determinations import TABLE as DETERMINATIONS
from assets.measures.determinations import ensure_table as ensure_determinations
from schemas.counting import COUNTING_MACROS, QUARTERLY_COLUMNS
from schemas.fiscal import parse_quarter_key, quarter_key

# The SQL is named SQL in restatements.sql beside this module.
CONTRIBUTIONS_SQL = load_sql(__file__, "contributions")
PENDING_SQL = load_sql(__file__, "pending")
REPUBLISHES_SQL = load_sql(__file__, "republishes_the_last")
COLUMN_CHANGES_SQL = load_sql(__file__, "column_changes")


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The publication history's tables (DDL: assets/_shared/migrations.py) and the view of
    every SCR's contribution now."""
    ensure_determinations(con)  # the measures domain's tables, scr_determinations's view
    con.execute(CONTRIBUTIONS_SQL)


def pending_restatements(
    con: duckdb.DuckDBPyConnection, refresh_id: str | None = None, at: datetime | None = None
) -> duckdb.DuckDBPyRelation:
    """Restatements the current determinations would publish against the last publication."""
    ensure_tables(con)
    return con.sql(PENDING_SQL, params={"refresh_id": refresh_id, "at": at})


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def republishes_the_last(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a publication exists and every SCR's contribution equals it: such a refresh
    only repairs or re-renders files, so it is not a new publication (no restatement run, and
    "What changed since the last publication" keeps describing the last one)."""
    if not con.execute("SELECT count(*) FROM publications").fetchall()[0][0]:
        return False
    differ = not con.execute(REPUBLISHES_SQL).fetchall()[0][0]
    return not differ


def stage_restatements(con: duckdb.DuckDBPyConnection, refresh_id: str, at: datetime) -> int:
    """Put this refresh's pending rows into ``restatements`` (replacing those of any earlier
    refresh that never got published); returns their number."""
    ensure_tables(con)
    if republishes_the_last(con):
        return 0
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "DELETE FROM restatements WHERE new_refresh_id NOT IN (SELECT refresh_id FROM publications)"
    )
    con.sql(PENDING_SQL, params={"refresh_id": refresh_id, "at": at}).insert_into("restatements")
    n = con.execute(
        "SELECT count(*) FROM restatements WHERE new_refresh_id = ?", [refresh_id]
    ).fetchall()[0][0]
    con.execute(
        "INSERT INTO restatement_runs SELECT ?, ?, "
        "(SELECT refresh_id FROM publications ORDER BY published_at DESC LIMIT 1), ?",
        [refresh_id, at, n],
    )
    con.execute("COMMIT")
    return int(n)


def record_publication(
    con: duckdb.DuckDBPyConnection, refresh_id: str, published_at: datetime
) -> None:
    """Called once every output of a refresh is in place: the current determinations become the
    snapshot the next refresh's restatements are measured against."""
    ensure_tables(con)
    staged = con.execute(
        "SELECT count(*) FROM restatement_runs WHERE refresh_id = ?", [refresh_id]
    ).fetchall()[0][0]
    if not staged:  # the restatements asset did not stage a run: a repair, or another path
        if republishes_the_last(con):
            return  # nothing changed since the last publication: it stays the last one
        stage_restatements(con, refresh_id, published_at)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM published_contributions")
    con.execute("INSERT INTO published_contributions SELECT * FROM current_contributions")
    con.execute("INSERT OR REPLACE INTO publications VALUES (?, ?)", [refresh_id, published_at])
    con.execute("COMMIT")


def column_changes(con: duckdb.DuckDBPyConnection, restated) -> list[dict]:
    """Per restated quarter and measure column: old -> new value, the SCRs and the files, from
    the restatement rows ``restated`` (an Arrow table of ``restatements`` rows)."""
    con.execute(COUNTING_MACROS)  # also on a connection not opened by the warehouse resource
    con.register("__restated", restated)
    try:
        cur = con.execute(COLUMN_CHANGES_SQL, {"measures": list(QUARTERLY_COLUMNS)})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.unregister("__restated")


def short_note(changes: list[dict]) -> str:
    """'dd_tco 3 -> 2, dd_non_tco 1 -> 2 (SCR A4; scr_extract_2024-03-02.csv)'."""
    scrs = sorted({s for c in changes for s in c["scrs"]})
    files = sorted({f for c in changes for f in c["files"] if f})
    cols = ", ".join(f"{c['measure']} {c['old_value']} -> {c['new_value']}" for c in changes)
    more = f" and {len(scrs) - 10} more" if len(scrs) > 10 else ""
    return (
        f"{cols} (SCR {', '.join(scrs[:10])}{more}; {', '.join(files[:5])})"
        if cols
        else f"{len(scrs)} SCR(s) changed without changing a count"
    )


def partition_notes(con: duckdb.DuckDBPyConnection, keys: list[str]) -> dict[str, str]:
    """Short text per restated quarter among ``keys`` (the partitions' Dagster metadata)."""
    ensure_tables(con)
    wanted = {parse_quarter_key(k) for k in keys}
    pending = pending_restatements(con).to_arrow_table()
    mine = pa.array(
        [
            (fy, q) in wanted
            for fy, q in zip(
                *pending.select(["fiscal_year", "fiscal_quarter"]).to_pydict().values(), strict=True
            )
        ],
        type=pa.bool_(),
    )
    changes = column_changes(con, pending.filter(mine))
    by_key: dict[str, list[dict]] = {}
    for c in changes:
        by_key.setdefault(quarter_key(c["fiscal_year"], c["fiscal_quarter"]), []).append(c)
    return {k: short_note(v) for k, v in by_key.items()}


def latest_changes(con: duckdb.DuckDBPyConnection) -> dict:
    """What the report's "What changed since the last publication" section shows."""
    if "restatement_runs" not in existing_tables(con):
        return {"refresh_id": None, "previous_refresh_id": None, "changes": []}
    run = (
        con.execute(
            "SELECT r.refresh_id, r.computed_at, r.previous_refresh_id, p.published_at "
            "FROM restatement_runs r LEFT JOIN publications p ON p.refresh_id = r.previous_refresh_id "
            "ORDER BY r.computed_at DESC, r.rowid DESC LIMIT 1"
        ).fetchall()
        or [None]
    )[0]
    if run is None:
        return {"refresh_id": None, "previous_refresh_id": None, "changes": []}
    rows = con.sql("SELECT * FROM restatements WHERE new_refresh_id = ?", params=[run[0]])
    changes = column_changes(con, rows.to_arrow_table())
    return {
        "refresh_id": run[0],
        "computed_at": run[1],
        "previous_refresh_id": run[2],
        "previous_published_at": run[3],
        "changes": changes,
    }


@dg.asset(
    code_version=code_version_of(__name__),
    deps=[DETERMINATIONS],
    kinds={"duckdb"},
    owners=OWNERS,
    description="SCRs whose contribution to an already published fiscal quarter changed since "
    "the last publication (before/after counted, type, category, determination, quarter, and the "
    "file and row that caused it). Every publication's rows are kept; restatements.parquet.",
)
def restatements(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        n = stage_restatements(con, context.run_id, _now())
        latest = latest_changes(con)
        quarters = sorted(
            {quarter_key(c["fiscal_year"], c["fiscal_quarter"]) for c in latest["changes"]}
        )
        meta = table_metadata(con, "restatements")
    context.log.info(f"{n} restatement row(s) since the last publication: {quarters or 'none'}")
    return dg.MaterializeResult(
        metadata={
            **meta,
            "new_restatements": dg.MetadataValue.int(n),
            "restated_quarters": dg.MetadataValue.json(quarters),
            "previous_refresh_id": dg.MetadataValue.text(str(latest["previous_refresh_id"])),
        }
    )
