"""The one quoting helper and named SQL (assets/_shared/sql.py).

Any text quoted by ``quote_literal`` comes back equal from DuckDB; any name quoted by
``quote_ident`` names a table and a column DuckDB reports back unchanged; a path with a quote
in it can be ATTACHed; ``load_sql`` reads ``-- name:`` statements beside a module."""

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets._shared.sql import load_sql, quote_ident, quote_literal, sql_names

# any text but NUL (DuckDB's parser stops there; the helper refuses it, tested below)
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
QUOTY = st.text(st.sampled_from(["'", '"', "\\", ";", "-", "\n", " ", "a", "é", "$", "?"]))


@pytest.fixture(scope="module")
def con():
    with duckdb.connect() as c:
        yield c


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(TEXT, QUOTY))
def test_quote_literal_round_trips(con, text):
    assert con.execute(f"SELECT {quote_literal(text)}").fetchall()[0][0] == text


@settings(max_examples=200, deadline=None)
@given(name=st.one_of(TEXT, QUOTY).filter(bool))
def test_quote_ident_names_a_table_and_a_column(con, name):
    q = quote_ident(name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q} ({q} INTEGER)")
    con.execute(f"INSERT INTO {q} VALUES (7)")
    assert con.execute(f"SELECT {q} FROM {q}").fetchall()[0][0] == 7
    assert [d[0] for d in con.execute(f"SELECT * FROM {q}").description] == [name]
    con.execute(f"DROP TABLE {q}")


def test_an_injection_stays_a_value(con):
    text = "x'; DROP TABLE t; --"
    con.execute("CREATE TEMP TABLE t (a INTEGER)")
    assert con.execute(f"SELECT {quote_literal(text)}").fetchall()[0][0] == text
    assert con.execute("SELECT count(*) FROM t").fetchall()[0][0] == 0


def test_attach_a_path_with_quotes(tmp_path):
    path = tmp_path / 'it\'s a "warehouse".duckdb'
    with duckdb.connect(str(path)) as c:
        c.execute("CREATE TABLE x AS SELECT 42 AS n")
    with duckdb.connect() as c:
        c.execute(f"ATTACH {quote_literal(str(path))} AS w (READ_ONLY)")
        assert c.execute("SELECT n FROM w.x").fetchall()[0][0] == 42


@pytest.mark.parametrize("bad", ["a\x00b", "\x00"])
@pytest.mark.parametrize("quote", [quote_ident, quote_literal])
def test_nul_is_refused(quote, bad):
    with pytest.raises(ValueError, match="NUL"):
        quote(bad)


def test_empty_identifier_is_refused():
    with pytest.raises(ValueError, match="empty"):
        quote_ident("")


def test_load_sql_reads_named_statements(tmp_path):
    module = tmp_path / "queries.py"
    (tmp_path / "queries.sql").write_text(
        "-- the file's own comment\n"
        "-- name: first\nSELECT 1 AS a;\n\n"
        "-- name: second\n-- a comment kept\nSELECT $x AS b\n",
        encoding="utf-8",
    )
    assert load_sql(module, "first") == "SELECT 1 AS a"
    assert load_sql(str(module), "second") == "-- a comment kept\nSELECT $x AS b"
    assert sql_names(module) == ["first", "second"]
    with duckdb.connect() as c:
        assert c.execute(load_sql(module, "second"), {"x": 5}).fetchall()[0][0] == 5
    with pytest.raises(KeyError, match="has no statement named 'third'.*first, second"):
        load_sql(module, "third")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1", "no '-- name"),
        ("-- name: a\nSELECT 1\n-- name: a\nSELECT 2", "twice"),
        ("-- name: a\n;\n", "empty"),
    ],
)
def test_load_sql_refuses_a_malformed_file(tmp_path: Path, text, message):
    (tmp_path / "m.sql").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_sql(tmp_path / "m.py", "a")
