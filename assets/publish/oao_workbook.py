"""``oao_measures.xlsx``: every published number in one Excel workbook, for OAO analysts.

Why: analysts work in Excel, not Parquet or a command line. Each publish writes this workbook
beside the Parquet files (registered in ``RENDERED_FILES``, ``assets/publish/outputs.py``): a
Summary sheet answering first (the report's headline, ``assets/report/headline.py``), then one
sheet per published table, each row what its Notes entry says, with the same values as the
Parquet file. Numbers are number cells, dates date cells, and text is always a text cell
(``write_string`` with the text format, so a field office typed ``=HYPERLINK(...)`` stays text
even when edited). The bytes are a function of the warehouse: the document date is the data's
(the last SCR change in the extracts), and xlsxwriter writes fixed zip timestamps.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import xlsxwriter

from assets._shared.metadata import COLUMN_DESCRIPTIONS, existing_tables
from assets.report import closeout, headline

WORKBOOK_PATH = "oao_measures.xlsx"
MAX_ROWS = 100_000  # per sheet; beyond it the sheet says so and the Parquet file has every row
MAX_WIDTH = 50


@dataclass(frozen=True)
class Sheet:
    """One table sheet: where its rows come from and what one row is."""

    name: str
    source: str  # a published file name (its SQL from outputs.py) or a warehouse table
    row: str  # what one row is, for the Notes sheet
    sql: str | None = None  # for a warehouse table that is not published as one file
    table: str | None = None  # the warehouse table the sheet needs (skipped when absent)
    params: dict | None = None  # bound parameters of ``sql``


SHEETS: tuple[Sheet, ...] = (
    Sheet("Annual", "annual_measures.parquet", "one fiscal year", table="annual_measures"),
    Sheet("Quarterly", "quarterly_measures/", "one fiscal quarter",
          "SELECT * FROM quarterly_measures ORDER BY fiscal_year, fiscal_quarter",
          "quarterly_measures"),
    Sheet("By category", "category_measures/", "one fiscal quarter and criminal category",
          "SELECT * FROM category_measures ORDER BY fiscal_year, fiscal_quarter, criminal_category",
          "category_measures"),
    Sheet("Quarantined SCRs", "quarantined_scrs.parquet",
          "one SCR whose current record broke an error rule (it is not counted)",
          table="scr_current"),
    Sheet("Findings", "validation_findings.parquet",
          "one rule broken by one row of a landing file (errors quarantine, warnings keep)"),
    Sheet("Reviews", "case_review_current",
          "one reviewed case of an audit sample: its current review",
          "SELECT * FROM case_review_current ORDER BY case_number", "case_review_current"),
    Sheet("Resource requests", "resource_request_evidence.parquet",
          "one resource request beside the SCR evidence for its categories",
          table="resource_request_evidence"),
    Sheet("Accuracy", "measure_estimates.parquet",
          "one audit sample and fiscal year: the estimate of the truly TCO-related count",
          table="measure_estimates"),
    Sheet("Rec 1 checkbox", "scr_current",
          "one fiscal quarter of creation, SCRs created on or after 2023-07-18: the TCO "
          "checkbox filled, and conflicts with the definition (report section 8)",
          closeout.CHECKBOX_SQL, "scr_current"),
    Sheet("Rec 2 validation", "vv_statement.parquet",
          "one fiscal year: rules, findings, quarantine, samples drawn and reviewed, measured "
          "accuracy and interval (report section 8)", closeout.VALIDATION_SQL, "vv_statement"),
    Sheet("Rec 3 requests", "resource_request_evidence.parquet",
          "one budget year and period (submitted by or after the guidance date, 2024-01-31): "
          "requests citing SCR data and evidence not cited (report section 8)",
          closeout.REQUESTS_SQL, "resource_request_evidence",
          {"guidance": closeout.GUIDANCE_DATE}),
)  # fmt: skip


class _Styles:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.text = book.add_format({"num_format": "@"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.time = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.count = book.add_format({"num_format": "#,##0"})


def write_value(ws, r: int, c: int, value: object, st: _Styles) -> None:
    """A cell of the value's own kind: never a formula, whatever a text holds."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        ws.write_blank(r, c, None)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, int | float | Decimal):
        ws.write_number(r, c, float(value))
    elif isinstance(value, dt.datetime):
        ws.write_datetime(r, c, value.replace(tzinfo=None), st.time)
    elif isinstance(value, dt.date):
        ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), st.date)
    elif isinstance(value, list | tuple):
        ws.write_string(r, c, "; ".join("" if v is None else str(v) for v in value), st.text)
    else:  # text, one starting with "=" (schemas/spreadsheet_text.FORMULA_STARTS) too
        ws.write_string(r, c, str(value), st.text)


