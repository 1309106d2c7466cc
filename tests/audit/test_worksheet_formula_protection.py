"""Hostile values from ICM through the review loop: SCRs whose case number and field office are
spreadsheet formulas (``=HYPERLINK(...)``, ``@SUM``, ``-12``, ``+1``) are refreshed, drawn and
exported. No cell of either worksheet nor of ``explain --quarter --csv`` can run as a formula;
the CSV worksheet filled as written (protective quotes kept) and the workbook both read back
to the drawn cases, with no finding."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import duckdb
import openpyxl
import pytest
from support.extracts import valid_row, write_csv
from support.project import Project

from pipelines.cli.main import main
from schemas.fiscal import quarter_key
from schemas.spreadsheet_text import FORMULA_STARTS

HOSTILE_CASES = ['=HYPERLINK("http://x.invalid","y")', "-12", "+1", "@SUM(A1)", "C-OK"]
DRAWN = [c.upper() for c in HOSTILE_CASES]  # case numbers are identities, compared upper-case
OFFICE = '=HYPERLINK("http://x.invalid","office")'
SHEETS = ("output", "audit_sample", "_worksheets")


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Project:
    p = Project(tmp_path / "site", monkeypatch)
    rows = [
        valid_row(f"H{i}", case_number=case, field_office=OFFICE if i % 2 else "@office")
        for i, case in enumerate(HOSTILE_CASES, start=1)
    ]
    write_csv(p.landing / "scr_extract_2024-02-01.csv", rows)
    p.refresh()
    return p


def _run(argv: list[str], capsys) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    assert exc.value.code == 0, out.err
    return out.out


def _findings(p: Project) -> list[tuple]:
    return duckdb.sql(
        f"SELECT source_file, rule_id FROM '{p.output / 'validation_findings.parquet'}' "
        "WHERE extract_type = 'case_reviews'"
    ).fetchall()


def _reviewed(p: Project) -> list[tuple]:
    return p.query("SELECT case_number, rejected FROM case_review_current ORDER BY 1")


def test_hostile_values_never_run_and_read_back_as_drawn(project: Project, capsys):
    p = project
    drawn = json.loads(_run(["audit", "draw", "--fiscal-years", "2024", "--size", "5",
                             "--seed", "1", "--json"], capsys).splitlines()[-1])  # fmt: skip
    assert drawn["sample_size"] == 5
    sheets = p.root.joinpath(*SHEETS)
    text = (sheets / "review_worksheet_sample_1.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    cells = [v for r in rows for v in r.values()]
    assert not any(v.startswith(FORMULA_STARTS) for v in cells)
    assert sorted(r["case_number"] for r in rows) == sorted(
        ["'" + c if c[0] in "=-+@" else c for c in DRAWN]
    )
    assert {r["field_office"] for r in rows} == {"'" + OFFICE, "'@office"}

    book = openpyxl.load_workbook(sheets / "review_worksheet_sample_1.xlsx")
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)
    ws = book["Reviews"]
    assert sorted(ws.cell(r, 2).value for r in range(2, 7)) == sorted(DRAWN)

    quarter = quarter_key(2024, 2)  # valid_row is approved 2024-01-10
    out = _run(["explain", "--quarter", quarter, "--csv"], capsys)
    listed = list(csv.reader(io.StringIO(out)))[1:]
    assert len(listed) == 5
    assert not any(v.startswith(FORMULA_STARTS) for r in listed for v in r)
    assert sorted(r[1] for r in listed) == sorted(r["case_number"] for r in rows)

    for r in rows:  # filled in a spreadsheet and saved: the protective quotes stay
        r |= {"reviewed_on": "2026-11-20", "association_of_individuals": "Y"}
        r |= {"crosses_international_border": "N"}
    with open(p.landing / "case_reviews_2026-11-20.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    p.refresh()
    assert _findings(p) == []
    assert _reviewed(p) == sorted((c, False) for c in DRAWN)

    for r in range(2, 7):
        ws.cell(r, 7).value = dt.datetime(2026, 11, 21)
        ws.cell(r, 8).value, ws.cell(r, 9).value = "N", "N"
    book.save(p.landing / "case_reviews_2026-11-21.xlsx")
    p.refresh()
    assert _findings(p) == []
    assert p.query("SELECT DISTINCT source_file FROM case_review_current") == [
        ("case_reviews_2026-11-21.xlsx",)
    ]
    assert _reviewed(p) == sorted((c, False) for c in DRAWN)
