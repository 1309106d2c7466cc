"""The review worksheet of a sample: its rows from the warehouse, written as CSV and as .xlsx.

Why its own module: the draw (``sample.py``) saves the worksheets and the publish step copies
them, so the worksheet reads the recorded sample here and hands plain rows to the writers
(``worksheet_xlsx.workbook`` for Excel, the csv module for CSV); no writer reads the warehouse
or imports back.
"""

import csv
import datetime as dt
import io
from pathlib import Path

import duckdb

from assets._shared.errors import PipelineError
from assets.audit.stratified_sample import WORKSHEET_SQL
from assets.audit.worksheet_xlsx import workbook
from schemas.spreadsheet_text import protect

SAMPLE_DIR = "audit_sample"
WORKSHEET_DIR = "_worksheets"  # '_' prefix: pyarrow.dataset skips it; read-only copies
REVIEW_COLUMNS = (
    "reviewed_on",
    "association_of_individuals",
    "crosses_international_border",
    "notes",
)
# A stratified sample's worksheet (interfaces.md): who reviews and whether the case file could be
# reviewed at all (review_outcome UNREVIEWABLE: its spare takes its place in the estimate).
STRATIFIED_REVIEW_COLUMNS = (
    "reviewed_on",
    "association_of_individuals",
    "crosses_international_border",
    "review_outcome",
    "reviewer",
    "review_role",
    "notes",
)


def worksheet_rows(con: duckdb.DuckDBPyConnection, sample_id: int) -> tuple[list[str], list]:
    """Header and rows of the review worksheet (CSV and .xlsx): one row per sampled case, its
    SCRs, and the review columns (empty, for the analysts). A stratified sample's rows are its
    sampled and spare cases with their stratum, spare and second-review marks."""
    method = con.execute(
        "SELECT method FROM audit_samples WHERE sample_id = ?", [sample_id]
    ).fetchall()
    if method and method[0][0] == "stratified":
        cur = con.execute(WORKSHEET_SQL, [sample_id])
        header = [d[0] for d in cur.description] + list(STRATIFIED_REVIEW_COLUMNS)
        return header, [row + ("",) * len(STRATIFIED_REVIEW_COLUMNS) for row in cur.fetchall()]
    cur = con.execute(
        "SELECT draw_order, case_number, criminal_category, field_office, scr_count, scrs "
        "FROM audit_sample_cases WHERE sample_id = ? ORDER BY draw_order",
        [sample_id],
    )
    header = [d[0] for d in cur.description] + list(REVIEW_COLUMNS)
    return header, [row + ("",) * len(REVIEW_COLUMNS) for row in cur.fetchall()]


def worksheet_csv(con: duckdb.DuckDBPyConnection, sample_id: int) -> bytes:
    """The analysts' CSV; a text value a spreadsheet would run as a formula is quoted."""
    header, rows = worksheet_rows(con, sample_id)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([protect(v) for v in row] for row in rows)
    return buf.getvalue().encode("utf-8")


def worksheet_xlsx(con: duckdb.DuckDBPyConnection, sample_id: int) -> bytes:
    """The review worksheet of one sample as .xlsx bytes (reproducible for the same sample):
    the rows of ``worksheet_rows``, dated by the sample's ``drawn_at``."""
    header, rows = worksheet_rows(con, sample_id)
    drawn = con.execute("SELECT drawn_at FROM audit_samples WHERE sample_id = ?", [sample_id])
    found = drawn.fetchall()
    return workbook(
        header,
        rows,
        title=f"Review worksheet, audit sample {sample_id}",
        created=found[0][0] if found else dt.datetime(2000, 1, 1),
    )


def worksheet_files(con: duckdb.DuckDBPyConnection, sample_id: int) -> dict[str, bytes]:
    """The review worksheet of one sample as CSV and as .xlsx, by path under SCR_OUTPUT_DIR."""
    stem = f"{SAMPLE_DIR}/{WORKSHEET_DIR}/review_worksheet_sample_{sample_id}"
    return {
        f"{stem}.csv": worksheet_csv(con, sample_id),
        f"{stem}.xlsx": worksheet_xlsx(con, sample_id),
    }


def save_worksheets(con: duckdb.DuckDBPyConnection, sample_id: int, folder: Path) -> dict:
    """Write the sample's worksheets (CSV, .xlsx) where people fill them (SCR_WORKSHEET_DIR),
    never over an existing file: a name already taken by other bytes (a filled worksheet, a
    rebuilt warehouse's sample 1) gets the first free ``-2``, ``-3``... suffix; the same bytes
    again are left as they are. Returns the paths, as ``sample_paths`` names them."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = {}
    for rel, content in worksheet_files(con, sample_id).items():
        name = Path(rel)
        for n in range(1, 1000):
            target = folder / (name.name if n == 1 else f"{name.stem}-{n}{name.suffix}")
            try:
                with open(target, "xb") as fh:  # exclusive: never replaces a file
                    fh.write(content)
                break
            except FileExistsError:
                if target.is_file() and target.read_bytes() == content:
                    break
        else:
            raise PipelineError(f"{folder}: no free name for {name.name}; tidy the folder")
        saved["worksheet" if name.suffix == ".csv" else "worksheet_xlsx"] = str(target)
    return saved
