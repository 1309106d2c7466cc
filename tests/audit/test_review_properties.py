"""Properties of the choice of a case's review in force (``assets/audit/case_reviews.py``), on
hand-made review rows in an in-memory DuckDB (no refresh): an invalid review, whatever its date,
role or file, never changes any case's status or verdict; a warning never invalidates a review.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.audit.case_reviews import current_from_versions

VERSIONS_DDL = """
CREATE TABLE case_review_versions (file_id INTEGER, source_file VARCHAR, source_row BIGINT,
    case_number VARCHAR, reviewed_d DATE, association_of_individuals VARCHAR,
    crosses_international_border VARCHAR, notes VARCHAR, reviewer VARCHAR, review_role VARCHAR,
    review_outcome VARCHAR)
"""
FINDINGS_DDL = """
CREATE TABLE case_review_findings (file_id INTEGER, source_row BIGINT, rule_id VARCHAR,
    severity VARCHAR)
"""
# a review: case, days after 2026-01-01, role (None = empty = first), prongs or unreviewable
review = st.tuples(
    st.sampled_from(["C1", "C2", "C3"]),
    st.integers(0, 30),
    st.sampled_from([None, "first", "second", "adjudication"]),
    st.sampled_from(["YY", "YN", "NY", "NN", "UNREVIEWABLE"]),
)


def _current(valid: list[tuple], invalid: list[tuple], warned: set[int]) -> dict:
    """case -> (status, analyst_verdict) with ``valid`` rows, ``invalid`` ones (an error finding
    each) and a warning finding on the valid rows numbered in ``warned``."""
    with duckdb.connect() as con:
        con.execute(VERSIONS_DDL)
        con.execute(FINDINGS_DDL)
        for n, (case, day, role, answer) in enumerate(valid + invalid):
            unreviewable = answer == "UNREVIEWABLE"
            a, b = (None, None) if unreviewable else answer
            file_id = 1 + n % 3  # the rows spread over three files
            con.execute(
                "INSERT INTO case_review_versions VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
                [file_id, f"case_reviews_{file_id}.csv", n + 1, case,
                 dt.date(2026, 1, 1) + dt.timedelta(days=day), a, b, role,
                 "UNREVIEWABLE" if unreviewable else None],
            )  # fmt: skip
            if n >= len(valid):
                con.execute(
                    "INSERT INTO case_review_findings VALUES (?, ?, 'cr.x.enum', 'error')",
                    [file_id, n + 1],
                )
            elif n in warned:
                con.execute(
                    "INSERT INTO case_review_findings VALUES (?, ?, 'cr.x.whitespace', 'warning')",
                    [file_id, n + 1],
                )
        current_from_versions(con)
        return {
            c: (s, v)
            for c, s, v in con.execute(
                "SELECT case_number, status, analyst_verdict FROM case_review_current"
            ).fetchall()
        }


@settings(max_examples=50, deadline=None)
@given(
    st.lists(review, max_size=6),
    st.lists(review, min_size=1, max_size=4),
    st.sets(st.integers(0, 5)),
)
def test_an_invalid_review_never_changes_a_cases_verdict(valid, invalid, warned):
    before = _current(valid, [], warned)
    after = _current(valid, invalid, warned)
    for case, state in after.items():
        if case in before:
            assert state == before[case]
        else:  # a case with invalid reviews only: no verdict
            assert state == ("rejected", None)
    assert before.keys() <= after.keys()


def test_the_rules_for_roles_worked_by_hand():
    """first Y Y (day 1) and second Y N (day 2): in dispute; a later first N N (day 3) agrees
    with the second on NOT_TCO: reviewed, and the first stands; an adjudication settles."""
    first, second = ("C1", 1, None, "YY"), ("C1", 2, "second", "YN")
    assert _current([first, second], [], set()) == {"C1": ("in_dispute", None)}
    assert _current([first, second, ("C1", 3, "first", "NN")], [], set()) == {
        "C1": ("reviewed", "NOT_TCO")
    }
    adjudicated = [first, second, ("C1", 0, "adjudication", "YY")]  # its date does not matter
    assert _current(adjudicated, [], set()) == {"C1": ("reviewed", "TCO")}
    assert _current([("C2", 1, "second", "UNREVIEWABLE")], [], set()) == {
        "C2": ("unreviewable", None)
    }


@pytest.mark.parametrize(
    ("source_file", "written", "read"),
    [
        ("case_reviews_a.csv", "12/07/2026", dt.date(2026, 12, 7)),  # US order: 7 December
        ("case_reviews_a.CSV", "1/2/2026", dt.date(2026, 1, 2)),  # leading zeros optional
        ("case_reviews_a.csv", "01/02/2026", dt.date(2026, 1, 2)),
        ("case_reviews_a.csv", " 2026-12-07 ", dt.date(2026, 12, 7)),  # ISO, trimmed
        ("case_reviews_a.csv", "2/30/2026", None),  # no such day: cr.reviewed_on.format
        ("case_reviews_a.csv", "13/07/2026", None),  # no month 13 (not read as D/M)
        ("case_reviews_a.csv", "07.12.2026", None),
        ("case_reviews_a.csv", "2026/12/07", None),
        ("case_reviews_a.xlsx", "12/07/2026", None),  # only a CSV may carry a US date
        ("case_reviews_a.parquet", "12/07/2026", None),
        ("case_reviews_a.xlsx", "2026-12-07", dt.date(2026, 12, 7)),
    ],
)
def test_reviewed_on_reads_iso_everywhere_and_us_dates_in_a_csv(source_file, written, read):
    """The typed view's ``reviewed_d`` (``schemas/case_review.py``); NULL means the format rule
    fires on the row."""
    from schemas.case_review import TYPED_VIEW_SQL

    with duckdb.connect() as con:
        con.execute("CREATE TABLE audit_sample_cases (case_number VARCHAR)")
        con.execute(
            "CREATE TABLE active_raw_case_reviews AS SELECT 1 AS file_id, ? AS source_file, "
            "1 AS source_row, TIMESTAMP '2026-12-06 12:00' AS ingested_at, 'C1' AS case_number, "
            "? AS reviewed_on, 'Y' AS association_of_individuals, "
            "'N' AS crosses_international_border, NULL AS notes, NULL AS reviewer, "
            "NULL AS review_role, NULL AS review_outcome",
            [source_file, written],
        )
        con.execute(TYPED_VIEW_SQL)
        assert con.execute("SELECT reviewed_d FROM case_review_versions").fetchall() == [(read,)]


def test_a_warehouse_from_before_the_review_columns_takes_files_with_them():
    """An existing warehouse's raw_case_reviews lacks reviewer/review_role/review_outcome: ingest
    adds them (``assets/landing/tables.py: ensure_tables``) and inserts by column name, so old
    rows read as empty (first reviews, REVIEWED) and a new file's values land in their columns."""
    import pyarrow as pa

    from assets.landing.raw_rows import _insert_sql
    from assets.landing.tables import ensure_tables
    from schemas.extracts import CASE_REVIEWS

    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE raw_case_reviews (file_id INTEGER NOT NULL, source_file VARCHAR NOT "
            "NULL, source_row BIGINT NOT NULL, content_sha256 VARCHAR, ingested_at TIMESTAMP, "
            "case_number VARCHAR, reviewed_on VARCHAR, association_of_individuals VARCHAR, "
            "crosses_international_border VARCHAR, notes VARCHAR, extra JSON)"
        )
        con.execute(
            "INSERT INTO raw_case_reviews VALUES (1, 'case_reviews_old.csv', 1, 'x', "
            "TIMESTAMP '2026-11-20 12:00', 'C1', '2026-11-20', 'Y', 'Y', '', NULL)"
        )
        ensure_tables(con)
        header = ["case_number", "reviewed_on", "association_of_individuals",
                  "crosses_international_border", "reviewer", "review_role"]  # fmt: skip
        values = ["C2", "2026-11-21", "Y", "N", "bo", "second"]
        batch = pa.RecordBatch.from_arrays(
            [pa.array([v]) for v in values] + [pa.array([1], pa.int64())], [*header, "__row"]
        )
        con.register("__batch", batch)
        con.execute(
            _insert_sql(CASE_REVIEWS, {c: c for c in header}, []),
            {
                "file_id": 2,
                "source_file": "case_reviews_new.csv",
                "sha256": "y",
                "ingested_at": dt.datetime(2026, 11, 21, 12),
            },  # fmt: skip
        )
        got = con.execute(
            "SELECT source_file, case_number, crosses_international_border, reviewer, "
            "review_role, review_outcome FROM raw_case_reviews ORDER BY file_id"
        ).fetchall()
    assert got == [
        ("case_reviews_old.csv", "C1", "Y", None, None, None),
        ("case_reviews_new.csv", "C2", "N", "bo", "second", None),
    ]
