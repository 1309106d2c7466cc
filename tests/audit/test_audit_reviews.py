"""Case reviews and the audit projection, end to end on a small demo dataset: draw a sample,
fill the worksheet programmatically with known answers, drop it into landing, refresh, and
read audit_projection.parquet back. Expected numbers are counted by hand from the answers
given and projected with assets.audit.stats.project; rule breaches become findings."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from support.project import copy_site, refreshed_demo

from assets.audit.stats import METHODS, project
from pipelines.cli.main import main

CHECK = dg.AssetCheckKey(dg.AssetKey("audit_projection"), "sample_complete")
CATEGORY_POPULATION_SQL = """
SELECT criminal_category, count(*) FROM (
    SELECT case_number, arg_min(criminal_category, approved_date::VARCHAR || scr_id) AS criminal_category
    FROM scr_current WHERE counted AND fiscal_year BETWEEN 2017 AND 2022 GROUP BY case_number)
GROUP BY ALL"""


def _refresh() -> str:
    """Refresh in-process; returns the status of the sample_complete check it evaluated."""
    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        run_refresh(defs, instance, progress=lambda s: None)
        rec = instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK])
        return rec[CHECK].status.value if CHECK in rec else "NOT_RUN"


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Path:
    return refreshed_demo(tmp_path_factory, _refresh)


@pytest.fixture()
def site(refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return copy_site(refreshed, tmp_path, monkeypatch)


def _draw(capsys, size: int, seed: int) -> dict:
    with pytest.raises(SystemExit) as exc:
        main(["audit", "draw", "--size", str(size), "--seed", str(seed), "--json"])
    assert exc.value.code == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _worksheet(site: Path, sample_id: int) -> list[dict[str, str]]:
    path = (
        site
        / "output"
        / "audit_sample"
        / "_worksheets"
        / f"review_worksheet_sample_{sample_id}.csv"
    )
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _land(site: Path, name: str, rows: list[dict[str, str]]) -> None:
    with open(site / "landing" / name, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _projection(site: Path, method: str = "normal") -> dict[tuple[str, str], dict]:
    rel = duckdb.sql(
        f"SELECT * FROM '{site / 'output' / 'audit_projection.parquet'}' WHERE method = ?",
        params=[method],
    )
    rows = [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    return {(r["dimension"], r["value"]): r for r in rows}


def _findings(site: Path) -> list[tuple]:
    return duckdb.sql(
        f"SELECT case_number, rule_id, severity FROM '{site / 'output' / 'validation_findings.parquet'}' "
        "WHERE extract_type = 'case_reviews' ORDER BY source_file, source_row, rule_id"
    ).fetchall()


def _answer(order: int) -> tuple[str, str]:
    """Known answers by draw order: 1 in 5 fail both prongs, 1 in 5 each prong alone."""
    return {0: ("N", "N"), 1: ("N", "Y"), 2: ("Y", "N")}.get(order % 5, ("Y", "Y"))


def _fill(rows: list[dict[str, str]], reviewed_on: str) -> list[dict[str, str]]:
    for r in rows:
        a, b = _answer(int(r["draw_order"]))
        r |= {"reviewed_on": reviewed_on, "association_of_individuals": a}
        r |= {"crosses_international_border": b, "notes": f"test answer {a}{b}"}
    return rows


def _expect(row: dict, population: int, n: int, k: int) -> None:
    assert (row["population"], row["sample_size"], row["exceptions"]) == (population, n, k)
    res = project(population, n, k, 0.90, row["method"])
    for key in ("point_estimate", "lower_bound", "upper_bound", "rate", "rate_lower"):
        assert row[key] == pytest.approx(res[key]), key


def test_review_round_trip_projects_from_the_worksheet(site, capsys):
    drawn = _draw(capsys, 30, 11)
    rows = _fill(_worksheet(site, drawn["sample_id"]), "2026-11-20")
    _land(site, "case_reviews_2026-11-20.csv", rows)
    assert _refresh() == "SUCCEEDED"  # every sampled case reviewed
    N = drawn["population"]
    by = _projection(site)
    overall = by[("overall", "all")]
    # orders 1..30: 6 each with order % 5 in {0, 1, 2} -> 18 exceptions
    assert overall["exceptions"] == 18 and overall["complete"] is True
    assert overall["point_estimate"] == int(N * 18 / 30 + 0.5)
    for method in METHODS:
        _expect(_projection(site, method)[("overall", "all")], N, 30, 18)
    for prong in ("no_association", "no_border_crossing", "both"):
        _expect(by[("failed_prong", prong)], N, 30, 6)
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        cat_population = dict(con.execute(CATEGORY_POPULATION_SQL).fetchall())
    sampled = Counter(r["criminal_category"] for r in rows)
    failed = Counter(r["criminal_category"] for r in rows if "N" in _answer(int(r["draw_order"])))
    assert sum(sampled.values()) == 30
    for category, population in cat_population.items():
        row = by[("criminal_category", category)]
        if sampled[category]:
            _expect(row, population, sampled[category], failed[category])
        else:
            assert row["sample_size"] == 0 and row["point_estimate"] is None
    assert _findings(site) == []


def test_later_reviews_replace_earlier_and_bad_rows_are_findings(site, capsys):
    drawn = _draw(capsys, 20, 5)
    rows = _worksheet(site, drawn["sample_id"])
    for r in rows:
        r |= {"reviewed_on": "2026-11-20", "association_of_individuals": "Y"}
        r |= {"crosses_international_border": "Y"}
    first = rows[:15] + [rows[15] | {"association_of_individuals": "yes"}]
    first += [rows[0] | {"case_number": "NOT-IN-SAMPLE"}]
    _land(site, "case_reviews_2026-11-20.csv", first)
    assert _refresh() == "FAILED"  # 15 of 20 reviewed; case 16's review was rejected
    overall = _projection(site)[("overall", "all")]
    assert (overall["sampled"], overall["sample_size"], overall["exceptions"]) == (20, 15, 0)
    assert overall["complete"] is False
    assert _findings(site) == [
        (rows[15]["case_number"], "cr.association_of_individuals.enum", "error"),
        ("NOT-IN-SAMPLE", "cr.case_number.in_sample", "error"),
    ]
    second = [rows[0] | {"reviewed_on": "2026-11-25", "association_of_individuals": "N"}]
    second += [rows[1] | {"reviewed_on": "2026-11-01", "association_of_individuals": "N"}]
    second += [
        r | {"reviewed_on": "2026-11-26", "crosses_international_border": "N"} for r in rows[15:]
    ]
    _land(site, "case_reviews_2026-11-27.csv", second)
    assert _refresh() == "SUCCEEDED"
    by = _projection(site)
    # case 1 replaced (later date) -> no association; case 2's older-dated review does not
    # replace; cases 16-20 -> no border crossing
    _expect(by[("overall", "all")], drawn["population"], 20, 6)
    _expect(by[("failed_prong", "no_association")], drawn["population"], 20, 1)
    _expect(by[("failed_prong", "no_border_crossing")], drawn["population"], 20, 5)
    _expect(by[("failed_prong", "both")], drawn["population"], 20, 0)


def test_review_landed_before_the_draw_is_rechecked_after_it(site, capsys):
    with duckdb.connect(str(site / "warehouse.duckdb"), read_only=True) as con:
        [(case, population)] = con.execute(
            "SELECT min(case_number) FILTER (fiscal_year = 2018), count(DISTINCT case_number) "
            "FROM scr_current WHERE counted AND fiscal_year BETWEEN 2017 AND 2022"
        ).fetchall()
    review = {"case_number": case, "reviewed_on": "2026-11-20"}
    review |= {"association_of_individuals": "N", "crosses_international_border": "N"}
    _land(site, "case_reviews_2026-11-20.csv", [review])
    _refresh()
    assert _findings(site) == [(case, "cr.case_number.in_sample", "error")]
    _draw(capsys, population, 1)  # the whole population: the case is now in a sample
    _land(site, "case_reviews_2026-11-21.csv", [review | {"reviewed_on": "2026-11-21"}])
    _refresh()
    assert _findings(site) == []
    assert _projection(site)[("overall", "all")]["exceptions"] == 1
