"""``oao_measures.xlsx`` read back: every sheet equals its Parquet table value for value, the
Summary equals our own count over the published files, no cell is a formula (even for a case
number and field office typed as ``=HYPERLINK(...)``), every column is defined on the Notes
sheet, and the same warehouse gives the same bytes."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from decimal import Decimal

import duckdb
import openpyxl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from support.extracts import valid_row, write_csv
from support.project import refresh_in_memory, use_env

from assets.publish import oao_workbook
from assets.publish.outputs import PUBLISHED_FILES
from schemas.spreadsheet_text import FORMULA_STARTS

HOSTILE = '=HYPERLINK("http://x.invalid","office")'


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The small demo (seed 7, scale 0.05) plus an SCR file whose case numbers and field
    office are formulas, one of them quarantined (bad scr_type), refreshed once."""
    root = tmp_path_factory.mktemp("oao")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, root)
        from pipelines.demo.extracts import write_demo_extracts

        write_demo_extracts(root / "landing", seed=7, scale=0.05)
        rows = [
            valid_row("HOSTILE-1", case_number="=SUM(A1)", field_office=HOSTILE),
            valid_row("HOSTILE-2", case_number="=HYPERLINK(1)", field_office=HOSTILE,
                      scr_type="SEIZURE"),
        ]  # fmt: skip
        write_csv(root / "landing" / "scr_extract_2024-02-01.csv", rows)
        refresh_in_memory()
    return root


@pytest.fixture(scope="module")
def book(site):
    return openpyxl.load_workbook(site / "output" / oao_workbook.WORKBOOK_PATH)


def sheet_dicts(book, name: str) -> list[dict]:
    rows = list(book[name].iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:]]


def same(cell: object, value: object) -> bool:
    """A cell read back (openpyxl) against a Parquet value."""
    value = oao_workbook.cell_value(value)
    if value is None:
        return cell is None
    if isinstance(value, bool):
        return cell is value
    if isinstance(value, int | float | Decimal):
        return isinstance(cell, int | float) and math.isclose(cell, float(value), rel_tol=1e-12)
    if isinstance(value, dt.datetime):
        return cell == value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return cell == dt.datetime.combine(value, dt.time())
    return isinstance(cell, str) and cell == value


def assert_equal_rows(sheet: list[dict], table: list[dict]) -> None:
    assert len(sheet) == len(table)
    for i, (got, want) in enumerate(zip(sheet, table, strict=True)):
        assert set(got) == set(want), i
        bad = {k: (got[k], want[k]) for k in want if not same(got[k], want[k])}
        assert not bad, f"row {i + 2}: {bad}"


def _hive(site, name: str, order: list[str]) -> list[dict]:
    rows = ds.dataset(site / "output" / name, partitioning="hive").to_table().to_pylist()
    return sorted(rows, key=lambda r: tuple(r[k] for k in order))


PARQUET_SHEETS = {
    "Annual": "annual_measures.parquet",
    "Quarantined SCRs": "quarantined_scrs.parquet",
    "Findings": "validation_findings.parquet",
    "Resource requests": "resource_request_evidence.parquet",
    "Accuracy": "measure_estimates.parquet",
}


@pytest.mark.parametrize("sheet", sorted(PARQUET_SHEETS))
def test_every_sheet_equals_its_parquet_file(book, site, sheet):
    table = pq.read_table(site / "output" / PARQUET_SHEETS[sheet]).to_pylist()
    assert_equal_rows(sheet_dicts(book, sheet), table)
    if sheet != "Accuracy":  # no reviewed sample in the demo: the sheet is its header alone
        assert table


def test_partitioned_sheets_equal_their_parquet_partitions(book, site):
    quarters = _hive(site, "quarterly_measures", ["fiscal_year", "fiscal_quarter"])
    assert_equal_rows(sheet_dicts(book, "Quarterly"), quarters)
    keys = ["fiscal_year", "fiscal_quarter", "criminal_category"]
    assert_equal_rows(sheet_dicts(book, "By category"), _hive(site, "category_measures", keys))
    assert len(quarters) > 10


def test_numbers_dates_and_text_keep_their_kind(book):
    ws = book["Quarterly"]
    header = [c.value for c in ws[1]]
    row = {h: c for h, c in zip(header, ws[2], strict=True)}
    assert row["dd_total"].data_type == "n"
    assert row["quarter_end"].is_date and row["quarter_end"].number_format == "yyyy-mm-dd"
    annual = {h: c for h, c in zip([c.value for c in book["Annual"][1]], book["Annual"][2], strict=True)}  # fmt: skip
    assert annual["measure_type"].data_type == "s"
    assert annual["met_target_old_method"].data_type == "b"