def cell_value(value: object) -> object:
    """What a cell holds for a value (the read-back test compares with this)."""
    if isinstance(value, list | tuple):
        return "; ".join("" if v is None else str(v) for v in value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _width(header: str, values: list) -> int:
    longest = max([len(header), *(len(str(cell_value(v))) for v in values[:1000])])
    return min(longest + 2, MAX_WIDTH)


def table_sheet(book, st: _Styles, name: str, header: list[str], rows: list[tuple]) -> None:
    """A sheet of rows under a frozen, filtered header."""
    ws = book.add_worksheet(name)
    for c, col in enumerate(header):
        ws.write_string(0, c, col, st.head)
        ws.set_column(c, c, _width(col, [r[c] for r in rows]))
    write_string, text = ws.write_string, st.text
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            # most cells are text or empty: the cell write_value makes, without its type tests
            # (an empty cell with no format is not written at all); 100k findings rows x 10
            # columns at 10M rows
            if type(value) is str:
                write_string(r, c, value, text)
            elif value is not None:
                write_value(ws, r, c, value, st)
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    if header:
        ws.autofilter(0, 0, max(len(rows), 1), len(header) - 1)


def sheet_rows(
    con: duckdb.DuckDBPyConnection, sheet: Sheet, published: dict[str, str | Callable]
) -> tuple[list[str], list[tuple], int] | None:
    """Header, rows (at most MAX_ROWS) and the full row count; None when the table is absent."""
    have = existing_tables(con)
    if sheet.table and sheet.table not in have:
        return None
    sql = sheet.sql or published[sheet.source]
    sql = sql(con) if callable(sql) else sql
    try:
        total = con.execute(f"SELECT count(*) FROM ({sql})", sheet.params).fetchall()[0][0]
    except duckdb.CatalogException:
        return None
    cur = con.execute(f"SELECT * FROM ({sql}) LIMIT {MAX_ROWS}", sheet.params)
    return [d[0] for d in cur.description], cur.fetchall(), int(total)


def summary_rows(h: dict | None) -> list[tuple[str, object, str]]:
    """(figure, value, note) rows of the Summary sheet, from the report's headline."""
    if h is None:
        return [("Measured quarters", None, "nothing measured yet")]
    fy, q = h["fiscal_year"], h["fiscal_quarter"]
    target = h["target"]
    rows: list[tuple[str, object, str]] = [
        ("Data through", h["data_through"], "the last SCR change in the extracts"),
        ("Latest quarter", f"FY{fy} Q{q}", f"{h['quarter_start']} to {h['quarter_end']}"),
        ("Latest quarter complete", h["quarter_complete"],
         "" if h["quarter_complete"] else headline.through_text(h)),
        ("Latest quarter: disruptions + dismantlements (old method)", h["dd_total"],
         "every approved disruption or dismantlement"),
        ("Latest quarter: TCO-validated", h["dd_tco"], "of those, determined TCO"),
        (f"FY{fy} to date: old method", h["fytd_dd_total"], ""),
        (f"FY{fy} to date: TCO-validated", h["fytd_dd_tco"], ""),
        (f"FY{fy} target", target,
         "schemas/reference/annual_targets.csv" if target is not None else "no target recorded"),
        (f"FY{fy} TCO-validated against target", headline.met_text(h, "tco"), ""),
        (f"FY{fy} old method against target", headline.met_text(h, "old"), ""),
    ]  # fmt: skip
    est = h.get("estimate")
    if est is None:
        rows.append(("Accuracy estimate", None, "no reviewed audit sample yet"))
        return rows
    efy = est["fiscal_year"]
    rows += [
        ("Accuracy: fiscal year", f"FY{efy}", "the latest fiscal year with a reviewed sample"),
        (f"FY{efy} published TCO-validated", est["dd_tco_published"], ""),
        (f"FY{efy} estimated truly TCO-related", est["estimate"], f"method {est['method']}"),
        (f"FY{efy} interval, lower bound", est["lower_bound"], ""),
        (f"FY{efy} interval, upper bound", est["upper_bound"], ""),
        ("Confidence", est["confidence"], ""),
        (f"FY{efy} target against the interval", est["verdict"], ""),
    ]
    return rows


def summary_sheet(book, st: _Styles, h: dict | None) -> None:
    ws = book.add_worksheet("Summary")
    ws.write_string(0, 0, "OAO measures: disruptions and dismantlements of TCOs", st.title)
    for c, col in enumerate(("Figure", "Value", "Note")):
        ws.write_string(2, c, col, st.head)
    for r, (figure, value, note) in enumerate(summary_rows(h), start=3):
        ws.write_string(r, 0, figure, st.text)
        if isinstance(value, int) and not isinstance(value, bool):
            ws.write_number(r, 1, value, st.count)  # counts with a thousands separator
        else:
            write_value(ws, r, 1, value, st)
        ws.write_string(r, 2, note, st.text)
    ws.set_column(0, 0, 58)
    ws.set_column(1, 1, 34)
    ws.set_column(2, 2, 60)
    ws.freeze_panes(3, 0)
    ws.set_landscape()  # printed (or rendered to PDF): the three columns on one page
    ws.fit_to_pages(1, 0)


def notes_sheet(book, st: _Styles, shown: list[tuple[Sheet, list[str], int]]) -> None:
    """Every sheet: what a row is, then each column defined in words."""
    ws = book.add_worksheet("Notes")
    for c, col in enumerate(("Sheet", "Column", "Meaning")):
        ws.write_string(0, c, col, st.head)
    r = 1
    for sheet, header, total in shown:
        row = f"One row is {sheet.row}. Source: {sheet.source}."
        if total > MAX_ROWS:
            row += f" Shows the first {MAX_ROWS:,} of {total:,} rows; the source has every row."
        for col, text in [("(row)", row), *((c, COLUMN_DESCRIPTIONS.get(c, "")) for c in header)]:
            ws.write_string(r, 0, sheet.name, st.text)
            ws.write_string(r, 1, col, st.text)
            ws.write_string(r, 2, text, st.wrap)
            r += 1
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 100)
    ws.freeze_panes(1, 0)


