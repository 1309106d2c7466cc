"""No SQL built by string surgery (issue 31, item 3): the tree is grepped for the patterns.

A statement is never cut or patched (``sql.replace(...)``, ``.rsplit(" ORDER BY ")``), a
Python repr is never a SQL list, a value is never formatted between quotes into SQL (bind it),
and identifiers and paths are quoted by ``assets/_shared/sql.py`` alone (no second helper, no
hand-doubled quotes). Each pattern is checked to find what it is meant to find.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("assets", "pipelines", "schemas")
HELPER = "assets/_shared/sql.py"

# where a pattern is known and owned elsewhere, with why (path -> pattern names)
ALLOWED: dict[str, set[str]] = {
    # measures are h-sqlrules' (issue 31 item 3, named SQL for the numbers): their quoting
    # helper and the category literals move with that work
    "assets/measures/determinations.py": {"value_in_quotes", "second_quoting_helper"},
    "assets/measures/restatements.py": {"value_in_quotes"},
    # schemas sits below assets and cannot import the helper; its regex and time-zone
    # constants go into view definitions, where DuckDB binds no parameter
    "schemas/rule_blocks.py": {"value_in_quotes"},
    "schemas/case_review.py": {"value_in_quotes"},
}

SQL_WORD = r"\b(SELECT|FROM|WHERE|AND|OR|THEN|WHEN|TIMESTAMP|DATE|ATTACH|COPY|VIEW|LIKE|AS)\b"
PATTERNS: dict[str, re.Pattern] = {
    # cutting or patching a statement
    "statement_surgery": re.compile(
        r"\b\w*(sql|SQL|query|stmt)\w*(\([^)]*\))?\.(replace|rsplit|split|partition|rpartition)\("
    ),
    # a tuple or list turned into SQL text by its repr
    "repr_as_sql": re.compile(r"\w*_SQL\w*\s*=\s*(str|repr)\("),
    # a value between single quotes inside an f-string of SQL
    "value_in_quotes": re.compile(
        r"""f(["']).*'\{[^}]+\}'.*""" + SQL_WORD + "|"
        r"""f(["']).*""" + SQL_WORD + r""".*'\{[^}]+\}'"""
    ),
    # quotes doubled by hand, or a helper of one's own
    "second_quoting_helper": re.compile(
        r"""replace\(\s*(['"])(\\?'|")\1\s*,\s*(['"])(''|\\'\\'|"")\3\s*\)|def _q\(|f'"\{\w+\}"'"""
    ),
}


def _python_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel != HELPER:
                yield rel, path.read_text(encoding="utf-8")


def _hits(text: str, pattern: re.Pattern) -> list[str]:
    return [
        f"{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_no_sql_surgery_in_the_tree(name):
    found = {
        rel: hits
        for rel, text in _python_files()
        if name not in ALLOWED.get(rel, set()) and (hits := _hits(text, PATTERNS[name]))
    }
    assert not found, f"{name} (use bound parameters or assets/_shared/sql.py): {found}"


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("statement_surgery", 'sql.replace("FROM __batch", f"FROM {source}")'),
        ("statement_surgery", 'findings_sql(con).rsplit(" ORDER BY ", 1)[0]'),
        ("repr_as_sql", "DD_TYPES_SQL = str(DD_TYPES)"),
        ("value_in_quotes", """f"approved_d >= DATE '{PROGRAM_START.isoformat()}' \""""),
        ("value_in_quotes", """con.execute(f"ATTACH '{live_warehouse}' AS live (READ_ONLY)")"""),
        ("value_in_quotes", """f"SELECT '{s.name}' AS extract_type, record_id FROM t\""""),
        ("second_quoting_helper", """words = conflict.description.replace("'", "''")"""),
        ("second_quoting_helper", """return '"' + name.replace('"', '""') + '"'"""),
        ("second_quoting_helper", "def _q(name: str) -> str:"),
        ("second_quoting_helper", """select = ", ".join(f'"{c}"' for c in cols)"""),
    ],
)
def test_each_pattern_finds_what_it_is_for(name, line):
    """The lines this work removed (from main's tree) are found by their pattern."""
    assert PATTERNS[name].search(line), (name, line)


@pytest.mark.parametrize(
    "line",
    [
        "raise BadExtractError(path.name, f\"sheet '{sheet}' has no header in row 1\")",
        "now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)",
        'con.execute(f"ATTACH {quote_literal(str(path))} AS live (READ_ONLY)")',
    ],
)
def test_ordinary_lines_pass(line):
    assert not any(p.search(line) for p in PATTERNS.values()), line
