"""`audit plan` and `audit draw --design stratified` on a refreshed demo through the real Dagster
definitions: the frame is the year's counted DD SCRs, the strata follow the merge rule, the
sample is the documented SHA-256 ranking within each stratum with spares and second-review marks,
strata.parquet and frame.parquet are exported, and landed reviews give stratified rows of
measure_estimates.parquet equal to our own computation."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from support.project import copy_site, refresh_in_memory, refreshed_demo

from assets.audit.stats import _z
from assets.audit.stratified import MIN_STRATUM_POPULATION, estimate_bounds
from pipelines.cli.main import main

FY = 2024
FRAME_SQL = """SELECT scr_id, case_number, determination, criminal_category FROM scr_current
WHERE counted AND scr_type IN ('DISRUPTION', 'DISMANTLEMENT') AND fiscal_year = ?"""
WORKSHEET = ["case_number", "stratum", "spare", "second_review", "scrs", "reviewed_on",
             "association_of_individuals", "crosses_international_border", "review_outcome",
             "reviewer", "review_role", "notes"]  # fmt: skip


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


def _json(capsys, *argv: str) -> dict:
    assert _run([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Path:
    return refreshed_demo(tmp_path_factory, refresh_in_memory)


@pytest.fixture()
def site(refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_site(refreshed, tmp_path, monkeypatch)


def _query(site: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_plan_frame_strata_and_target(site, capsys):
    res = _json(capsys, "audit", "plan", "--fiscal-year", str(FY), "--precision", "0.2")
    frame = _query(site, FRAME_SQL, [FY])
    assert res["frame_scrs"] == len(frame) > 0
    assert res["published_tco"] == sum(1 for r in frame if r[2] == "TCO")
    assert sum(s["population"] for s in res["strata"]) == len(frame)
    cells: dict[tuple, int] = {}
    for _, _, det, cat in frame:
        cells[(det, cat)] = cells.get((det, cat), 0) + 1
    for s in res["strata"]:  # big cells are their own stratum; small ones are merged
        if not s["stratum"].endswith("other categories"):
            size = cells[(s["determination"], s["criminal_category"])]
            assert size == s["population"]
    merged = {k for k, n in cells.items() if n < MIN_STRATUM_POPULATION}
    assert sum(1 for s in res["strata"] if s["stratum"].endswith("other categories")) == len(
        {d for d, _ in merged if sum(1 for m in merged if m[0] == d) > 1}
    )
    assert (
        res["expected_half_width"]
        <= res["target_half_width"]
        == pytest.approx(0.2 * res["published_tco"])
    )
    assert all(
        min(10, s["population"]) <= s["sample_size"] <= s["population"] for s in res["strata"]
    )
    assert res["rates_from"] == "defaults (no reviewed sample)"
    assert {s["determination"]: s["anticipated_rate"] for s in res["strata"]}.get("TCO") == 0.8
    assert _run(["audit", "plan", "--fiscal-year", str(FY), "--rate", "TCO / Nowhere=0.5"]) == 1
    assert "--rate names no stratum of FY2024: TCO / Nowhere" in capsys.readouterr().err
    # a rate override changes the anticipated rate of every stratum of the determination
    over = _json(capsys, "audit", "plan", "--fiscal-year", str(FY), "--rate", "TCO=0.99")
    assert {s["anticipated_rate"] for s in over["strata"] if s["determination"] == "TCO"} == {0.99}


def test_draw_is_the_documented_ranking_with_spares_and_second_review(site, capsys):
    args = ["audit", "draw", "--design", "stratified", "--fiscal-year", str(FY), "--seed", "29"]
    res = _json(capsys, *args, "--precision", "0.2", "--second-review", "0.25")
    sid = res["sample_id"]
    strata = {r[0]: r[1:] for r in _query(site, "SELECT stratum, population, sample_size, spares "
                                           "FROM audit_sample_strata WHERE sample_id = ?", [sid])}  # fmt: skip
    assert {s["stratum"]: s["sample_size"] for s in res["plan"]["strata"]} == {
        k: v[1] for k, v in strata.items()
    }
    rows = _query(site, "SELECT scr_id, stratum, rank, role, case_number, second_review "
                  "FROM audit_sample_frame WHERE sample_id = ?", [sid])  # fmt: skip
    assert len(rows) == res["population_scrs"] == len(_query(site, FRAME_SQL, [FY]))
    for stratum, (population, n_h, spares) in strata.items():
        mine = sorted((r for r in rows if r[1] == stratum), key=lambda r: r[2])
        by_hand = sorted(
            mine, key=lambda r: (hashlib.sha256(f"29:{r[0]}".encode()).hexdigest(), r[0])
        )
        assert [r[0] for r in mine] == [r[0] for r in by_hand]
        assert [r[3] for r in mine] == ["sample"] * n_h + ["spare"] * spares + ["none"] * (
            population - n_h - spares
        )
        assert spares == min(2, population - n_h)
    sampled_cases = sorted({r[4] for r in rows if r[3] == "sample"})
    recorded = _query(site, "SELECT method, fiscal_years, population, population_scrs, "
                      "sample_size, sample_scrs FROM audit_samples WHERE sample_id = ?", [sid])  # fmt: skip
    assert recorded == [("stratified", f"FY{FY}", len({r[4] for r in rows}), len(rows),
                         len(sampled_cases), sum(r[3] == "sample" for r in rows))]  # fmt: skip
    marked = sorted({r[4] for r in rows if r[5]})
    key = lambda c: (hashlib.sha256(f"29:second:{c}".encode()).hexdigest(), c)  # noqa: E731
    assert marked == sorted(sorted(sampled_cases, key=key)[: math.ceil(0.25 * len(sampled_cases))])
    listed = {r[0] for r in _query(site, "SELECT case_number FROM audit_sample_cases WHERE "
                                   "sample_id = ?", [sid])}  # fmt: skip
    assert listed == {r[4] for r in rows if r[3] in ("sample", "spare")}
    again = _json(capsys, *args, "--precision", "0.2", "--second-review", "0.25")
    rows2 = _query(site, "SELECT scr_id, stratum, rank, role, case_number, second_review "
                   "FROM audit_sample_frame WHERE sample_id = ?", [again["sample_id"]])  # fmt: skip
    assert sorted(rows2) == sorted(rows)

    out = site / "output" / "audit_sample" / f"sample_id={sid}"
    frame = pq.read_table(out / "frame.parquet")
    assert {"scr_id", "case_number", "stratum", "rank", "role"} <= set(frame.column_names)
    assert frame.num_rows == len(rows)
    assert {"stratum", "population", "sample_size"} <= set(
        pq.read_table(out / "strata.parquet").column_names
    )
    with open(res["worksheet"], newline="", encoding="utf-8") as f:
        sheet = list(csv.reader(f))
    assert sheet[0] == WORKSHEET
    assert {r[0] for r in sheet[1:]} == listed
    assert {r[0] for r in sheet[1:] if r[2] == "N"} == set(sampled_cases)
    assert {r[0] for r in sheet[1:] if r[3] == "Y"} == set(marked)
    import openpyxl

    ws = openpyxl.load_workbook(res["worksheet_xlsx"])["Reviews"]
    assert [c.value for c in ws[1]] == WORKSHEET and ws.max_row == len(sheet)
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert {'"REVIEWED,UNREVIEWABLE"', '"first,second,adjudication"', '"Y,N"'} <= lists


def test_reviews_give_stratified_estimates_equal_to_our_own_computation(site, capsys):
    res = _json(capsys, "audit", "draw", "--design", "stratified", "--fiscal-year", str(FY),
                "--seed", "5", "--precision", "0.2")  # fmt: skip
    sid = res["sample_id"]
    with open(res["worksheet"], newline="", encoding="utf-8") as f:
        sheet = list(csv.DictReader(f))
    verdict = {}  # seeded: every 7th case by hash is judged not TCO, the rest as determined
    for row in sheet:
        h = int(hashlib.sha256(row["case_number"].encode()).hexdigest(), 16)
        tco = row["stratum"].startswith("TCO") != (h % 7 == 0)
        verdict[row["case_number"]] = "TCO" if tco else "NOT_TCO"
        row |= {"reviewed_on": "2026-12-01", "association_of_individuals": "Y",
                "crosses_international_border": "Y" if tco else "N"}  # fmt: skip
    # the case of the first-ranked sampled SCR of the first stratum cannot be reviewed (its file
    # is missing): the next spare of its stratum takes its place in the estimate
    first = _query(site, "SELECT case_number FROM audit_sample_frame WHERE sample_id = ? AND "
                   "role = 'sample' ORDER BY stratum, rank LIMIT 1", [sid])[0][0]  # fmt: skip
    for row in sheet:
        if row["case_number"] == first:
            row |= {"association_of_individuals": "", "crosses_international_border": "",
                    "review_outcome": "UNREVIEWABLE", "notes": "case file missing"}  # fmt: skip
    verdict.pop(first)
    landing = site / "landing" / "case_reviews_2026-12-01.csv"
    with open(landing, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(sheet[0]))
        w.writeheader()
        w.writerows(sheet)
    refresh_in_memory()

    est = pq.read_table(site / "output" / "measure_estimates.parquet").to_pylist()
    mine = [r for r in est if r["sample_id"] == sid and r["method"] == "stratified"]
    overall = next(r for r in mine if r["criminal_category"] is None)
    frame = _query(site, "SELECT stratum, rank, role, case_number FROM audit_sample_frame "
                   "WHERE sample_id = ?", [sid])  # fmt: skip
    strata = _query(site, "SELECT stratum, population, sample_size FROM audit_sample_strata "
                    "WHERE sample_id = ? ORDER BY stratum", [sid])  # fmt: skip
    big_n, n, x = [], [], []
    for stratum, population, n_h in strata:
        ranked = sorted(
            (r for r in frame if r[0] == stratum and r[2] in ("sample", "spare")),
            key=lambda r: r[1],
        )
        used = [r for r in ranked if r[3] != first][:n_h]
        assert all(r[3] in verdict for r in used)
        big_n.append(population)
        n.append(n_h)
        x.append(sum(verdict[r[3]] == "TCO" for r in used))
    seen = [verdict.get(r[3]) for r in frame]
    ours = estimate_bounds(
        big_n, n, x, _z(0.9), seen.count("TCO"), len(frame) - seen.count("NOT_TCO")
    )
    assert (overall["estimate"], overall["lower_bound"], overall["upper_bound"]) == (
        int(ours["estimate"]), int(ours["lower_bound"]), int(ours["upper_bound"]),
    )  # fmt: skip
    assert overall["reviewed_scrs"] == sum(n) and overall["fiscal_year"] == FY
    status = _query(site, "SELECT status FROM case_review_current WHERE case_number = ?", [first])
    assert status == [("unreviewable",)]
    categories = {r["criminal_category"] for r in mine} - {None}
    assert categories == {r[0] for r in _query(
        site, "SELECT DISTINCT criminal_category FROM audit_sample_frame WHERE sample_id = ?", [sid]
    )}  # fmt: skip
    assert sum(r["dd_total"] for r in mine if r["criminal_category"]) == overall["dd_total"]
    due = _query(site, "SELECT list(DISTINCT fiscal_year) FROM measure_estimates")[0][0]
    assert FY in due
    vv = {
        r["fiscal_year"]: r
        for r in pq.read_table(site / "output" / "vv_statement.parquet").to_pylist()
    }
    planned = f"planned precision +/- {res['plan']['expected_half_width']:.1f} SCRs"
    achieved = f"achieved +/- {(overall['upper_bound'] - overall['lower_bound']) / 2:.1f}"
    assert "stratified validation sample of FY2024" in vv[FY]["element_c"]
    assert planned in vv[FY]["element_c"] and achieved in vv[FY]["element_c"]
    assert f"audit sample {sid}, stratified estimate ({planned}" in vv[FY]["element_d"]
    html = (site / "output" / "report" / "index.html").read_text(encoding="utf-8")
    estimates = html[html.index("Estimated truly TCO") :]
    assert ">stratified<" in estimates  # the overall row, named by its estimator
    assert estimates.count(">stratified<") == 1  # not one per category domain