def test_no_cell_is_a_formula_and_formula_like_text_stays_text(book, site):
    with zipfile.ZipFile(site / "output" / oao_workbook.WORKBOOK_PATH) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    quarantined = sheet_dicts(book, "Quarantined SCRs")
    assert [r["case_number"] for r in quarantined if r["scr_id"] == "HOSTILE-2"] == [
        "=HYPERLINK(1)"
    ]
    texts = [
        c
        for name in book.sheetnames
        for row in book[name].iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith(FORMULA_STARTS)
    ]
    assert any(c.value == "=HYPERLINK(1)" for c in texts)
    assert all(c.data_type == "s" and c.number_format == "@" for c in texts)


def test_a_field_office_formula_is_written_as_text(tmp_path):
    """The one writer of every cell, on a field office typed as a formula."""
    import xlsxwriter

    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    ws = wb.add_worksheet("S")
    oao_workbook.write_value(ws, 0, 0, HOSTILE, oao_workbook._Styles(wb))
    wb.close()
    cell = openpyxl.load_workbook(path)["S"]["A1"]
    assert (cell.value, cell.data_type) == (HOSTILE, "s")


def test_summary_equals_our_own_count_over_the_published_files(book, site):
    out = site / "output"
    con = duckdb.connect()
    fy, q, dd, tco, qend = con.execute(
        f"SELECT fiscal_year, fiscal_quarter, dd_total, dd_tco, quarter_end FROM "
        f"read_parquet('{out}/quarterly_measures/*/*/*.parquet', hive_partitioning = true) "
        "ORDER BY fiscal_year DESC, fiscal_quarter DESC LIMIT 1"
    ).fetchall()[0]
    fytd_old, fytd_tco = con.execute(
        f"SELECT sum(dd_total), sum(dd_tco) FROM "
        f"read_parquet('{out}/quarterly_measures/*/*/*.parquet', hive_partitioning = true) "
        "WHERE fiscal_year = ?",
        [fy],
    ).fetchall()[0]
    through = (
        duckdb.connect(str(site / "warehouse.duckdb"), read_only=True)
        .execute("SELECT CAST(max(last_modified_at) AS DATE) FROM scr_current")
        .fetchall()[0][0]
    )
    summary = {r[0]: r[1] for r in list(book["Summary"].iter_rows(min_row=4, values_only=True))}
    assert summary["Latest quarter"] == f"FY{fy} Q{q}"
    assert summary["Latest quarter: disruptions + dismantlements (old method)"] == dd
    assert summary["Latest quarter: TCO-validated"] == tco
    assert summary[f"FY{fy} to date: old method"] == fytd_old
    assert summary[f"FY{fy} to date: TCO-validated"] == fytd_tco
    assert summary["Data through"] == dt.datetime.combine(through, dt.time())
    assert summary["Latest quarter complete"] is (through >= qend)


def test_every_column_is_defined_on_the_notes_sheet(book):
    notes = {(r[0], r[1]): r[2] for r in book["Notes"].iter_rows(min_row=2, values_only=True)}
    for name in book.sheetnames:
        if name in ("Summary", "Notes"):
            continue
        assert notes[(name, "(row)")].startswith("One row is ")
        for col in next(book[name].iter_rows(max_row=1, values_only=True)):
            assert notes.get((name, col)), f"{name}.{col} has no definition"


def test_same_warehouse_same_bytes(site):
    published = (site / "output" / oao_workbook.WORKBOOK_PATH).read_bytes()
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        assert oao_workbook.workbook_bytes(con, PUBLISHED_FILES) == published
        assert oao_workbook.workbook_bytes(con, PUBLISHED_FILES) == published


def test_every_published_column_has_a_description(site):
    """One table of descriptions (assets/_shared/metadata.py) labels every column of every
    published Parquet file, in the Dagster UI (TableSchema) and on the Notes sheet."""
    from assets._shared.metadata import COLUMN_DESCRIPTIONS

    out = site / "output"
    files = [*out.glob("*.parquet"), *(next(d.rglob("*.parquet")) for d in out.iterdir()
                                       if d.is_dir() and any(d.rglob("*.parquet")))]  # fmt: skip
    assert len(files) > 15
    missing = {
        f"{f.relative_to(out)}:{name}"
        for f in files
        for name in pq.read_schema(f).names
        if not COLUMN_DESCRIPTIONS.get(name)
    }
    assert not missing, sorted(missing)
