"""The fiscal calendar at its edges, in Python and in the DuckDB macros (they must agree), and
the grouping of changed quarters into partition-range runs."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets._shared.partitions import contiguous_blocks
from schemas.fiscal import (
    SQL_MACROS,
    fiscal_year_quarter,
    last_closed_quarter,
    parse_quarter_key,
    quarter_bounds,
    quarter_key,
)

EDGES = [
    (dt.date(2023, 9, 30), (2023, 4)),
    (dt.date(2023, 10, 1), (2024, 1)),
    (dt.date(2023, 12, 31), (2024, 1)),
    (dt.date(2024, 1, 1), (2024, 2)),
    (dt.date(2024, 3, 31), (2024, 2)),
    (dt.date(2024, 4, 1), (2024, 3)),
    (dt.date(2024, 6, 30), (2024, 3)),
    (dt.date(2024, 7, 1), (2024, 4)),
    (dt.date(2016, 10, 1), (2017, 1)),
]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute(SQL_MACROS)
    yield c
    c.close()


@pytest.mark.parametrize(("day", "expected"), EDGES)
def test_fiscal_year_quarter_edges(day, expected, con):
    assert fiscal_year_quarter(day) == expected
    assert (
        con.execute("SELECT fiscal_year(?::DATE), fiscal_quarter(?::DATE)", [day, day]).fetchall()[
            0
        ]
        == expected
    )


@settings(deadline=None)
@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_python_and_sql_agree_and_day_lies_in_its_quarter(day):
    fy, q = fiscal_year_quarter(day)
    start, end = quarter_bounds(fy, q)
    assert start <= day <= end
    with duckdb.connect() as c:
        c.execute(SQL_MACROS)
        got = c.execute(
            "SELECT fiscal_year(?::DATE), fiscal_quarter(?::DATE), quarter_start(?, ?), quarter_end(?, ?)",
            [day, day, fy, q, fy, q],
        ).fetchall()[0]
    assert got == (fy, q, start, end)


@pytest.mark.parametrize(
    ("fy", "q", "start", "end"),
    [
        (2024, 1, dt.date(2023, 10, 1), dt.date(2023, 12, 31)),
        (2024, 2, dt.date(2024, 1, 1), dt.date(2024, 3, 31)),
        (2024, 3, dt.date(2024, 4, 1), dt.date(2024, 6, 30)),
        (2024, 4, dt.date(2024, 7, 1), dt.date(2024, 9, 30)),
    ],
)
def test_quarter_bounds(fy, q, start, end):
    assert quarter_bounds(fy, q) == (start, end)


def test_keys_round_trip_and_sort_chronologically():
    keys = [quarter_key(fy, q) for fy in (2017, 2024) for q in (1, 2, 3, 4)]
    assert keys == sorted(keys)
    assert quarter_key(2024, 1) == "2024-Q1"
    assert [parse_quarter_key(k) for k in keys[:2]] == [(2017, 1), (2017, 2)]
    with pytest.raises(ValueError, match="expected e.g. 2024-Q1"):
        parse_quarter_key("2024Q5")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2024, 1, 15), (2024, 1)),
        (dt.date(2023, 10, 15), (2023, 4)),
        (dt.date(2024, 7, 1), (2024, 3)),
    ],
)
def test_last_closed_quarter(today, expected):
    assert last_closed_quarter(today) == expected


def test_contiguous_blocks_follow_instance_order():
    order = ["2023-Q4", "2024-Q1", "2024-Q2", "2024-Q3", "2023-Q1"]  # a late key appended last
    assert contiguous_blocks(order, {"2024-Q1", "2024-Q2", "2023-Q1"}) == [
        ("2024-Q1", "2024-Q2"),
        ("2023-Q1", "2023-Q1"),
    ]
    assert contiguous_blocks(order, set()) == []
