"""`scr-pipeline audit draw`: the sample is the documented SHA-256 ranking of the population
(recomputed here with hashlib), reproducible by seed, recorded in the warehouse, exported as
hive-partitioned Parquet plus a review worksheet, and never drawn by a refresh.

One small demo dataset is refreshed once per module; each test works on its own copy."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
from support.project import copy_site, refresh_in_memory, refreshed_demo

from pipelines.cli.main import main

WORKSHEET_COLUMNS = [
    "draw_order", "case_number", "criminal_category", "field_office", "scr_count", "scrs",
    "reviewed_on", "association_of_individuals", "crosses_international_border", "notes",
]  # fmt: skip
POPULATION_SQL = """SELECT DISTINCT case_number FROM scr_current
    WHERE counted AND fiscal_year BETWEEN ? AND ?"""


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Path:
    return refreshed_demo(tmp_path_factory, refresh_in_memory)


@pytest.fixture()
def site(refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_site(refreshed, tmp_path, monkeypatch)


def _draw(capsys, *args: str) -> dict:
    assert _run(["audit", "draw", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _query(site: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _sample(site: Path, sample_id: int) -> list[str]:
    rows = _query(
        site,
        "SELECT case_number FROM audit_sample_cases WHERE sample_id = ? ORDER BY draw_order",
        [sample_id],
    )
    return [r[0] for r in rows]


def _by_hand(site: Path, seed: int, size: int, fy: tuple[int, int] = (2017, 2022)) -> list[str]:
    cases = [r[0] for r in _query(site, POPULATION_SQL, list(fy))]
    key = lambda c: (hashlib.sha256(f"{seed}:{c}".encode()).hexdigest(), c)  # noqa: E731
    return sorted(cases, key=key)[:size]


def test_sample_is_the_documented_sha256_ranking(site, capsys):
    res = _draw(capsys, "--fiscal-years", "2017-2022", "--size", "30", "--seed", "42")
    assert res["sample_id"] == 1 and res["sample_size"] == 30
    assert _sample(site, 1) == _by_hand(site, 42, 30)
    assert res["population"] == len(_query(site, POPULATION_SQL, [2017, 2022]))


def test_same_seed_same_cases_other_seed_other_cases(site, capsys):
    first = _draw(capsys, "--size", "30", "--seed", "42")
    again = _draw(capsys, "--size", "30", "--seed", "42")
    other = _draw(capsys, "--size", "30", "--seed", "43")
    assert (first["sample_id"], again["sample_id"], other["sample_id"]) == (1, 2, 3)
    assert _sample(site, 1) == _sample(site, 2)
    assert set(_sample(site, 3)) != set(_sample(site, 1))
    assert len(set(_sample(site, 3))) == 30  # without replacement


def test_fiscal_years_limit_the_population(site, capsys):
    res = _draw(capsys, "--fiscal-years", "2019", "--size", "10", "--seed", "5")
    assert res["fiscal_years"] == "FY2019"
    assert res["population"] == len(_query(site, POPULATION_SQL, [2019, 2019]))
    assert _sample(site, 1) == _by_hand(site, 5, 10, (2019, 2019))


def test_sample_is_recorded_in_the_warehouse(site, capsys):
    res = _draw(capsys, "--size", "25", "--seed", "9")
    [row] = _query(
        site,
        "SELECT seed, fiscal_years, fiscal_year_from, fiscal_year_to, population, sample_size, "
        "sample_scrs, population_scrs, method, drawn_at IS NOT NULL FROM audit_samples",
    )
    assert row[:6] == (9, "FY2017-FY2022", 2017, 2022, res["population"], 25)
    scrs_of_sample, scrs_of_population = _query(
        site,
        "SELECT count(*) FILTER (case_number IN (SELECT case_number FROM audit_sample_cases)), "
        "count(*) FROM scr_current WHERE counted AND fiscal_year BETWEEN 2017 AND 2022",
    )[0]
    assert row[6:] == (scrs_of_sample, scrs_of_population, "sha256-rank", True)
    [(pop_rows,)] = _query(site, "SELECT count(*) FROM audit_sample_population")
    assert pop_rows == res["population"]


def test_exports_parquet_and_worksheet(site, capsys):
    _draw(capsys, "--size", "12", "--seed", "3")
    root = site / "output" / "audit_sample"
    table = ds.dataset(root, partitioning="hive").to_table()  # worksheet dir is skipped
    assert table.column("sample_id").to_pylist() == [1] * 12
    assert table.column("case_number").to_pylist() == _sample(site, 1)
    with open(root / "_worksheets" / "review_worksheet_sample_1.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == WORKSHEET_COLUMNS
    assert [r["case_number"] for r in rows] == _sample(site, 1)
    assert all(r[c] == "" for r in rows for c in WORKSHEET_COLUMNS[6:])
    first = rows[0]
    scr_ids = _query(
        site,
        "SELECT scr_id FROM scr_current WHERE case_number = ? AND counted "
        "AND fiscal_year BETWEEN 2017 AND 2022 ORDER BY approved_date, scr_id",
        [first["case_number"]],
    )
    assert int(first["scr_count"]) == len(scr_ids)
    assert [part.split(" ")[0] for part in first["scrs"].split("; ")] == [r[0] for r in scr_ids]


def test_text_output_names_the_files(site, capsys):
    assert _run(["audit", "draw", "--size", "5", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "Drew sample 1: 5 of " in out
    assert "review_worksheet_sample_1.csv" in out and "review_worksheet_sample_1.xlsx" in out
    assert "case_reviews_<YYYY-MM-DD>.xlsx (or .csv)" in out


def test_the_excel_worksheet_is_exported_and_a_refresh_keeps_its_bytes(site, capsys):
    import openpyxl

    _draw(capsys, "--size", "12", "--seed", "3")
    path = site / "output" / "audit_sample" / "_worksheets" / "review_worksheet_sample_1.xlsx"
    first = path.read_bytes()
    ws = openpyxl.load_workbook(path)["Reviews"]
    assert [c.value for c in ws[1]] == WORKSHEET_COLUMNS
    assert [ws.cell(r, 2).value for r in range(2, 14)] == _sample(site, 1)
    assert ws.max_row == 13
    refresh_in_memory()  # republishes whatever differs from what the warehouse implies
    assert path.read_bytes() == first


def test_draw_help_says_how_many_cases_give_five_points():
    import subprocess

    from support.project import console_script

    from assets.audit.stats import sample_size

    out = subprocess.run(
        [str(console_script()), "audit", "draw", "--help"], capture_output=True, text=True
    ).stdout
    text = " ".join(out.split())
    assert "within +/- 5 points at 90% confidence" in text
    assert sample_size(5016, 0.90, 0.05, 0.5)["n"] == 258
    assert "draw 258 cases from a population of 5,016 (271 from a very large one)" in text
    assert (
        f"or {sample_size(5016, 0.90, 0.05, 0.9)['n']} (98) if agreement is expected near 90%"
        in text
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "100000", "--seed", "1"], "larger than the population"),
        (["--fiscal-years", "2031", "--seed", "1"], "no case has a counted"),
    ],
)
def test_bad_draws_are_refused_with_a_message(site, capsys, args, message):
    assert _run(["audit", "draw", *args]) == 1
    assert message in capsys.readouterr().err
    assert _query(site, "SELECT count(*) FROM audit_samples") == [(0,)]


def test_bad_fiscal_years_are_a_usage_error(site, capsys):
    assert _run(["audit", "draw", "--fiscal-years", "2022-2017", "--seed", "1"]) == 2
    assert "first year is after the last" in capsys.readouterr().err


def test_refresh_does_not_draw_and_empty_warehouse_is_refused(site, capsys, tmp_path):
    assert _query(site, "SELECT count(*) FROM audit_samples") == [(0,)]
    (site / "warehouse.duckdb").unlink()
    assert _run(["audit", "draw", "--seed", "1"]) == 1
    assert "run `scr-pipeline refresh` before drawing" in capsys.readouterr().err


def test_draw_is_a_job_not_part_of_the_refresh():
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_plan import INGEST, MEASURES, PUBLISH, stage_keys

    staged = {k.to_user_string() for s in (INGEST, MEASURES, PUBLISH) for k in stage_keys(defs, s)}
    assert "audit_samples" not in staged
    assert {"case_review_findings", "case_review_current", "audit_projection"} <= staged
    assert defs.resolve_job_def("audit_draw").tags["scr/warehouse-writer"] == "true"
