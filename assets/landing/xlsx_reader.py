"""Read an ``.xlsx`` landing file (the filled review worksheet) as one Arrow batch of text.

Why: analysts fill the review worksheet in Excel and save it as ``.xlsx``. Its first sheet is
turned into exactly what a CSV of the same cells would give (every cell as text, header in row
1), so one set of rules judges both: a date cell becomes ``YYYY-MM-DD`` (with a time, ``YYYY-MM-DD
HH:MM:SS``, which the date rule then refuses as it would in a CSV), a whole number ``3`` (Excel
stores every number as a float), a boolean ``TRUE``/``FALSE``, an empty cell ``''``. Rows that
are empty in every column are skipped (Excel keeps formatted empty rows), and ``__row`` is the
sheet row a person sees in Excel (the header is row 1), so a finding names that row.
A file that is not a readable workbook is refused by name (python-calamine reads it). The
sheet is read whole: a review worksheet holds one row per sampled case (hundreds, not millions),
so a workbook that would expand beyond ``SCR_XLSX_MAX_BYTES`` (checked from the zip's declared
sizes, before anything inflates) or whose sheet has more than ``SCR_XLSX_MAX_ROWS`` rows is
refused by name, with the limit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from assets._shared.errors import BadExtractError
from assets._shared.settings import xlsx_max_bytes, xlsx_max_rows

ROW_COLUMN = "__row"  # the sheet row number, carried to raw storage as source_row


def cell_text(value: object) -> str:
    """The text a CSV export of this cell would hold, for the contract's text rules."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)


def _limit_hint(variable: str) -> str:
    return (
        f"Check the workbook (a review worksheet holds one row per sampled case), or raise "
        f"{variable} if it is expected, then run `scr-pipeline refresh` again."
    )


def check_declared_size(path: Path) -> None:
    """Refuse a workbook whose parts would expand beyond ``SCR_XLSX_MAX_BYTES`` (a zip bomb: 5 MB
    on disk, 2 GB of sheet XML), from the sizes the zip declares, before anything inflates."""
    import zipfile

    limit = xlsx_max_bytes()
    try:
        with zipfile.ZipFile(path) as zf:
            declared = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: the workbook reader names what is wrong
    if declared > limit:
        raise BadExtractError(
            path.name,
            f"the workbook expands to {declared:,} bytes, beyond the limit of {limit:,} "
            "(SCR_XLSX_MAX_BYTES)",
            _limit_hint("SCR_XLSX_MAX_BYTES"),
        )


def _first_sheet(path: Path) -> tuple[str, list[list]]:
    import python_calamine

    check_declared_size(path)
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        if not book.sheet_names:
            raise BadExtractError(path.name, "the workbook has no sheet")
        sheet = book.get_sheet_by_index(0)
        limit = xlsx_max_rows()
        rows = sheet.end[0] + 1 if sheet.end else 0  # the last used row, 0-based
        if rows > limit:  # before every cell becomes a Python object
            raise BadExtractError(
                path.name,
                f"sheet '{sheet.name}' has {rows:,} rows, beyond the limit of "
                f"{limit:,} (SCR_XLSX_MAX_ROWS)",
                _limit_hint("SCR_XLSX_MAX_ROWS"),
            )
        return sheet.name, sheet.to_python(skip_empty_area=False)
    except BadExtractError:
        raise
    except Exception as err:  # calamine's errors (zip, XML, password) have no common base
        problem = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise BadExtractError(
            path.name,
            f"cannot be read as an Excel workbook (.xlsx): {problem}",
            "Save the worksheet from Excel as 'Excel Workbook (.xlsx)' and land it again.",
        ) from None


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def first_sheet_table(path: Path) -> tuple[list[str], pa.RecordBatch]:
    """(header, batch) of the first sheet; the batch carries ``__row`` (sheet row numbers)."""
    sheet, rows = _first_sheet(path)
    if not rows or all(cell_text(v) == "" for v in rows[0]):
        raise BadExtractError(path.name, f"sheet '{sheet}' has no header in row 1")
    header = [cell_text(v) for v in rows[0]]
    cells = [[cell_text(v) for v in row] for row in rows[1:]]
    keep = [i for i, h in enumerate(header) if h.strip() or any(i < len(r) and r[i] for r in cells)]
    for i in (i for i in keep if not header[i].strip()):
        row = next(n for n, r in enumerate(cells, start=2) if i < len(r) and r[i])
        raise BadExtractError(
            path.name,
            f"sheet '{sheet}' cell {_column_letter(i)}{row} holds a value but its column has no "
            "header in row 1",
        )
    header = [header[i] for i in keep]
    data = [(n, r) for n, r in enumerate(cells, start=2) if any(r)]
    arrays = [pa.array([r[i] if i < len(r) else "" for _, r in data], pa.string()) for i in keep]
    arrays.append(pa.array([n for n, _ in data], pa.int64()))
    return header, pa.RecordBatch.from_arrays(arrays, names=[*header, ROW_COLUMN])
