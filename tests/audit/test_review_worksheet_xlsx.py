"""The review worksheet as .xlsx and the formula protection of the CSV worksheet, without a
refresh: a sample is written by hand into an in-memory warehouse, the workbook is built by
``assets.audit.worksheet_xlsx`` and opened with openpyxl (as Excel would see it) and with the
pipeline's own reader. No cell is ever a formula, whatever the data hold (hypothesis), and the
values come back exactly as drawn."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import openpyxl
import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets._shared.errors import BadExtractError
from assets.audit.tables import ensure_audit_tables
from assets.audit.worksheet_xlsx import DEFINITION
from assets.audit.worksheets import worksheet_csv, worksheet_xlsx
from assets.landing.xlsx_reader import cell_text, first_sheet_table
from schemas.spreadsheet_text import FORMULA_STARTS, protect, unprotect

HEADER = [
    "draw_order", "case_number", "criminal_category", "field_office", "scr_count", "scrs",
    "reviewed_on", "association_of_individuals", "crosses_international_border", "notes",
]  # fmt: skip
TEXT = ("case_number", "criminal_category", "field_office", "scrs")
DRAWN_AT = dt.datetime(2026, 11, 3, 14, 5, 6)

HOSTILE = st.one_of(
    st.sampled_from(
        [
            '=HYPERLINK("http://example.invalid/x","click")',
            "+1",
            "-2",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
            "'=already quoted",
            "'plain quote",
            "00123",
            "1E5",
            "2024-01-02",
            "TRUE",
            "=cmd|' /C calc'!A0",
            "_x0041_",
        ]
    ),
    st.tuples(st.sampled_from([*FORMULA_STARTS, "'", ""]), st.text(min_size=1, max_size=20)).map(
        "".join
    ),
).filter(lambda s: s.strip() != "" and "\x00" not in s)


def _sample(
    cases: list[tuple[str, str, str, str]], scr_count: int = 1
) -> duckdb.DuckDBPyConnection:
    """A warehouse holding sample 1 with one row per (case, category, office, scrs)."""
    con = duckdb.connect()
    ensure_audit_tables(con)
    con.execute(
        "INSERT INTO audit_samples VALUES (1, 7, 'FY2023', 2023, 2023, 99, 99, ?, ?, "
        "'sha256-rank', ?, 'run')",
        [len(cases), len(cases), DRAWN_AT],
    )
    con.executemany(
        "INSERT INTO audit_sample_cases VALUES (1, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?)",
        [(case, i, cat, office, scr_count, scrs) for i, (case, cat, office, scrs) in
         enumerate(cases, start=1)],
    )  # fmt: skip
    return con


def _open(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _cells(book: openpyxl.Workbook):
    for ws in book.worksheets:
        for row in ws.iter_rows():
            yield from row


CASES = [
    ("00123", "Cyber-Enabled Crime", '=HYPERLINK("http://x","y")', "SCR-1 INITIAL approved"),
    ("-45", "National Security", "SAC Miami", "+SCR-2"),
    ("AB-7", "Transnational Gangs", "@office", "SCR-3 DISRUPTION approved 2023-01-02"),
]


def test_reviews_sheet_layout_drop_downs_text_cells_and_guide():
    book = _open(worksheet_xlsx(_sample(CASES, scr_count=2), 1))
    assert book.sheetnames == ["Reviews", "How to review"]
    ws = book["Reviews"]
    assert [c.value for c in ws[1]] == HEADER
    assert ws.freeze_panes == "C2"
    rules = {str(v.sqref): (v.type, v.formula1) for v in ws.data_validations.dataValidation}
    assert rules == {"H2:H4": ("list", '"Y,N"'), "I2:I4": ("list", '"Y,N"')}
    assert [ws.cell(r, 2).value for r in (2, 3, 4)] == ["00123", "-45", "AB-7"]
    assert {ws.cell(r, 2).data_type for r in (2, 3, 4)} == {"s"}  # text, never 123 or -45
    assert ws.cell(2, 4).value == '=HYPERLINK("http://x","y")' and ws.cell(2, 4).data_type == "s"
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == [1, 2, 3]  # numbers stay numbers
    assert ws.cell(2, 5).value == 2 and ws.cell(2, 5).data_type == "n"
    assert ws.cell(2, 7).number_format == "yyyy-mm-dd"  # reviewed_on: typed dates are dates
    assert ws.cell(2, 8).number_format == "@" and ws.cell(2, 2).number_format == "@"
    assert 10 <= ws.column_dimensions["B"].width <= 60
    guide = " ".join(str(c.value) for c in _cells(book) if c.parent.title == "How to review")
    assert "association of individuals who operate across international borders" in DEFINITION
    assert DEFINITION in guide
    assert "association_of_individuals (prong A)" in guide
    assert "crosses_international_border (prong B)" in guide


def test_same_sample_same_bytes_whenever_written():
    con = _sample(CASES)
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)):
        first = worksheet_xlsx(con, 1)
    with time_machine.travel(dt.datetime(2031, 6, 7, 8, 9, tzinfo=dt.UTC)):
        second = worksheet_xlsx(con, 1)
    assert first == second
    assert _open(first).properties.created == DRAWN_AT  # dated by the draw


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.tuples(HOSTILE, HOSTILE, HOSTILE, HOSTILE), min_size=1, max_size=4))
def test_no_formula_cell_whatever_the_data_hold(values, tmp_path_factory):
    con = _sample(values)
    data = worksheet_xlsx(con, 1)
    book = _open(data)
    assert all(c.data_type != "f" for c in _cells(book))
    ws = book["Reviews"]
    for r, row in enumerate(values, start=2):
        for value, col in zip(row, (2, 3, 4, 6), strict=True):
            assert ws.cell(r, col).data_type == "s"
            if not any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
                # openpyxl 3.1.5 leaves the _xHHHH_ escape of other control characters undecoded
                # (Excel and calamine decode it): those are compared through the reader below
                assert ws.cell(r, col).value == value
    path = tmp_path_factory.mktemp("xlsx") / "case_reviews_x.xlsx"
    path.write_bytes(data)
    header, batch = first_sheet_table(path)  # the pipeline's reader gives the same text
    assert header == HEADER
    for i, name in enumerate(TEXT):
        assert batch.column(name).to_pylist() == [v[i] for v in values]
    assert batch.column("__row").to_pylist() == list(range(2, len(values) + 2))
    rows = list(csv.reader(io.StringIO(worksheet_csv(con, 1).decode())))
    for row, drawn in zip(rows[1:], values, strict=True):
        shown = [row[1], row[2], row[3], row[5]]
        assert [unprotect(v) for v in shown] == list(drawn)  # the CSV reads back as drawn
        assert not any(v.startswith(FORMULA_STARTS) for v in shown)  # none runs as a formula


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("-2", "'-2"),
        ("+1", "'+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=x", "''=x"),
        ("'x", "''x"),
        ("SAC Miami", "SAC Miami"),
        ("a=b", "a=b"),
        (-2, -2),  # a negative number is not a formula
        (3, 3),
        (None, None),
    ],
)
def test_protect_quotes_formula_like_text_only(value, expected):
    assert protect(value) == expected
    if isinstance(value, str):
        assert unprotect(protect(value)) == value


def test_the_csv_worksheet_protects_text_not_numbers():
    con = _sample(CASES)
    rows = list(csv.reader(io.StringIO(worksheet_csv(con, 1).decode())))
    assert rows[0] == HEADER
    assert rows[1][:4] == ["1", "00123", "Cyber-Enabled Crime", '\'=HYPERLINK("http://x","y")']
    assert rows[1][4:6] == ["1", "SCR-1 INITIAL approved"]
    assert rows[2][:2] == ["2", "'-45"] and rows[2][5] == "'+SCR-2"
    assert rows[3][3] == "'@office"


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (dt.datetime(2026, 11, 20), "2026-11-20"),  # an Excel date cell (midnight)
        (dt.date(2026, 11, 20), "2026-11-20"),
        (dt.datetime(2026, 11, 20, 13, 5), "2026-11-20 13:05:00"),  # refused by the date rule
        (3.0, "3"),  # Excel stores whole numbers as floats
        (3.5, "3.5"),
        (True, "TRUE"),
        ("", ""),
        (None, ""),
        (" Y ", " Y "),  # whitespace is the rules' business (a warning), not the reader's
    ],
)
def test_cells_become_the_text_a_csv_would_hold(cell, text):
    assert cell_text(cell) == text


def test_a_file_that_is_not_a_workbook_is_refused_by_name(tmp_path: Path):
    path = tmp_path / "case_reviews_2026-11-20.xlsx"
    path.write_text("case_number,reviewed_on\n", encoding="utf-8")
    with pytest.raises(BadExtractError) as err:
        first_sheet_table(path)
    assert str(err.value).startswith("case_reviews_2026-11-20.xlsx: cannot be read as an Excel")
    assert "again" in str(err.value)


def test_a_value_in_a_column_without_header_is_refused_naming_the_cell(tmp_path: Path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["case_number", "reviewed_on", "association_of_individuals"])
    ws.append(["C1", "2026-11-20", "Y"])
    ws["E3"] = "stray note"
    path = tmp_path / "case_reviews_2026-11-20.xlsx"
    book.save(path)
    with pytest.raises(BadExtractError, match="cell E3 holds a value but its column has no header"):
        first_sheet_table(path)


def test_empty_rows_are_skipped_and_rows_keep_their_sheet_number(tmp_path: Path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["case_number", "reviewed_on"])
    ws.append(["C1", dt.datetime(2026, 11, 20)])
    ws.append([None, None])
    ws.append(["C2", "2026-11-21"])
    path = tmp_path / "case_reviews_2026-11-20.xlsx"
    book.save(path)
    header, batch = first_sheet_table(path)
    assert header == ["case_number", "reviewed_on"]
    assert batch.to_pylist() == [
        {"case_number": "C1", "reviewed_on": "2026-11-20", "__row": 2},
        {"case_number": "C2", "reviewed_on": "2026-11-21", "__row": 4},
    ]


@pytest.mark.parametrize(
    ("source_file", "written", "read"),
    [
        ("case_reviews_a.csv", "'-45", "-45"),  # the CSV worksheet's protective quote is dropped
        ("case_reviews_a.CSV", "'=X1", "=X1"),
        ("case_reviews_a.csv", "''QUOTED", "'QUOTED"),  # a drawn case starting with a quote
        ("case_reviews_a.csv", "'AB-7", "'AB-7"),  # not a quote the worksheet added
        ("case_reviews_a.csv", "-45", "-45"),  # typed without the quote: read as typed
        ("case_reviews_a.xlsx", "'-45", "'-45"),  # .xlsx cells are text: nothing was added
        ("case_reviews_a.parquet", "'-45", "'-45"),
    ],
)
def test_a_csv_case_number_is_read_without_the_worksheets_quote(source_file, written, read):
    from schemas.case_review import TYPED_VIEW_SQL

    con = _sample([("-45", "c", "o", "s"), ("'QUOTED", "c", "o", "s")])
    con.execute(
        "CREATE TABLE active_raw_case_reviews AS SELECT 1 AS file_id, ? AS source_file, "
        "2 AS source_row, TIMESTAMP '2026-11-20 12:00' AS ingested_at, ? AS case_number, "
        "'2026-11-20' AS reviewed_on, 'Y' AS association_of_individuals, "
        "'N' AS crosses_international_border, NULL AS notes, NULL AS reviewer, "
        "NULL AS review_role, NULL AS review_outcome",
        [source_file, written],
    )
    con.execute(TYPED_VIEW_SQL)
    [(case, in_sample, untrimmed)] = con.execute(
        "SELECT case_number, in_sample, case_number__untrimmed FROM case_review_versions"
    ).fetchall()
    assert case == read.upper()
    assert in_sample is (read in ("-45", "'QUOTED"))
    assert untrimmed is None  # dropping the quote is no whitespace change
