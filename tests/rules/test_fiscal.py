"""The fiscal calendar at its edges, in Python and in the DuckDB macros (they must agree), and
the fiscal-quarter partition keys (``FY2024-Q1``) and the one range a refresh measures."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets._shared.partitions import FISCAL_QUARTERS, covering_range
from schemas.fiscal import (
    PROGRAM_START,
    SQL_MACROS,
    all_quarter_keys,
    fiscal_year_quarter,
    last_closed_quarter,
    last_fiscal_year,
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


@pytest.mark.parametrize(
    ("day", "key"),
    [
        (dt.date(2023, 9, 30), "FY2023-Q4"),
        (dt.date(2023, 10, 1), "FY2024-Q1"),  # a reader of "2024-Q1" would say Jan 2024
        (dt.date(2023, 12, 31), "FY2024-Q1"),
        (dt.date(2024, 1, 1), "FY2024-Q2"),
        (dt.date(2010, 10, 1), "FY2011-Q1"),
        (dt.date(2100, 9, 30), "FY2100-Q4"),
    ],
)
def test_a_day_s_key_names_its_fiscal_year_and_back(day, key):
    assert quarter_key(*fiscal_year_quarter(day)) == key
    assert parse_quarter_key(key) == fiscal_year_quarter(day)
    assert (
        quarter_bounds(*parse_quarter_key(key))[0]
        <= day
        <= quarter_bounds(*parse_quarter_key(key))[1]
    )


def test_keys_round_trip_and_sort_chronologically():
    keys = [quarter_key(fy, q) for fy in (2017, 2024) for q in (1, 2, 3, 4)]
    assert keys == sorted(keys)
    assert quarter_key(2024, 1) == "FY2024-Q1"
    assert [parse_quarter_key(k) for k in keys[:2]] == [(2017, 1), (2017, 2)]
    with pytest.raises(ValueError, match="expected e.g. FY2024-Q1"):
        parse_quarter_key("FY2024Q5")
    with pytest.raises(ValueError, match="old form .* write 'FY2024-Q1'"):
        parse_quarter_key("2024-Q1")


def test_the_partitions_are_every_fiscal_quarter_of_the_contract_in_order():
    """Static keys: no run registers partitions; ``FY2011-Q1`` (the SCR program's first fiscal
    year) .. the current fiscal year + 1 (CONTRACT.md, turn 4), chronological, so a range is a
    span of quarters."""
    keys = FISCAL_QUARTERS.get_partition_keys()
    assert keys == all_quarter_keys() == sorted(keys)
    last = fiscal_year_quarter(dt.date.today())[0] + 1
    assert (keys[0], keys[1], keys[4], keys[-1]) == (
        "FY2011-Q1",
        "FY2011-Q2",
        "FY2012-Q1",
        f"FY{last}-Q4",
    )
    assert len(keys) == (last - 2011 + 1) * 4
    assert [parse_quarter_key(k) for k in keys] == [
        (fy, q) for fy in range(2011, last + 1) for q in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize(
    ("today", "first", "last", "count"),
    [
        (dt.date(2026, 12, 6), "FY2011-Q1", "FY2028-Q4", 72),  # FY2027 now: keys to FY2028
        (dt.date(2026, 9, 30), "FY2011-Q1", "FY2027-Q4", 68),  # the last day of FY2026
        (dt.date(2026, 10, 1), "FY2011-Q1", "FY2028-Q4", 72),  # the first day of FY2027
        (dt.date(2010, 10, 1), "FY2011-Q1", "FY2012-Q4", 8),  # the program's first day
    ],
)
def test_the_last_key_is_the_fiscal_year_after_today_s(today, first, last, count):
    keys = all_quarter_keys(today)
    assert (keys[0], keys[-1], len(keys)) == (first, last, count)
    assert last_fiscal_year(today) == parse_quarter_key(last)[0]
    assert PROGRAM_START == dt.date(2010, 10, 1) == quarter_bounds(*parse_quarter_key(first))[0]


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


def test_one_range_covers_every_changed_quarter():
    assert covering_range({"FY2024-Q2", "FY2017-Q4", "FY2024-Q1"}) == ("FY2017-Q4", "FY2024-Q2")
    assert covering_range(["FY2024-Q1"]) == ("FY2024-Q1", "FY2024-Q1")
    assert covering_range(set()) is None
    keys = FISCAL_QUARTERS.get_partition_keys()
    # the span from first to last in the partition order is what a range run materializes
    assert keys[keys.index("FY2017-Q4") : keys.index("FY2018-Q2") + 1] == [
        "FY2017-Q4", "FY2018-Q1", "FY2018-Q2",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            "2024-Q1",
            "'2024-Q1' is the old form of a fiscal quarter key; write 'FY2024-Q1' (fiscal year, then quarter)",
        ),
        ("FY2024-Q5", "not a fiscal quarter key: 'FY2024-Q5' (expected e.g. FY2024-Q1)"),
    ],
)
def test_explain_quarter_names_the_key_to_write(given, message, tmp_path, monkeypatch, capsys):
    """``explain --quarter`` reads the key before it opens the warehouse: one line, exit 1."""
    from pipelines.cli.main import main

    monkeypatch.setenv("SCR_WAREHOUSE", str(tmp_path / "none.duckdb"))
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "--quarter", given])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == f"error: {message}\n"
