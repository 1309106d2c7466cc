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

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, existing_tables, table_metadata
from assets._shared.resources import WarehouseResource
from assets.measures.determinations import MEASURE_FILTERS
from assets.measures.determinations import TABLE as DETERMINATIONS
from assets.measures.determinations import ensure_table as ensure_determinations
from schemas.fiscal import parse_quarter_key, quarter_key

CONTRIBUTION = (
    "counted", "scr_type", "criminal_category", "determination", "non_tco_reason",
    "fiscal_year", "fiscal_quarter", "source_file", "source_row",
)  # fmt: skip
COMPARED = ("scr_type", "criminal_category", "determination", "non_tco_reason", "fiscal_year",
            "fiscal_quarter")  # fmt: skip
SHOWN = ("counted", *COMPARED)

DDL = f"""
CREATE TABLE IF NOT EXISTS publications (refresh_id VARCHAR PRIMARY KEY, published_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS published_contributions AS
    SELECT {", ".join(CONTRIBUTION)} , scr_id FROM {DETERMINATIONS} LIMIT 0;
CREATE TABLE IF NOT EXISTS restatement_runs (
    refresh_id VARCHAR, computed_at TIMESTAMP, previous_refresh_id VARCHAR, restatements BIGINT);
"""

# Rows: one per (published quarter, SCR) whose contribution changed since the last publication.
PENDING_SQL = f"""
WITH prev AS (SELECT * FROM published_contributions),
cur AS (SELECT scr_id, {", ".join(CONTRIBUTION)} FROM {DETERMINATIONS}),
last_pub AS (SELECT refresh_id, published_at FROM publications ORDER BY published_at DESC LIMIT 1),
published AS (SELECT DISTINCT fiscal_year, fiscal_quarter FROM prev WHERE counted),
diff AS (
    SELECT coalesce(p.scr_id, c.scr_id) AS scr_id,
        {", ".join(f"p.{c} AS before_{c}, c.{c} AS after_{c}" for c in (*SHOWN, "source_file", "source_row"))}
    FROM prev p FULL JOIN cur c USING (scr_id)
    WHERE CASE WHEN coalesce(p.counted, false) THEN ({", ".join(f"p.{c}" for c in COMPARED)}) END
        IS DISTINCT FROM
        CASE WHEN coalesce(c.counted, false) THEN ({", ".join(f"c.{c}" for c in COMPARED)}) END
), quarters AS (
    SELECT d.*, q.fiscal_year, q.fiscal_quarter FROM diff d, LATERAL (
        SELECT DISTINCT * FROM (VALUES
            (CASE WHEN d.before_counted THEN d.before_fiscal_year END,
             CASE WHEN d.before_counted THEN d.before_fiscal_quarter END),
            (CASE WHEN d.after_counted THEN d.after_fiscal_year END,
             CASE WHEN d.after_counted THEN d.after_fiscal_quarter END)
        ) v(fiscal_year, fiscal_quarter) WHERE fiscal_year IS NOT NULL
    ) q
    WHERE EXISTS (SELECT 1 FROM published p
                  WHERE p.fiscal_year = q.fiscal_year AND p.fiscal_quarter = q.fiscal_quarter)
)
SELECT CAST(q.fiscal_year AS INTEGER) AS fiscal_year, CAST(q.fiscal_quarter AS INTEGER) AS fiscal_quarter,
    (SELECT refresh_id FROM last_pub) AS previous_refresh_id,
    (SELECT published_at FROM last_pub) AS previous_published_at,
    CAST($refresh_id AS VARCHAR) AS new_refresh_id, CAST($at AS TIMESTAMP) AS new_refreshed_at,
    q.scr_id,
    coalesce(q.before_counted, false) AS before_counted, coalesce(q.after_counted, false) AS after_counted,
    {", ".join(f"q.before_{c}, q.after_{c}" for c in SHOWN[1:])},
    coalesce(q.after_source_file, q.before_source_file) AS cause_file,
    CASE WHEN q.after_source_file IS NOT NULL THEN q.after_source_row ELSE q.before_source_row END
        AS cause_row,
    array_to_string(list_filter([{", ".join(f"CASE WHEN q.before_{c} IS DISTINCT FROM q.after_{c} THEN '{c}' END" for c in SHOWN)}],
        lambda x: x IS NOT NULL), ', ') AS changed_fields
FROM quarters q
"""
ORDER = " ORDER BY fiscal_year, fiscal_quarter, scr_id"


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_determinations(con)
    con.execute(DDL)
    con.execute(
        "CREATE TABLE IF NOT EXISTS restatements AS SELECT * FROM (" + PENDING_SQL + ") LIMIT 0",
        {"refresh_id": None, "at": None},
    )


