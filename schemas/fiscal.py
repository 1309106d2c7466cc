"""The federal fiscal calendar: FY N runs 1 Oct (N-1) to 30 Sep N; Q1 = Oct-Dec.

One helper for Python (partition keys, labels) and one SQL macro for DuckDB; tests pin both at
the boundaries (30 Sep / 1 Oct, 31 Dec / 1 Jan).
"""

from __future__ import annotations

import datetime as dt
import re

_KEY = re.compile(r"^FY(\d{4})-Q([1-4])$")
_OLD_KEY = re.compile(r"^(\d{4})-Q([1-4])$")  # the keys before the lean-refresh issue

# The SCR program's first fiscal year (CONTRACT.md, turn 4): the first partition key is
# FY2011-Q1, and an approved date before its first day is an error finding on the row
# (``scr.approved_date.before_program``).
FIRST_FISCAL_YEAR = 2011
PROGRAM_START = dt.date(FIRST_FISCAL_YEAR - 1, 10, 1)

# DuckDB macros; created on every warehouse connection (assets._shared.resources).
SQL_MACROS = """
CREATE OR REPLACE TEMP MACRO fiscal_year(d) AS year(d) + CASE WHEN month(d) >= 10 THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO fiscal_quarter(d) AS ((month(d) + 2) % 12) // 3 + 1;
CREATE OR REPLACE TEMP MACRO quarter_start(fy, q) AS
    make_date(CAST(CASE WHEN q = 1 THEN fy - 1 ELSE fy END AS BIGINT),
              CAST(CASE q WHEN 1 THEN 10 WHEN 2 THEN 1 WHEN 3 THEN 4 ELSE 7 END AS BIGINT), 1);
CREATE OR REPLACE TEMP MACRO quarter_end(fy, q) AS
    CAST(quarter_start(fy, q) + INTERVAL 3 MONTH - INTERVAL 1 DAY AS DATE);
"""


def fiscal_year_quarter(day: dt.date) -> tuple[int, int]:
    """(fiscal year, fiscal quarter) of a calendar date."""
    fy = day.year + (1 if day.month >= 10 else 0)
    return fy, ((day.month + 2) % 12) // 3 + 1


def quarter_key(fiscal_year: int, fiscal_quarter: int) -> str:
    """Partition key that says "fiscal" and sorts chronologically: ``FY2024-Q1`` is Oct-Dec 2023
    (a bare ``2024-Q1`` reads as calendar Q1 2024, the classic error of this measure)."""
    return f"FY{fiscal_year:04d}-Q{fiscal_quarter}"


def parse_quarter_key(key: str) -> tuple[int, int]:
    """Inverse of :func:`quarter_key`; a clear error for anything else (the old ``2024-Q1``
    form included: it names the key to write instead)."""
    m = _KEY.match(key)
    if m:
        return int(m.group(1)), int(m.group(2))
    old = _OLD_KEY.match(key)
    if old:
        raise ValueError(
            f"{key!r} is the old form of a fiscal quarter key; write "
            f"{quarter_key(int(old.group(1)), int(old.group(2)))!r} (fiscal year, then quarter)"
        )
    raise ValueError(f"not a fiscal quarter key: {key!r} (expected e.g. FY2024-Q1)")


def last_fiscal_year(today: dt.date | None = None) -> int:
    """The last fiscal year a partition key names: the current one + 1 (CONTRACT.md, turn 4).

    A counted SCR's approved date is at most one day after its file was ingested (the
    ``.future`` rule), so it always falls in a key that exists when the code is loaded."""
    return fiscal_year_quarter(today or dt.date.today())[0] + 1


def all_quarter_keys(today: dt.date | None = None) -> list[str]:
    """Every fiscal quarter key from FY2011-Q1 to the current fiscal year + 1, chronological."""
    return [
        quarter_key(fy, q)
        for fy in range(FIRST_FISCAL_YEAR, last_fiscal_year(today) + 1)
        for q in (1, 2, 3, 4)
    ]


def quarter_bounds(fiscal_year: int, fiscal_quarter: int) -> tuple[dt.date, dt.date]:
    """First and last calendar day of a fiscal quarter."""
    year = fiscal_year - 1 if fiscal_quarter == 1 else fiscal_year
    month = {1: 10, 2: 1, 3: 4, 4: 7}[fiscal_quarter]
    start = dt.date(year, month, 1)
    nxt = dt.date(year + (month + 3 > 12), (month + 3 - 1) % 12 + 1, 1)
    return start, nxt - dt.timedelta(days=1)


def last_closed_quarter(today: dt.date) -> tuple[int, int]:
    """The fiscal quarter that ended most recently before ``today``."""
    fy, q = fiscal_year_quarter(today)
    return (fy, q - 1) if q > 1 else (fy - 1, 4)
