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
from schemas.fiscal import parse_quarter_key, quarter_key

TABLE = "scr_determinations"

# Columns of the published partitions, in the order of the issue (fiscal_year/quarter are the path).
ROWS_SQL = """
SELECT c.scr_id, c.case_number, c.scr_type, c.criminal_category, c.field_office, c.status,
    c.approved_date, c.counted, c.quarantined, c.quarantine_rules, c.determination,
    c.non_tco_reason, c.tco_involvement, c.indicator_conflict, c.subject_count, c.countries,
    c.last_modified_at, c.source_file, c.source_row, f.content_sha256,
    CAST(c.fiscal_year AS INTEGER) AS fiscal_year, CAST(c.fiscal_quarter AS INTEGER) AS fiscal_quarter
FROM scr_current c LEFT JOIN ingested_files f USING (file_id)
WHERE c.fiscal_year IS NOT NULL  -- an approved date that is a finding has no quarter
"""

# Which counted SCRs each published measure column counts; ``{p}`` is a column-name prefix so the
# same predicates read a determinations row or the before_/after_ side of a restatement.
MEASURE_FILTERS = {
    "initial_approved": "{p}scr_type = 'INITIAL'",
    "disruptions": "{p}scr_type = 'DISRUPTION'",
    "dismantlements": "{p}scr_type = 'DISMANTLEMENT'",
    "dd_total": "{p}scr_type IN ('DISRUPTION', 'DISMANTLEMENT')",
    "dd_tco": "{p}scr_type IN ('DISRUPTION', 'DISMANTLEMENT') AND {p}determination = 'TCO'",
    "dd_non_tco": "{p}scr_type IN ('DISRUPTION', 'DISMANTLEMENT') AND {p}determination = 'NON_TCO'",
    "dd_undetermined": "{p}scr_type IN ('DISRUPTION', 'DISMANTLEMENT') "
    "AND {p}determination = 'UNDETERMINED'",
    "initial_tco": "{p}scr_type = 'INITIAL' AND {p}determination = 'TCO'",
}
# category_measures columns: disruptions + dismantlements by determination and non-TCO reason.
CATEGORY_FILTERS = {
    "dd_total": MEASURE_FILTERS["dd_total"],
    "dd_tco": MEASURE_FILTERS["dd_tco"],
    "dd_non_tco": MEASURE_FILTERS["dd_non_tco"],
    **{
        reason: MEASURE_FILTERS["dd_total"] + f" AND {{p}}non_tco_reason = '{reason}'"
        for reason in ("no_association", "no_border_crossing", "both", "indicator_no")
    },
    "dd_undetermined": MEASURE_FILTERS["dd_undetermined"],
}


def _counts(filters: dict[str, str], prefix: str = "") -> str:
    return ", ".join(
        f'count(*) FILTER ({f.format(p=prefix)}) AS "{name}"' for name, f in filters.items()
    )


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    if TABLE not in existing_tables(con):  # binding ROWS_SQL needs scr_current
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM ({ROWS_SQL}) LIMIT 0")


FINGERPRINT_SQL = "SELECT fiscal_year, fiscal_quarter, count(*) AS n, bit_xor(hash(t)) AS h FROM ({}) t GROUP BY ALL"


def changed_keys(con: duckdb.DuckDBPyConnection) -> tuple[set[str], set[str]]:
    """(quarters holding determinations now, quarters whose determinations differ from the table).

    One hash per quarter on each side instead of a row-by-row diff: any change to any column of
    any SCR (a correction of field_office too) republishes that quarter's partition."""
    ensure_table(con)
    rows = con.execute(
        f"SELECT coalesce(n.fiscal_year, o.fiscal_year), coalesce(n.fiscal_quarter, o.fiscal_quarter), "
        f"n.fiscal_year IS NOT NULL, (n.n, n.h) IS DISTINCT FROM (o.n, o.h) "
        f"FROM ({FINGERPRINT_SQL.format(ROWS_SQL)}) n "
        f"FULL JOIN ({FINGERPRINT_SQL.format('SELECT * FROM ' + TABLE)}) o "
        "USING (fiscal_year, fiscal_quarter)"
    ).fetchall()
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
    con.execute(f"INSERT INTO {TABLE} SELECT * FROM ({ROWS_SQL}) WHERE {where}", [pairs])
    con.execute("COMMIT")


def _q(name: str) -> str:
    return f'"{name}"'


def _mismatch_sql(measures: str, filters: dict[str, str], keys: list[str]) -> str:
    """Rows of ``measures`` whose counts differ from a recount of the counted determinations.

    Measure rows that are all zeros (a category with no SCR in a quarter) have no SCRs behind
    them, so they are compared as absent."""
    cols = [_q(c) for c in filters]
    return f"""
        WITH d AS (
            SELECT {", ".join(keys)}, {_counts(filters)} FROM {TABLE} WHERE counted GROUP BY ALL
        ), m AS (
            SELECT {", ".join(keys)}, {", ".join(f"CAST({c} AS BIGINT) AS {c}" for c in cols)}
            FROM {measures} WHERE {" OR ".join(f"{c} > 0" for c in cols)}
        )
        SELECT {", ".join(keys)},
            {", ".join(f"coalesce(d.{c}, 0) || ' vs ' || coalesce(m.{c}, 0) AS {c}" for c in cols)}
        FROM d FULL JOIN m USING ({", ".join(keys)})
        WHERE {" OR ".join(f"coalesce(d.{c}, 0) <> coalesce(m.{c}, 0)" for c in cols)}
        ORDER BY ALL
    """


def count_mismatches(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict]]:
    """Quarters (and categories) where the determinations' counts differ from the measures."""
    out = {}
    for table, filters, keys in (
        ("quarterly_measures", MEASURE_FILTERS, ["fiscal_year", "fiscal_quarter"]),
        (
            "category_measures",
            CATEGORY_FILTERS,
            ["fiscal_year", "fiscal_quarter", "criminal_category"],
        ),
    ):
        cur = con.execute(_mismatch_sql(table, filters, keys))
        names = [d[0] for d in cur.description]
        out[table] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return out