def pending_restatements(
    con: duckdb.DuckDBPyConnection, refresh_id: str | None = None, at: datetime | None = None
) -> duckdb.DuckDBPyRelation:
    """Restatements the current determinations would publish against the last publication."""
    ensure_tables(con)
    return con.sql(PENDING_SQL + ORDER, params={"refresh_id": refresh_id, "at": at})


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def republishes_the_last(con: duckdb.DuckDBPyConnection) -> bool:
    """True when a publication exists and every SCR's contribution equals it: such a refresh
    only repairs or re-renders files, so it is not a new publication (no restatement run, and
    "What changed since the last publication" keeps describing the last one)."""
    if not con.execute("SELECT count(*) FROM publications").fetchall()[0][0]:
        return False
    cols = ", ".join((*CONTRIBUTION, "scr_id"))
    cur = f"SELECT {cols} FROM {DETERMINATIONS}"
    prev = f"SELECT {cols} FROM published_contributions"
    differ = con.execute(
        f"SELECT EXISTS ({cur} EXCEPT ALL {prev}) OR EXISTS ({prev} EXCEPT ALL {cur})"
    ).fetchall()[0][0]
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
    con.execute("INSERT INTO restatements " + PENDING_SQL, {"refresh_id": refresh_id, "at": at})
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
    cols = ", ".join((*CONTRIBUTION, "scr_id"))
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM published_contributions")
    con.execute(f"INSERT INTO published_contributions SELECT {cols} FROM {DETERMINATIONS}")
    con.execute("INSERT OR REPLACE INTO publications VALUES (?, ?)", [refresh_id, published_at])
    con.execute("COMMIT")


def column_changes(con: duckdb.DuckDBPyConnection, rows_sql: str, params=None) -> list[dict]:
    """Per restated quarter and measure column: old -> new value, the SCRs and the files.

    New values are the current quarterly_measures; old = new minus the change the restatement
    rows account for (every SCR whose contribution to the quarter changed is among them)."""
    parts = []
    for col, pred in MEASURE_FILTERS.items():
        before = f"(before_counted AND before_fiscal_year = fiscal_year AND before_fiscal_quarter = fiscal_quarter AND {pred.format(p='before_')})"
        after = f"(after_counted AND after_fiscal_year = fiscal_year AND after_fiscal_quarter = fiscal_quarter AND {pred.format(p='after_')})"
        parts.append(
            f"SELECT fiscal_year, fiscal_quarter, '{col}' AS measure, {len(parts)} AS ord, "
            f"count(*) FILTER (coalesce({after}, false)) - count(*) FILTER (coalesce({before}, false)) AS delta, "
            f"list(DISTINCT scr_id ORDER BY scr_id) FILTER (coalesce({before}, false) <> coalesce({after}, false)) AS scrs, "
            f"list(DISTINCT cause_file ORDER BY cause_file) FILTER (coalesce({before}, false) <> coalesce({after}, false)) AS files "
            f"FROM r GROUP BY fiscal_year, fiscal_quarter"
        )
    sql = f"""
        WITH r AS ({rows_sql}), c AS ({" UNION ALL ".join(parts)})
        SELECT c.fiscal_year, c.fiscal_quarter, c.measure,
            coalesce(m.value, 0) - c.delta AS old_value, coalesce(m.value, 0) AS new_value,
            c.scrs, c.files
        FROM c LEFT JOIN (UNPIVOT (SELECT fiscal_year, fiscal_quarter,
                {", ".join(f"CAST({k} AS BIGINT) AS {k}" for k in MEASURE_FILTERS)}
                FROM quarterly_measures) ON {", ".join(MEASURE_FILTERS)}
                INTO NAME measure VALUE value) m
            USING (fiscal_year, fiscal_quarter, measure)
        WHERE len(c.scrs) > 0
        ORDER BY c.fiscal_year, c.fiscal_quarter, c.ord
    """
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


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
    pairs = [list(parse_quarter_key(k)) for k in keys]
    rows_sql = (
        f"SELECT * FROM ({PENDING_SQL}) WHERE list_contains($pairs, [fiscal_year, fiscal_quarter])"
    )
    changes = column_changes(con, rows_sql, {"refresh_id": None, "at": None, "pairs": pairs})
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
    changes = column_changes(con, "SELECT * FROM restatements WHERE new_refresh_id = ?", [run[0]])
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
