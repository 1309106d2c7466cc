"""The federal fiscal calendar: FY N runs 1 Oct (N-1) to 30 Sep N; Q1 = Oct-Dec.

One helper for Python (partition keys, labels) and one SQL macro for DuckDB; tests pin both at
the boundaries (30 Sep / 1 Oct, 31 Dec / 1 Jan).
"""

from __future__ import annotations

import datetime as dt
import re

_KEY = re.compile(r"^(\d{4})-Q([1-4])$")

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
    """Partition key, readable and sortable: ``2024-Q1`` is Oct-Dec 2023."""
    return f"{fiscal_year:04d}-Q{fiscal_quarter}"


def parse_quarter_key(key: str) -> tuple[int, int]:
    """Inverse of :func:`quarter_key`; a clear error for anything else."""
    m = _KEY.match(key)
    if not m:
        raise ValueError(f"not a fiscal quarter key: {key!r} (expected e.g. 2024-Q1)")
    return int(m.group(1)), int(m.group(2))


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
