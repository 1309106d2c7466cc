"""A filled review worksheet landed as ``case_reviews_<date>.xlsx``, end to end on the small demo:
draw a sample, fill the published workbook with openpyxl the way Excel saves it (real date
cells, some dates typed as text), land it, refresh, and read the outputs back. The workbook
gives the same audit_projection.parquet as the CSV worksheet filled with the same answers; bad
values are findings naming the sheet row; the lifecycle (archive, replace, retract, verify)
treats it like any extract; a file that is not a workbook stops the refresh by name."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import openpyxl
import pyarrow.parquet as pq
import pytest
from support.project import copy_site, output_hashes, refresh_in_memory, refreshed_demo

from pipelines.cli.main import main

WORKSHEETS = Path("output") / "audit_sample" / "_worksheets"
COLUMNS = {"reviewed_on": 7, "association_of_individuals": 8}
COLUMNS |= {"crosses_international_border": 9, "notes": 10}


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Path:
    return refreshed_demo(tmp_path_factory, refresh_in_memory)


@pytest.fixture()
def site(refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_site(refreshed, tmp_path, monkeypatch)


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


def _draw(capsys, size: int, seed: int) -> dict:
    assert _run(["audit", "draw", "--size", str(size), "--seed", str(seed), "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _answer(order: int) -> tuple[str, str]:
    """Known answers by draw order: 1 in 5 fail both prongs, 1 in 5 each prong alone."""
    return {0: ("N", "N"), 1: ("N", "Y"), 2: ("Y", "N")}.get(order % 5, ("Y", "Y"))


def _fill_xlsx(site: Path, sample_id: int, name: str, edit=None) -> Path:
    """The published workbook filled as Excel saves it: typed dates are date cells (every
    fourth typed as text, every fourth in a date-and-time format), Y/N chosen from the drop-down; ``edit(ws)`` changes more."""
    book = openpyxl.load_workbook(site / WORKSHEETS / f"review_worksheet_sample_{sample_id}.xlsx")
    ws = book["Reviews"]
    for r in range(2, ws.max_row + 1):
        a, b = _answer(ws.cell(r, 1).value)
        date = ws.cell(r, COLUMNS["reviewed_on"])
        date.value, date.number_format = dt.datetime(2026, 11, 20), "yyyy-mm-dd"
        if r % 4 == 1:  # a date typed into a cell formatted with a time of day
            date.number_format = "m/d/yyyy h:mm"
        elif r % 4 == 0:
            date.value = "2026-11-20"
        ws.cell(r, COLUMNS["association_of_individuals"]).value = a
        ws.cell(r, COLUMNS["crosses_international_border"]).value = b
        ws.cell(r, COLUMNS["notes"]).value = f"test answer {a}{b}"
    if edit:
        edit(ws)
    path = site / "landing" / name
    book.save(path)
    return path


def _fill_csv(site: Path, sample_id: int, name: str) -> None:
    with open(site / WORKSHEETS / f"review_worksheet_sample_{sample_id}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        a, b = _answer(int(r["draw_order"]))
        r |= {"reviewed_on": "2026-11-20", "association_of_individuals": a}
        r |= {"crosses_international_border": b, "notes": f"test answer {a}{b}"}
    with open(site / "landing" / name, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _query(site: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _findings(site: Path) -> list[tuple]:
    return duckdb.sql(
        "SELECT source_file, source_row, case_number, rule_id, severity "
        f"FROM '{site / 'output' / 'validation_findings.parquet'}' "
        "WHERE extract_type = 'case_reviews' ORDER BY source_file, source_row, rule_id"
    ).fetchall()


def _overall(site: Path) -> tuple:
    return duckdb.sql(
        "SELECT sampled, sample_size, exceptions, complete "
        f"FROM '{site / 'output' / 'audit_projection.parquet'}' "
        "WHERE method = 'normal' AND dimension = 'overall'"
    ).fetchall()[0]


def test_xlsx_gives_the_projection_of_the_csv_filled_alike(site, capsys):
    drawn = _draw(capsys, 30, 11)
    xlsx = _fill_xlsx(site, drawn["sample_id"], "case_reviews_2026-11-20.xlsx")
    refresh_in_memory()
    assert _findings(site) == []
    assert _overall(site) == (30, 30, 18, True)  # orders % 5 in {0, 1, 2}: 18 of 30 fail
    from_xlsx = pq.read_table(site / "output" / "audit_projection.parquet")
    reviewed = _query(
        site, "SELECT count(*), min(reviewed_on), max(reviewed_on) FROM case_review_current"
    )
    assert reviewed == [(30, dt.date(2026, 11, 20), dt.date(2026, 11, 20))]
    [(sha,)] = _query(
        site, "SELECT content_sha256 FROM ingested_files WHERE source_file LIKE '%.xlsx'"
    )
    archived = site / "archive" / f"{sha}.xlsx"
    assert archived.read_bytes() == xlsx.read_bytes()  # archived byte for byte
    assert _run(["verify"]) == 0  # the rebuild from the archive reads the .xlsx again

    assert _run(["retract", xlsx.name, "--reason", "test: the CSV path instead"]) == 0
    refresh_in_memory()
    assert _overall(site) == (30, 0, 0, False)  # retracted: no review counts
    _fill_csv(site, drawn["sample_id"], "case_reviews_2026-11-21.csv")
    refresh_in_memory()
    assert _query(site, "SELECT DISTINCT source_file FROM case_review_current") == [
        ("case_reviews_2026-11-21.csv",)
    ]
    assert pq.read_table(site / "output" / "audit_projection.parquet").equals(from_xlsx)


def _bad_rows(ws) -> None:
    ws.cell(7, COLUMNS["association_of_individuals"]).value = "yes"
    ws.cell(4, 2).value = "NOT-IN-SAMPLE"
    ws.cell(9, COLUMNS["reviewed_on"]).value = dt.datetime(2026, 11, 20, 13, 5)
    ws.cell(12, COLUMNS["crosses_international_border"]).value = None


def test_bad_values_are_findings_naming_the_sheet_row_and_a_fix_replaces_them(site, capsys):
    drawn = _draw(capsys, 20, 5)
    name = "case_reviews_2026-11-20.xlsx"
    _fill_xlsx(site, drawn["sample_id"], name, _bad_rows)
    book = openpyxl.load_workbook(site / "landing" / name)
    case = {r: book["Reviews"].cell(r, 2).value for r in (7, 9, 12)}
    refresh_in_memory()
    assert _findings(site) == [
        (name, 4, "NOT-IN-SAMPLE", "cr.case_number.in_sample", "error"),
        (name, 7, case[7], "cr.association_of_individuals.enum", "error"),
        (name, 9, case[9], "cr.reviewed_on.format", "error"),
        (name, 12, case[12], "cr.crosses_international_border.required", "error"),
    ]
    message = duckdb.sql(
        f"SELECT message FROM '{site / 'output' / 'validation_findings.parquet'}' "
        "WHERE rule_id = 'cr.association_of_individuals.enum'"
    ).fetchall()[0][0]
    assert "'yes'" in message
    # the changed case (sheet row 4) and the three rejected reviews do not count
    assert _overall(site)[:2] == (20, 16)

    _fill_xlsx(site, drawn["sample_id"], name)  # corrected and saved under the same name
    refresh_in_memory()
    events = _query(
        site, f"SELECT event FROM landing_events WHERE source_file = '{name}' ORDER BY seq"
    )
    assert events == [("ingested",), ("replaced",)]
    assert _findings(site) == []
    assert _overall(site)[:2] == (20, 20)


@pytest.mark.parametrize(
    "content",
    [b"draw_order,case_number\n1,X\n", b"PK\x03\x04" + b"\x00" * 64],
    ids=["csv text", "broken zip"],
)
def test_a_file_that_is_not_a_workbook_stops_the_refresh_by_name(site, capsys, content):
    before = output_hashes(site / "output")
    (site / "landing" / "case_reviews_2026-11-30.xlsx").write_bytes(content)
    capsys.readouterr()
    assert _run(["refresh"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith("error: case_reviews_2026-11-30.xlsx: cannot be read as an Excel")
    assert output_hashes(site / "output") == before
