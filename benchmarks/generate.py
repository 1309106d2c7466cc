"""Synthetic SCR extracts for benchmarks: any row count, written by DuckDB in seconds.

Why: the demo generator models the audit case by case in Python, which is right for realism
and wrong for 10M rows. Here every column is a hash of the row number, computed set-wise in one
``COPY`` per file, so 10M rows take about as long as writing the CSV.

Shape of the data (all of it contract-valid except the intended invalid rows):
- rows come in blocks of 10 = 4 SCRs with 1, 2, 3 and 4 versions (2.5 versions per SCR on
  average); earlier versions are PENDING/RETURNED, the last one carries the final status;
- all criminal categories from ``schemas/reference/criminal_categories.csv``, 3 SCR types,
  5 statuses; the TCO checkbox is filled only on SCRs created on or after 2023-07-18;
- about 0.1% of rows break exactly one error rule each (``INVALID_KINDS``);
- ``write_correction`` adds a small later extract that restates SCRs approved in one fiscal
  quarter (the last quarter of a fiscal year, so fiscal-year-to-date columns of no other
  quarter move): the one-quarter refresh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import duckdb

from schemas.fiscal import quarter_bounds
from schemas.reference import criminal_categories

ROWS_PER_FILE = 1_000_000
FIRST_CREATED = dt.datetime(2016, 10, 1)
CREATED_SPAN_SECONDS = int((dt.datetime(2025, 6, 30) - FIRST_CREATED).total_seconds())
CORRECTION_QUARTER = (2024, 4)  # FY2024 Q4: 1 Jul 2024 - 30 Sep 2024
CORRECTION_MODIFIED_AT = "2026-01-15T09:30:00"
INVALID_PER_MILLE = 1
INVALID_KINDS = (
    "unknown_scr_type",
    "misspelled_category",
    "missing_field_office",
    "subject_count_zero",
    "malformed_country",
    "bad_submitted_date",
    "missing_created_at",
    "unreadable_last_modified_at",
)
OFFICES = [
    f"SAC {c}"
    for c in (
        "Houston", "San Diego", "El Paso", "Miami", "New York", "Chicago", "Los Angeles",
        "Phoenix", "San Antonio", "Newark", "Boston", "Atlanta", "Dallas", "Denver", "Seattle",
        "Detroit", "New Orleans", "Tampa", "Baltimore", "San Juan", "Buffalo", "St. Paul",
    )
]  # fmt: skip
COUNTRIES = ["US", "US;MX", "MX;GT", "US;CN", "CO;US;MX", "CA", "", "US;HN;SV", "US"]

# u(x, tag, m): a deterministic pseudo-random integer in [0, m) for key x and purpose tag.
MACROS = """
CREATE OR REPLACE TEMP MACRO u(x, tag, m) AS CAST(hash(hash(x, tag, getvariable('seed'))) % m AS BIGINT);
"""

# One row per SCR version for row numbers [$lo, $hi): (s = SCR index, v = version, nv = versions).
VERSIONS_SQL = """
WITH rows AS (SELECT r, r // 10 AS blk, r % 10 AS off FROM range($lo, $hi) t(r)),
ver AS (
    SELECT r,
        blk * 4 + CASE WHEN off = 0 THEN 0 WHEN off < 3 THEN 1 WHEN off < 6 THEN 2 ELSE 3 END AS s,
        CASE WHEN off = 0 THEN 1 WHEN off < 3 THEN 2 WHEN off < 6 THEN 3 ELSE 4 END AS nv,
        CASE WHEN off = 0 THEN 1 WHEN off < 3 THEN off WHEN off < 6 THEN off - 2 ELSE off - 5 END AS v
    FROM rows
)
SELECT * FROM ver
"""

# Attributes of every version row of ``__ver`` (columns r, s, v, nv), before breaking any.
ATTRS_SQL = """
WITH a AS (
    SELECT r, s, v, nv, v = nv AS final,
        CASE WHEN u(s, 'type', 100) < 40 THEN 'INITIAL'
             WHEN u(s, 'type', 100) < 75 THEN 'DISRUPTION' ELSE 'DISMANTLEMENT' END AS scr_type,
        $categories[1 + u(s, 'cat', len($categories))] AS criminal_category,
        CASE WHEN u(s, 'sub', 3) = 0 THEN '' ELSE 'sub-' || u(s, 'sub', 20) END AS subcategory,
        $offices[1 + u(s, 'office', len($offices))] AS field_office,
        CASE WHEN u(s, 'status', 100) < 70 THEN 'APPROVED' WHEN u(s, 'status', 100) < 80 THEN 'PENDING'
             WHEN u(s, 'status', 100) < 88 THEN 'RETURNED' WHEN u(s, 'status', 100) < 95 THEN 'REJECTED'
             ELSE 'WITHDRAWN' END AS final_status,
        $first_created + to_seconds(u(s, 'created', $span)) AS created,
        CASE WHEN u(s, 'subj', 20) = 0 THEN '' ELSE CAST(1 + u(s, 'subj', 6) AS VARCHAR) END AS subject_count,
        $countries[1 + u(s, 'ctry', len($countries))] AS countries,
        u(s, 'tco', 10) < 6 AS tco_yes
    FROM __ver
), b AS (
    SELECT *, CAST(created AS DATE) + CAST(u(s, 'subd', 20) AS INTEGER) AS submitted,
        CASE WHEN final THEN final_status WHEN v % 2 = 1 THEN 'PENDING' ELSE 'RETURNED' END AS status
    FROM a
), c AS (
    SELECT *, CASE WHEN status = 'APPROVED' THEN submitted + CAST(1 + u(s, 'appr', 60) AS INTEGER) END AS approved
    FROM b
)
SELECT r, s, v,
    'SCR-' || lpad(CAST(s AS VARCHAR), 10, '0') AS scr_id,
    'HSI-' || lpad(CAST(s // 3 AS VARCHAR), 9, '0') AS case_number,
    scr_type, criminal_category, subcategory, field_office, status,
    strftime(created, '%Y-%m-%dT%H:%M:%S') AS created_at,
    strftime(submitted, '%Y-%m-%d') AS submitted_date,
    coalesce(strftime(approved, '%Y-%m-%d'), '') AS approved_date,
    CASE WHEN created < TIMESTAMP '2023-07-18' THEN '' WHEN tco_yes THEN 'Y' ELSE 'N' END AS tco_involvement,
    subject_count, countries,
    strftime(CASE WHEN final THEN CAST(coalesce(approved, submitted) AS TIMESTAMP) + to_hours(24 * (nv + 5) + 7)
                  ELSE created + to_hours(24 * v) END, '%Y-%m-%dT%H:%M:%S') AS last_modified_at
FROM c
"""

# Break one rule in about INVALID_PER_MILLE of every 1000 rows; ``bad`` is the kind or NULL.
BROKEN_SQL = """
WITH k AS (
    SELECT *, CASE WHEN u(r, 'bad', 1000) < $per_mille THEN u(r, 'kind', 8) END AS bad FROM __attrs
)
SELECT r, bad, scr_id, case_number,
    CASE WHEN bad = 0 THEN 'INITAL' ELSE scr_type END AS scr_type,
    CASE WHEN bad = 1 THEN 'Cyber Crime' ELSE criminal_category END AS criminal_category,
    subcategory,
    CASE WHEN bad = 2 THEN '' ELSE field_office END AS field_office,
    status,
    CASE WHEN bad = 6 THEN '' ELSE created_at END AS created_at,
    CASE WHEN bad = 5 THEN '2024-13-45' ELSE submitted_date END AS submitted_date,
    approved_date, tco_involvement,
    CASE WHEN bad = 3 THEN '0' ELSE subject_count END AS subject_count,
    CASE WHEN bad = 4 THEN 'US;MEX' ELSE countries END AS countries,
    CASE WHEN bad = 7 THEN 'yesterday' ELSE last_modified_at END AS last_modified_at
FROM k
"""

CONTRACT_COLUMNS = (
    "scr_id, case_number, scr_type, criminal_category, subcategory, field_office, status, "
    "created_at, submitted_date, approved_date, tco_involvement, subject_count, countries, "
    "last_modified_at"
)


def _connect(seed: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    con.execute("SET enable_progress_bar = false")
    con.execute("SET VARIABLE seed = ?", [seed])
    con.execute(MACROS)
    return con


def _params() -> dict:
    return {
        "categories": list(criminal_categories()),
        "offices": OFFICES,
        "countries": COUNTRIES,
        "first_created": FIRST_CREATED,
        "span": CREATED_SPAN_SECONDS,
    }


def _rows_sql() -> str:
    """Contract rows plus a ``bad`` column, over the versions in temp view ``__ver``."""
    return BROKEN_SQL.replace("__attrs", f"({ATTRS_SQL})")


def write_extracts(
    landing: Path,
    rows: int,
    seed: int = 7,
    rows_per_file: int = ROWS_PER_FILE,
    invalid_per_mille: int = INVALID_PER_MILLE,
) -> dict:
    """Write ``rows`` SCR versions as scr_extract_*.csv files; returns counts (rows, invalid)."""
    landing.mkdir(parents=True, exist_ok=True)
    con = _connect(seed)
    files, bad_rows = [], []
    for i, lo in enumerate(range(0, rows, rows_per_file)):
        hi = min(rows, lo + rows_per_file)
        path = landing / f"scr_extract_2025-{1 + i // 28:02d}-{1 + i % 28:02d}_part{i:03d}.csv"
        con.execute(f"CREATE OR REPLACE TEMP TABLE __ver AS {VERSIONS_SQL}", {"lo": lo, "hi": hi})
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __out AS {_rows_sql()}",
            _params() | {"per_mille": invalid_per_mille},
        )
        con.execute(f"COPY (SELECT {CONTRACT_COLUMNS} FROM __out ORDER BY r) TO '{path}' (HEADER)")
        bad_rows += [
            (path.name, int(row), INVALID_KINDS[kind])
            for row, kind in con.execute(
                "SELECT r - ? + 1, bad FROM __out WHERE bad IS NOT NULL ORDER BY r", [lo]
            ).fetchall()
        ]
        files.append(path.name)
    con.close()
    return {
        "rows": rows,
        "files": files,
        "invalid_rows": len(bad_rows),
        "bad_rows": bad_rows,  # (file, 1-based data row, kind): what validation must flag
        "seed": seed,
    }


def write_correction(landing: Path, rows: int, seed: int = 7, share_pct: int = 5) -> dict:
    """Restate ``share_pct``% of the SCRs approved in CORRECTION_QUARTER (a new last version).

    The new versions keep status and approval date and change what the TCO determination
    reads (subject_count 1, countries US, checkbox N where it applies), so only that
    quarter's numbers move.
    """
    fy, q = CORRECTION_QUARTER
    start, end = quarter_bounds(fy, q)
    landing.mkdir(parents=True, exist_ok=True)
    con = _connect(seed)
    # the final version of every SCR: rows whose version equals its number of versions
    con.execute(
        f"CREATE TEMP TABLE __ver AS SELECT * FROM ({VERSIONS_SQL}) WHERE v = nv",
        {"lo": 0, "hi": rows},
    )
    con.execute(f"CREATE TEMP TABLE __final AS {ATTRS_SQL}", _params())
    path = landing / "scr_extract_2026-01-16_correction.csv"
    con.execute(
        f"""COPY (
            SELECT scr_id, case_number, scr_type, criminal_category, subcategory, field_office,
                status, created_at, submitted_date, approved_date,
                CASE WHEN tco_involvement = '' THEN '' ELSE 'N' END AS tco_involvement,
                '1' AS subject_count, 'US' AS countries, $modified AS last_modified_at
            FROM __final
            WHERE status = 'APPROVED' AND CAST(approved_date AS DATE) BETWEEN $start AND $end
                AND u(s, 'correct', 100) < $share
        ) TO '{path}' (HEADER)""",
        {"modified": CORRECTION_MODIFIED_AT, "start": start, "end": end, "share": share_pct},
    )
    n = con.execute(f"SELECT count(*) FROM read_csv('{path}')").fetchall()[0][0]
    con.close()
    return {"file": path.name, "rows": int(n), "fiscal_year": fy, "fiscal_quarter": q}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Write synthetic contract-valid SCR extracts (about 0.1%% invalid rows) "
        "and a one-quarter correction extract into a landing dir."
    )
    parser.add_argument("landing", type=Path, help="directory to write scr_extract_*.csv into")
    parser.add_argument("--rows", type=int, default=1_000_000, help="SCR versions to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows-per-file", type=int, default=ROWS_PER_FILE)
    parser.add_argument(
        "--correction", action="store_true", help="also write the one-quarter correction"
    )
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    out = write_extracts(args.landing, args.rows, args.seed, args.rows_per_file)
    if args.correction:
        out["correction"] = write_correction(args.landing, args.rows, args.seed)
    out.pop("bad_rows")
    print(f"{out} in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    main()
