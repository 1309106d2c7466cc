"""Table DDL in one place (issue 31): every kept table is made and changed only by a numbered
step in ``assets/_shared/migrations.py``.

The tree (``assets``, ``pipelines``, ``schemas``: Python and ``.sql`` files) is grepped: a
``CREATE TABLE`` (with or without ``IF NOT EXISTS``), an ``ALTER TABLE`` or a relation's
``.create(<table>)`` anywhere else fails. Tables rebuilt every run are written
``CREATE OR REPLACE TABLE ... AS SELECT`` beside their query (outputs, not DDL) and temp tables
``CREATE [OR REPLACE] TEMP TABLE``: neither matches. Each pattern is checked to find what it is
meant to find.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("assets", "pipelines", "schemas")
MIGRATIONS = "assets/_shared/migrations.py"

PATTERNS: dict[str, re.Pattern] = {
    # a table made: CREATE TABLE [IF NOT EXISTS] x (...) / AS SELECT (not OR REPLACE, not TEMP)
    "create_table": re.compile(r"\bCREATE\s+TABLE\b", re.IGNORECASE),
    # a table's shape changed
    "alter_table": re.compile(r"\bALTER\s+TABLE\b", re.IGNORECASE),
    # a DuckDB relation stored as a new table
    "relation_create": re.compile(r"""\.create\(\s*[\w"']"""),
}


def _files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix in (".py", ".sql") and rel != MIGRATIONS:
                yield rel, path.read_text(encoding="utf-8")


def test_every_table_ddl_is_in_the_migrations_module():
    found = [
        f"{rel}:{n}: {line.strip()} ({name})"
        for rel, text in _files()
        for n, line in enumerate(text.splitlines(), 1)
        for name, pattern in PATTERNS.items()
        if pattern.search(line)
    ]
    assert not found, (
        "table DDL outside assets/_shared/migrations.py (append a numbered step there and call "
        f"migrate(con, <domain>)): {found}"
    )


def test_the_migrations_module_holds_ddl_the_scan_would_find():
    """The scan is not vacuous: the one module it skips is where the statements are."""
    text = (ROOT / MIGRATIONS).read_text(encoding="utf-8")
    assert PATTERNS["create_table"].search(text) and PATTERNS["alter_table"].search(text)


@pytest.mark.parametrize(
    ("name", "line", "found"),
    [
        ("create_table", 'con.execute("CREATE TABLE IF NOT EXISTS x (a INTEGER)")', True),
        ("create_table", 'f"CREATE TABLE {t} AS SELECT * FROM v LIMIT 0"', True),
        ("create_table", '"create table build_state (name VARCHAR)"', True),
        ("create_table", '"CREATE OR REPLACE TABLE scr_current AS SELECT 1"', False),
        ("create_table", '"CREATE OR REPLACE TEMP TABLE __p AS SELECT 1"', False),
        ("create_table", '"CREATE TEMP TABLE __p AS SELECT 1"', False),
        ("alter_table", '"ALTER TABLE publications ADD PRIMARY KEY (refresh_id)"', True),
        ("alter_table", 'f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS c VARCHAR"', True),
        ("relation_create", 'rows.create("restatements")', True),
        ("relation_create", "rel.create(name)", True),
        ("relation_create", "rel.create_view(name)", False),
        ("relation_create", "dg.create()", False),
    ],
)
def test_each_pattern_finds_what_it_is_meant_to(name, line, found):
    assert bool(PATTERNS[name].search(line)) is found