def data_changed_at(con: duckdb.DuckDBPyConnection) -> dt.datetime:
    """The document date: the last SCR change in the extracts (a rebuild from the archive
    ingests at another time but gives the same workbook, byte for byte)."""
    if "scr_current" in existing_tables(con):
        when = con.execute("SELECT max(last_modified_at) FROM scr_current").fetchall()[0][0]
        if when is not None:
            return when.replace(microsecond=0)
    return dt.datetime(2000, 1, 1)


def workbook_bytes(
    con: duckdb.DuckDBPyConnection, published: dict[str, str | Callable]
) -> bytes | None:
    """The workbook as bytes (the same warehouse gives the same bytes); None before anything
    is built."""
    if not {s.table for s in SHEETS if s.table} & existing_tables(con):
        return None
    buf = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
               "strings_to_urls": False}  # fmt: skip
    book = xlsxwriter.Workbook(buf, options)
    when = data_changed_at(con)
    book.set_properties({"title": "OAO measures", "created": when})
    st = _Styles(book)
    summary_sheet(book, st, headline.gather(con))
    shown = []
    for sheet in SHEETS:
        found = sheet_rows(con, sheet, published)
        if found is None:
            continue
        header, rows, total = found
        table_sheet(book, st, sheet.name, header, rows)
        shown.append((sheet, header, total))
    notes_sheet(book, st, shown)
    book.close()
    return buf.getvalue()


def workbook_files(
    published: dict[str, str | Callable],
) -> Callable[[duckdb.DuckDBPyConnection], dict[str, bytes]]:
    """The ``RENDERED_FILES`` entry's function: {"oao_measures.xlsx": bytes}."""

    def files(con: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
        book = workbook_bytes(con, published)
        return {} if book is None else {WORKBOOK_PATH: book}

    return files
