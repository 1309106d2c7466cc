"""The review worksheet as an Excel workbook, for analysts who review in Excel.

Why: a CSV opened in Excel loses what the review depends on: case numbers lose leading zeros,
dates are rewritten, and a value starting with ``=``, ``+``, ``-`` or ``@`` runs as a formula.
This workbook has the same columns and rows as the CSV worksheet, every text value written as a
text cell (never a formula, whatever the data hold), text-formatted identity and note columns, a
Y/N drop-down on both prongs, a date format on ``reviewed_on``, a frozen header, and a second
sheet quoting the handbook's TCO definition and the two prongs. Saved as
``case_reviews_<date>.xlsx`` in the landing dir it is read by the same rules as the CSV.

The bytes are a function of the sample only: the document dates are the sample's ``drawn_at``
(xlsxwriter writes fixed zip timestamps), so a republish writes the same file.
"""

from __future__ import annotations

import datetime as dt
import io

import xlsxwriter

REVIEW_SHEET = "Reviews"
GUIDE_SHEET = "How to review"
PRONG_COLUMNS = ("association_of_individuals", "crosses_international_border")
NUMBER_COLUMNS = ("draw_order", "scr_count")
CHOICES = {"review_outcome": ("REVIEWED", "UNREVIEWABLE"),
           "review_role": ("first", "second", "adjudication")}  # fmt: skip
MAX_WIDTH = 60
GUIDE_WIDTH = 100  # characters of the guide sheet's one column

DEFINITION = (
    "A self-perpetuating association of individuals who operate across international borders "
    "for the purpose of obtaining power, influence, monetary and/or commercial gains, wholly or "
    "in part by illegal means."
)
GUIDE = (
    ("Reviewing the sampled cases against the TCO definition", "title"),
    ("HSI defines a transnational criminal organization (TCO) as:", None),
    (f"\u201c{DEFINITION}\u201d", "quote"),
    ("(HSI Significant Case Report Handbook, HSI HB 22-01, January 3, 2022, as quoted by the "
     "DHS OIG in its audit of September 19, 2023.)", None),
    ("", None),
    ("The auditors tested two prongs for each case; failing either means the case is not a TCO.",
     None),
    ("association_of_individuals (prong A)", "bold"),
    ("Y when the case involves an association of individuals: more than one person. "
     "N when it involves one individual.", None),
    ("crosses_international_border (prong B)", "bold"),
    ("Y when the criminal activity crosses international borders. N when it stays within the "
     "United States.", None),
    ("", None),
    ("For every case on the Reviews sheet", "bold"),
    ("1. Read the case file and its SCRs (column scrs).", None),
    ("2. Enter reviewed_on, the date of your review (a date, or text YYYY-MM-DD).", None),
    ("3. Choose Y or N in both prong columns (drop-down).", None),
    ("4. Add notes if useful. Do not change draw_order, case_number or the other case columns.",
     None),
    ("5. Save as Excel Workbook in the landing dir as case_reviews_<YYYY-MM-DD>.xlsx "
     "(Reviews must stay the first sheet) and run `scr-pipeline refresh`.", None),
    ("A value other than Y or N, a missing value or a case number not in the sample is "
     "reported in validation_findings.parquet with its sheet row; that case then counts as "
     "not reviewed until a corrected worksheet is landed.", None),
)  # fmt: skip


def _width(header: str, values: list) -> int:
    longest = max([len(header), *(len(str(v)) for v in values if v is not None)])
    return min(longest + 2, MAX_WIDTH)


def _review_sheet(book: xlsxwriter.Workbook, header: list[str], rows: list) -> None:
    ws = book.add_worksheet(REVIEW_SHEET)
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    last = max(len(rows), 1)
    for c, name in enumerate(header):
        values = [r[c] for r in rows]
        fmt = date if name == "reviewed_on" else None if name in NUMBER_COLUMNS else text
        width = 14 if name == "reviewed_on" else _width(name, values)
        ws.set_column(c, c, width, fmt)
        ws.write_string(0, c, name, bold)
        for r, value in enumerate(values, start=1):
            if value is None or value == "":
                ws.write_blank(r, c, None, fmt)  # styled: what the analyst types is text/date
            elif name in NUMBER_COLUMNS and isinstance(value, int | float):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, str(value), text)
        if name in CHOICES:  # a stratified sample's worksheet: outcome and role drop-downs
            ws.data_validation(1, c, last, c, {"validate": "list", "source": list(CHOICES[name]),
                                               "input_title": name, "ignore_blank": True})  # fmt: skip
        if name in PRONG_COLUMNS:
            ws.data_validation(
                1, c, last, c,
                {"validate": "list", "source": ["Y", "N"], "error_title": "Y or N",
                 "error_message": "Enter Y (the prong is met) or N (it is not).",
                 "input_title": name, "input_message": "Y or N (sheet 'How to review')"},
            )  # fmt: skip
    ws.freeze_panes(1, 2)  # header row and the case's draw order and number stay in view
    ws.autofilter(0, 0, len(rows), len(header) - 1)
    ws.set_landscape()  # printed: one page wide, the header on every page
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def _guide_sheet(book: xlsxwriter.Workbook) -> None:
    ws = book.add_worksheet(GUIDE_SHEET)
    styles = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "quote": book.add_format({"italic": True, "text_wrap": True}),
        "bold": book.add_format({"bold": True}),
        None: book.add_format({"text_wrap": True}),
    }
    ws.set_column(0, 0, GUIDE_WIDTH)
    for r, (line, style) in enumerate(GUIDE):
        if line:
            ws.write_string(r, 0, line, styles[style])
        if len(line) > GUIDE_WIDTH - 10:  # a wrapped line: its height, as LibreOffice and
            ws.set_row(r, 15 * -(-len(line) // (GUIDE_WIDTH - 10)))  # print need it given
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def workbook(header: list[str], rows: list, *, title: str, created: dt.datetime) -> bytes:
    """The worksheet's rows as .xlsx bytes; the same rows, title and date give the same bytes."""
    buf = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_formulas": False,  # write() never turns '=...' into a formula either
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    book = xlsxwriter.Workbook(buf, options)
    book.set_properties({"title": title, "created": created})
    _review_sheet(book, header, rows)
    _guide_sheet(book)
    book.close()
    return buf.getvalue()
