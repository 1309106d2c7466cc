"""DuckDB 2.0 keeps an ``execute()`` result open until it is read to its end: after
``.fetchone()`` the next ``con.sql(...)`` on that connection fails with "connection has an
unfinished result". Every refresh step shares one connection, so the project never calls it
(``.fetchall()[0]`` instead); this test keeps it that way."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = [
    p
    for folder in ("assets", "pipelines", "schemas", "benchmarks", "tests")
    for p in (ROOT / folder).rglob("*.py")
    if p.name != Path(__file__).name
]


def test_the_upstream_behaviour_this_guards_against():
    con = duckdb.connect()
    con.execute("SELECT * FROM range(3)").fetchone()
    with pytest.raises(duckdb.Error, match="unfinished result"):
        con.sql("SELECT 1").fetchall()
    con.execute("SELECT * FROM range(3)").fetchall()
    assert con.sql("SELECT 1").fetchall() == [(1,)]


def test_no_fetchone_in_the_project():
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in CODE
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"\.fetchone\(", line)
    ]
    assert found == []
