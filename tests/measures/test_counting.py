"""The counting rules of ``schemas/counting.py`` and the SQL built on them, by hand, fast.

In-memory DuckDB, no refresh: the macros against an oracle written here; a hand-made
``scr_current`` of ten SCRs measured by the real quarterly/category SQL, copied to the SCR-level
table by the real determinations SQL, recounted by the real check (``count_mismatches``) and
restated by the real restatements SQL. Every expected number is worked out in the comments. These
are the tests the SQL mutants of ``counting``, ``determinations.sql`` and ``restatements.sql`` run
(tests/mutation/sql_mutants.py). SQL is read through its module, never imported by name (the
mutation harness patches module attributes). Also: each literal counting predicate is written
once in the tree.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

import duckdb
import pytest

from assets.measures import determinations, quarterly, restatements
from schemas import counting
from schemas.fiscal import SQL_MACROS

ROOT = Path(__file__).resolve().parents[2]
GANGS, CYBER = "Transnational Gangs", "Cyber-Enabled Crime"
KEYS = ["FY2024-Q1", "FY2024-Q2"]
Q1, Q2 = dt.date(2023, 11, 15), dt.date(2024, 2, 15)  # FY2024 Q1 (Oct-Dec), Q2 (Jan-Mar)


# --- the macros -------------------------------------------------------------------------------
def _con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(SQL_MACROS)
    con.execute(counting.COUNTING_MACROS)
    return con


def _oracle(measure: str, scr_type, determination, reason) -> bool:
    dd = scr_type in ("DISRUPTION", "DISMANTLEMENT")
    return {
        "initial_approved": scr_type == "INITIAL",
        "disruptions": scr_type == "DISRUPTION",
        "dismantlements": scr_type == "DISMANTLEMENT",
        "dd_total": dd,
        "dd_tco": dd and determination == "TCO",
        "dd_non_tco": dd and determination == "NON_TCO",
        "dd_undetermined": dd and determination == "UNDETERMINED",
        "initial_tco": scr_type == "INITIAL" and determination == "TCO",
    }.get(measure, dd and reason == measure)


TYPES = ("INITIAL", "DISRUPTION", "DISMANTLEMENT", "OTHER")
DETERMINATIONS = ("TCO", "NON_TCO", "UNDETERMINED")
REASONS = ("no_association", "no_border_crossing", "both", "indicator_no", None)


def test_counts_in_is_every_published_column_by_hand():
    """Every column of both measure tables against the oracle above, for every type,
    determination and reason (a NULL reason or type is never counted in a reason column)."""
    con = _con()
    measures = list(dict.fromkeys(counting.QUARTERLY_COLUMNS + counting.CATEGORY_COLUMNS))
    cases = list(itertools.product(measures, TYPES, DETERMINATIONS, REASONS))
    got = con.execute(
        "SELECT coalesce(counts_in(m, t, d, r), false) FROM "
        "(SELECT unnest($m) AS m, unnest($t) AS t, unnest($d) AS d, unnest($r) AS r)",
        {k: [c[i] for c in cases] for i, k in enumerate("mtdr")},
    ).fetchall()
    assert [g[0] for g in got] == [_oracle(*c) for c in cases]
    assert (
        con.execute("SELECT counts_in('fytd_dd_total', 'DISRUPTION', 'TCO', NULL)").fetchall()[0][0]
        is None
    )  # not a count column


def test_is_counted_needs_no_quarantine_approved_and_a_date():
    con = _con()
    rows = con.execute(
        "SELECT q, s, d, is_counted(q, s, d) FROM (VALUES (false, 'APPROVED', DATE '2024-01-01'),"
        " (true, 'APPROVED', DATE '2024-01-01'), (false, 'PENDING', DATE '2024-01-01'),"
        " (false, 'APPROVED', NULL)) v(q, s, d)"
    ).fetchall()
    assert [r[3] for r in rows] == [True, False, False, False]


def test_type_and_determination_macros():
    con = _con()
    got = con.execute(
        "SELECT is_dd(t), is_initial(t), is_tco(d) FROM (VALUES ('DISRUPTION', 'TCO'),"
        " ('DISMANTLEMENT', 'NON_TCO'), ('INITIAL', 'UNDETERMINED')) v(t, d)"
    ).fetchall()
    assert got == [(True, False, True), (True, False, False), (False, True, False)]
    und = con.execute("SELECT is_undetermined(d) FROM (VALUES ('UNDETERMINED'), ('TCO')) v(d)")
    assert und.fetchall() == [(True,), (False,)]


# Each predicate literal, written once in the tree (schemas/counting.py).
PREDICATES = (
    "IN ('DISRUPTION', 'DISMANTLEMENT')",
    "= 'DISRUPTION'",
    "= 'DISMANTLEMENT'",
    "= 'INITIAL'",
    "determination = 'TCO'",
    "determination = 'NON_TCO'",
    "determination = 'UNDETERMINED'",
    "status = 'APPROVED' AND approved_date IS NOT NULL",
    "non_tco_reason = 'both'",
)
SEARCHED = ("assets", "schemas", "pipelines", "benchmarks")


def test_each_counting_predicate_is_written_once():
    """A second spelling of a rule is a second place to change (and a wrong number when one is
    missed): the SQL of the measures, determinations, restatements, audit frames, explain and
    the floor calls the macros instead. Whitespace-insensitive; Python and .sql files."""
    found: dict[str, list[str]] = {p: [] for p in PREDICATES}
    for top in SEARCHED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".py", ".sql") or "results" in path.parts:
                continue
            text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))
            for p in PREDICATES:
                found[p] += [str(path.relative_to(ROOT))] * text.count(p)
    assert found == {p: ["schemas/counting.py"] for p in PREDICATES}


# --- a hand-made scr_current, measured ------------------------------------------------------------
SCRS = [
    # scr_id, type, category, status, approved, quarantined, determination, reason
    ("A1", "INITIAL", GANGS, "APPROVED", Q1, False, "TCO", None),
    ("A2", "INITIAL", CYBER, "APPROVED", Q1, False, "NON_TCO", "no_association"),
    ("A3", "DISRUPTION", GANGS, "APPROVED", Q1, False, "TCO", None),
    ("A4", "DISRUPTION", CYBER, "APPROVED", Q1, False, "NON_TCO", "no_association"),
    ("A5", "DISMANTLEMENT", GANGS, "APPROVED", Q1, False, "UNDETERMINED", None),
    ("A6", "DISMANTLEMENT", GANGS, "APPROVED", Q2, False, "NON_TCO", "both"),
    ("A7", "DISRUPTION", GANGS, "APPROVED", Q1, True, None, None),  # quarantined: not counted
    ("A8", "DISRUPTION", CYBER, "APPROVED", Q2, False, "NON_TCO", "indicator_no"),
    ("A9", "DISRUPTION", GANGS, "APPROVED", Q2, False, "NON_TCO", "no_border_crossing"),
    ("A10", "DISRUPTION", GANGS, "PENDING", None, False, "TCO", None),  # no quarter, not counted
]


def _scr_current(con, scrs) -> None:
    con.execute("CREATE OR REPLACE TABLE ingested_files (file_id INTEGER, content_sha256 VARCHAR)")
    con.execute("INSERT INTO ingested_files VALUES (1, 'abc')")
    con.execute(
        "CREATE OR REPLACE TABLE raw (scr_id VARCHAR, scr_type VARCHAR, criminal_category VARCHAR,"
        " status VARCHAR, approved_date DATE, quarantined BOOLEAN, determination VARCHAR,"
        " non_tco_reason VARCHAR)"
    )
    con.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [list(s) for s in scrs])
    con.execute("""
        CREATE OR REPLACE TABLE scr_current AS
        SELECT scr_id, 'C-' || scr_id AS case_number, scr_type, criminal_category,
            'SAC' AS field_office, status, approved_date,
            is_counted(quarantined, status, approved_date) AS counted, quarantined,
            CASE WHEN quarantined THEN 'scr.x' END AS quarantine_rules, determination,
            non_tco_reason, 'Y' AS tco_involvement, false AS indicator_conflict,
            2 AS subject_count, 'US;MX' AS countries, TIMESTAMP '2024-03-01' AS last_modified_at,
            'scr_extract_' || lower(scr_id) || '.csv' AS source_file,
            CAST(substr(scr_id, 2) AS INTEGER) AS source_row,
            1 AS file_id, fiscal_year(approved_date) AS fiscal_year,
            fiscal_quarter(approved_date) AS fiscal_quarter
        FROM raw
    """)


def _measure(con, keys=KEYS) -> None:
    quarterly.rebuild_quarters(con, "quarterly_measures", quarterly.quarter_rows, keys, "run")
    quarterly.rebuild_quarters(con, "category_measures", quarterly.category_rows, keys, "run")
    determinations.replace_quarters(con, keys)


@pytest.fixture
def con():
    c = _con()
    _scr_current(c, SCRS)
    _measure(c)
    yield c
    c.close()


QUARTERLY = counting.QUARTERLY_COLUMNS
EXPECTED_QUARTERS = {
    # initial_approved disruptions dismantlements dd_total dd_tco dd_non_tco dd_undet initial_tco
    (2024, 1): (2, 2, 1, 3, 1, 1, 1, 1),  # A1 A2 | A3 A4 (A7 quarantined) | A5 | A3 | A4 | A5 | A1
    (2024, 2): (0, 2, 1, 3, 0, 3, 0, 0),  # A8 A9 | A6 | A6 A8 A9 all NON_TCO
}


def test_the_published_columns_are_the_measure_tables_count_columns(con):
    q = [c for c, *_ in con.execute("DESCRIBE quarterly_measures").fetchall()]
    assert q[4:12] == list(counting.QUARTERLY_COLUMNS)
    c = [c for c, *_ in con.execute("DESCRIBE category_measures").fetchall()]
    assert c[3:] == list(counting.CATEGORY_COLUMNS)


def test_hand_scr_current_measures_by_hand(con):
    got = con.execute(
        f"SELECT fiscal_year, fiscal_quarter, {', '.join(QUARTERLY)} FROM quarterly_measures "
        "ORDER BY ALL"
    ).fetchall()
    assert {(r[0], r[1]): r[2:] for r in got} == EXPECTED_QUARTERS
    cats = con.execute(
        "SELECT fiscal_quarter, criminal_category, dd_total, dd_tco, dd_non_tco, no_association,"
        ' no_border_crossing, "both", indicator_no, dd_undetermined FROM category_measures'
        " WHERE dd_total > 0 ORDER BY ALL"
    ).fetchall()
    assert cats == [
        (1, CYBER, 1, 0, 1, 1, 0, 0, 0, 0),  # A4
        (1, GANGS, 2, 1, 0, 0, 0, 0, 0, 1),  # A3 A5 (A7 quarantined)
        (2, CYBER, 1, 0, 1, 0, 0, 0, 1, 0),  # A8
        (2, GANGS, 2, 0, 2, 0, 1, 1, 0, 0),  # A6 A9
    ]


# --- the SCR-level rows and the recount -------------------------------------------------------------
def test_determination_rows_are_the_scrs_with_a_quarter(con):
    """A10 has no approval date, so no quarter: not in the table (``fiscal_year IS NOT NULL``),
    and no quarter is present or changed for it."""
    ids = [
        r[0] for r in con.execute("SELECT scr_id FROM scr_determinations ORDER BY ALL").fetchall()
    ]
    assert ids == ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"]
    assert determinations.changed_keys(con) == ({"FY2024-Q1", "FY2024-Q2"}, set())
    con.execute("UPDATE scr_current SET field_office = 'SAC 2' WHERE scr_id = 'A6'")
    assert determinations.changed_keys(con) == ({"FY2024-Q1", "FY2024-Q2"}, {"FY2024-Q2"})


def test_the_recount_agrees_with_the_measures(con):
    assert determinations.count_mismatches(con) == {
        "quarterly_measures": [],
        "category_measures": [],
    }


@pytest.mark.parametrize("column", QUARTERLY)
def test_a_quarterly_count_off_by_one_is_named_with_both_numbers(con, column):
    con.execute(f"UPDATE quarterly_measures SET {column} = {column} + 1 WHERE fiscal_quarter = 2")
    got = determinations.count_mismatches(con)
    expected = dict(zip(QUARTERLY, EXPECTED_QUARTERS[(2024, 2)], strict=True))
    row = {c: f"{v} vs {v + (c == column)}" for c, v in expected.items()}
    assert got == {
        "quarterly_measures": [{"fiscal_year": 2024, "fiscal_quarter": 2, **row}],
        "category_measures": [],
    }


@pytest.mark.parametrize("column", counting.CATEGORY_COLUMNS)
def test_a_category_count_off_by_one_is_named_with_both_numbers(con, column):
    """Cyber-Enabled Crime in Q2 holds A8 (NON_TCO by the checkbox): 1 0 1 0 0 0 1 0."""
    con.execute(
        f'UPDATE category_measures SET "{column}" = "{column}" + 1 '
        "WHERE fiscal_quarter = 2 AND criminal_category = ?",
        [CYBER],
    )
    got = determinations.count_mismatches(con)
    base = dict(zip(counting.CATEGORY_COLUMNS, (1, 0, 1, 0, 0, 0, 1, 0), strict=True))
    row = {c: f"{v} vs {v + (c == column)}" for c, v in base.items()}
    assert got == {
        "quarterly_measures": [],
        "category_measures": [
            {"fiscal_year": 2024, "fiscal_quarter": 2, "criminal_category": CYBER, **row}
        ],
    }


def test_category_mismatches_are_listed_by_quarter_then_category(con):
    """The check's metadata shows the first mismatches (scr_determinations.py), so the list is
    in order: quarter, then category. Q1 Gangs holds A3 A5 (2 1 0 0 0 0 0 1), Q2 Cyber A8
    (1 0 1 0 0 0 1 0); dd_total of each is raised by one. Kills ``ORDER BY ALL`` -> DESC."""
    con.execute(
        "UPDATE category_measures SET dd_total = dd_total + 1 WHERE (fiscal_quarter, "
        "criminal_category) IN ((1, ?), (2, ?))",
        [GANGS, CYBER],
    )
    got = determinations.count_mismatches(con)["category_measures"]
    assert [(r["fiscal_quarter"], r["criminal_category"], r["dd_total"]) for r in got] == [
        (1, GANGS, "2 vs 3"),
        (2, CYBER, "1 vs 2"),
    ]


def test_scrs_of_a_quarter_without_measures_are_a_mismatch(con):
    """A quarter the SCR-level rows count but the measures lack (FULL JOIN, both sides)."""
    con.execute("DELETE FROM quarterly_measures WHERE fiscal_quarter = 1")
    (row,) = determinations.count_mismatches(con)["quarterly_measures"]
    assert row == {"fiscal_year": 2024, "fiscal_quarter": 1,
                   **{c: f"{v} vs 0" for c, v in zip(QUARTERLY, EXPECTED_QUARTERS[(2024, 1)], strict=True)}}  # fmt: skip
    con.execute("UPDATE scr_determinations SET counted = false WHERE fiscal_quarter = 2")
    rows = determinations.count_mismatches(con)["quarterly_measures"]
    assert [(r["fiscal_quarter"], r["dd_total"]) for r in rows] == [(1, "3 vs 0"), (2, "0 vs 3")]


# --- restatements ------------------------------------------------------------------------------------
T1, T2, T3 = dt.datetime(2024, 4, 1, 9), dt.datetime(2024, 5, 1, 9), dt.datetime(2024, 6, 1, 9)


@pytest.fixture
def restated(con):
    """Published once (r1); then four corrections, measured again:
    A3 TCO -> NON_TCO (no_association); A4 moves from Q1 to Q2; A7's quarantine is lifted (now
    counted in Q1); A2 changes only its category (a restatement row, no count moves)."""
    restatements.record_publication(con, "r1", T1)
    changed = {
        "A3": ("A3", "DISRUPTION", GANGS, "APPROVED", Q1, False, "NON_TCO", "no_association"),
        "A4": ("A4", "DISRUPTION", CYBER, "APPROVED", Q2, False, "NON_TCO", "no_association"),
        "A7": ("A7", "DISRUPTION", GANGS, "APPROVED", Q1, False, "TCO", None),
        "A2": ("A2", "INITIAL", GANGS, "APPROVED", Q1, False, "NON_TCO", "no_association"),
    }
    _scr_current(con, [changed.get(s[0], s) for s in SCRS])
    _measure(con)
    return con


def test_republishing_the_same_determinations_is_no_publication(con):
    restatements.record_publication(con, "r1", T1)
    assert restatements.republishes_the_last(con)
    assert restatements.stage_restatements(con, "r1b", T2) == 0
    con.execute("UPDATE scr_determinations SET source_row = 99 WHERE scr_id = 'A9'")
    assert not restatements.republishes_the_last(con)  # any column of the snapshot, both ways
    con.execute("DELETE FROM scr_determinations WHERE scr_id = 'A9'")
    assert not restatements.republishes_the_last(con)


def test_pending_restatements_by_hand(restated):
    rows = restatements.pending_restatements(restated, "r2", T2).fetchall()
    cols = [d[0] for d in restatements.pending_restatements(restated, "r2", T2).description]
    got = [dict(zip(cols, r, strict=True)) for r in rows]
    short = [
        (r["fiscal_quarter"], r["scr_id"], r["before_counted"], r["after_counted"],
         r["before_fiscal_quarter"], r["after_fiscal_quarter"], r["changed_fields"])
        for r in got
    ]  # fmt: skip
    assert short == [
        (1, "A2", True, True, 1, 1, "criminal_category"),
        (1, "A3", True, True, 1, 1, "determination, non_tco_reason"),
        (1, "A4", True, True, 1, 2, "fiscal_quarter"),  # left Q1 ...
        (1, "A7", False, True, 1, 1, "counted, determination"),
        (2, "A4", True, True, 1, 2, "fiscal_quarter"),  # ... and entered Q2
    ]
    assert {(r["previous_refresh_id"], r["new_refresh_id"]) for r in got} == {("r1", "r2")}
    assert [r["cause_file"] for r in got] == [
        f"scr_extract_{s}.csv" for s in ("a2", "a3", "a4", "a7", "a4")
    ]
    assert [r["cause_row"] for r in got] == [2, 3, 4, 7, 4]


def test_an_unpublished_quarter_is_not_restated(con):
    """Only quarters of the last publication are restated: Q2 published with no counted SCR
    left is not a published quarter, so a new counted SCR there restates nothing."""
    con.execute("UPDATE scr_current SET status = 'PENDING' WHERE fiscal_quarter = 2")
    con.execute("UPDATE scr_current SET counted = false WHERE fiscal_quarter = 2")
    _measure(con)
    restatements.record_publication(con, "r1", T1)
    _scr_current(con, SCRS)  # Q2's SCRs count again
    _measure(con)
    assert restatements.pending_restatements(con, "r2", T2).fetchall() == []


def test_column_changes_by_hand(restated):
    """Old -> new per restated quarter and column, and the SCRs and files behind each move.
    Q1 before: 2 2 1 3 1 1 1 1. After: A3 NON_TCO (dd_tco -1, dd_non_tco +1), A4 gone
    (disruptions, dd_total, dd_non_tco -1), A7 counted TCO (disruptions, dd_total, dd_tco +1).
    Q2 before: 0 2 1 3 0 3 0 0; A4 arrives (disruptions, dd_total, dd_non_tco +1)."""
    assert restatements.stage_restatements(restated, "r2", T2) == 5
    got = [
        (c["fiscal_quarter"], c["measure"], c["old_value"], c["new_value"], c["scrs"], c["files"])
        for c in restatements.latest_changes(restated)["changes"]
    ]

    def f(*scrs):  # each SCR's file (the fixture names one file per SCR)
        return [f"scr_extract_{s.lower()}.csv" for s in scrs]

    assert got == [
        (1, "disruptions", 2, 2, ["A4", "A7"], f("A4", "A7")),
        (1, "dd_total", 3, 3, ["A4", "A7"], f("A4", "A7")),
        (1, "dd_tco", 1, 1, ["A3", "A7"], f("A3", "A7")),
        (1, "dd_non_tco", 1, 1, ["A3", "A4"], f("A3", "A4")),
        (2, "disruptions", 2, 3, ["A4"], f("A4")),
        (2, "dd_total", 3, 4, ["A4"], f("A4")),
        (2, "dd_non_tco", 3, 4, ["A4"], f("A4")),
    ]
    notes = restatements.partition_notes(restated, ["FY2024-Q2"])
    assert notes == {
        "FY2024-Q2": "disruptions 2 -> 3, dd_total 3 -> 4, dd_non_tco 3 -> 4 "
        "(SCR A4; scr_extract_a4.csv)"
    }


def test_an_scr_that_stops_counting_in_its_quarter_is_restated(con):
    """A3 (a Q1 TCO disruption, published in r1) is quarantined by a correction: it keeps its
    approval date, so its quarter (Q1), but no longer counts. Q1 before: disruptions 2, dd_total
    3, dd_tco 1 (A3 A4 | A3 A4 A5 | A3); after: 1, 2, 0. Kills dropping ``r.after_counted``
    from ``after_in`` (the quarantined A3 would still count on the after side: only dd_tco,
    where its determination is gone, would move)."""
    restatements.record_publication(con, "r1", T1)
    quarantined = ("A3", "DISRUPTION", GANGS, "APPROVED", Q1, True, None, None)
    _scr_current(con, [quarantined if s[0] == "A3" else s for s in SCRS])
    _measure(con)
    assert restatements.stage_restatements(con, "r2", T2) == 1
    got = [
        (c["fiscal_quarter"], c["measure"], c["old_value"], c["new_value"], c["scrs"], c["files"])
        for c in restatements.latest_changes(con)["changes"]
    ]
    a3 = (["A3"], ["scr_extract_a3.csv"])
    assert got == [
        (1, "disruptions", 2, 1, *a3),
        (1, "dd_total", 3, 2, *a3),
        (1, "dd_tco", 1, 0, *a3),
    ]


def test_a_move_across_fiscal_years_is_restated_against_the_latest_publication(con):
    """A9 (a Q2 NON_TCO disruption) moves to FY2023 Q2, a quarter never published (r2 restates
    FY2024 Q2 only), then back after r2 published FY2023 Q2 too: r3 restates both quarters
    against r2, the latest publication. Kills dropping either side's ``fiscal_year`` conjunct
    (same quarter number, another year) and ASC for the last publication."""
    a9 = [s for s in SCRS if s[0] == "A9"][0]
    moved = [(*a9[:4], dt.date(2023, 2, 15), *a9[5:]) if s[0] == "A9" else s for s in SCRS]
    keys = ["FY2023-Q2", *KEYS]

    def changes(refresh_id, at):
        restatements.stage_restatements(con, refresh_id, at)
        latest = restatements.latest_changes(con)
        rows = [
            (c["fiscal_year"], c["fiscal_quarter"], c["measure"], c["old_value"], c["new_value"])
            for c in latest["changes"]
        ]
        assert {s for c in latest["changes"] for s in c["scrs"]} == {"A9"}
        return latest["previous_refresh_id"], rows

    restatements.record_publication(con, "r1", T1)
    _scr_current(con, moved)
    _measure(con, keys)
    assert changes("r2", T2) == ("r1", [
        (2024, 2, "disruptions", 2, 1), (2024, 2, "dd_total", 3, 2), (2024, 2, "dd_non_tco", 3, 2),
    ])  # fmt: skip
    restatements.record_publication(con, "r2", T2)
    _scr_current(con, SCRS)
    _measure(con, keys)
    pending = restatements.pending_restatements(con, "r3", T3).fetchall()
    assert [(r[0], r[1], r[2], r[6]) for r in pending] == [
        (2023, 2, "r2", "A9"), (2024, 2, "r2", "A9"),
    ]  # fmt: skip
    assert changes("r3", T3) == ("r2", [
        (2023, 2, "disruptions", 1, 0), (2023, 2, "dd_total", 1, 0), (2023, 2, "dd_non_tco", 1, 0),
        (2024, 2, "disruptions", 1, 2), (2024, 2, "dd_total", 2, 3), (2024, 2, "dd_non_tco", 2, 3),
    ])  # fmt: skip
