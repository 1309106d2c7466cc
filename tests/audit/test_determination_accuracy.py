"""Determination accuracy, the measure estimate, the V&V wording, ``explain`` and the
``validation_sample_due`` check, end to end: a hand-written FY2024 extract of six cases is
refreshed, a sample of four is drawn through the CLI, reviews are landed and the real refresh
publishes determination_accuracy.parquet and measure_estimates.parquet, read back here.

The fixture (every SCR approved in FY2024 unless said; ``det`` = determination, ``box`` =
tco_involvement) and the reviews:

    case  SCRs (counted disruptions/dismantlements)              review (A, B)  verdict
    C1    S11 TCO box Y, S12 TCO box '', S13 TCO box Y           Y, Y           TCO
          (+ S14 INITIAL, S15 pending, S16 approved FY2023, S17 quarantined: not counted)
    C2    S21 TCO box Y, S22 TCO box ''                           Y, N           NOT_TCO
    C3    S31 NON_TCO box ''                                      Y, Y           TCO
    C4    S41 UNDETERMINED box '', S42 NON_TCO box N              N, N           NOT_TCO
    C5    S51, S52 TCO (not sampled)
    C6    S61 TCO (not sampled)

Seed 11 ranks the cases C3, C2, C4, C1, C5, C6 by sha256("11:<case>"), so size 4 draws C1-C4.
"""

from __future__ import annotations

import html
import json
import re

import dagster as dg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.extracts import GANGS, scr, write_csv

from pipelines.cli.main import main

CHECK = dg.AssetCheckKey(dg.AssetKey("annual_measures"), "validation_sample_due")
T = {"subjects": "3", "countries": "US;MX"}  # both prongs met: TCO
SCRS = [
    scr("S11", "C1", "DISRUPTION", GANGS, "2023-11-01", tco="Y", **T),
    scr("S12", "C1", "DISMANTLEMENT", GANGS, "2024-02-01", subjects="2", countries="MX"),
    scr("S13", "C1", "DISRUPTION", GANGS, "2024-05-01", tco="Y", **T),
    scr("S14", "C1", "INITIAL", GANGS, "2023-10-15", **T),
    scr("S15", "C1", "DISRUPTION", GANGS, "", status="PENDING", **T),
    scr("S16", "C1", "DISRUPTION", GANGS, "2023-09-15", **T),
    scr("S17", "C1", "DISRUPTION", "Not a category", "2024-03-03", **T),  # quarantined
    scr("S21", "C2", "DISRUPTION", GANGS, "2023-12-01", tco="Y", **T),
    scr("S22", "C2", "DISMANTLEMENT", GANGS, "2024-03-01", subjects="5", countries="GT"),
    scr("S31", "C3", "DISRUPTION", GANGS, "2024-01-10", subjects="1", countries="US"),
    scr("S41", "C4", "DISRUPTION", GANGS, "2024-04-01"),
    scr("S42", "C4", "DISRUPTION", GANGS, "2024-06-01", tco="N"),
    scr("S51", "C5", "DISRUPTION", GANGS, "2024-01-02", **T),
    scr("S52", "C5", "DISMANTLEMENT", GANGS, "2024-07-02", **T),
    scr("S61", "C6", "DISRUPTION", GANGS, "2024-08-03", **T),
]
REVIEWS = {"C1": ("Y", "Y"), "C2": ("Y", "N"), "C3": ("Y", "Y"), "C4": ("N", "N")}


def _html_tables(page: str) -> dict[str, list[dict[str, str]]]:
    """Every <table id=...> of the page: its body rows as {data-col: text}."""
    out = {}
    for tid, body in re.findall(r'<table id="([^"]+)">.*?<tbody>(.*?)</tbody>', page, re.S):
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        cells = [re.findall(r'<td data-col="([^"]+)"[^>]*>(.*?)</td>', r, re.S) for r in rows]
        out[tid] = [{k: html.unescape(v) for k, v in c} for c in cells]
    return out


def _check_status(p) -> tuple[str, str | None]:
    """(WARN or PASSED, the draw command the check's description names)."""
    ev = p.instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK])[
        CHECK
    ].evaluation
    said = re.search(r"`(scr-pipeline audit draw [^`]*)`", ev.description or "")
    return ("PASSED" if ev.passed else ev.severity.value), said and said.group(1)


@pytest.fixture(scope="module")
def site(module_project, tmp_path_factory):
    """Refresh, draw, review, refresh: the project and the check's verdict before the reviews."""
    p = module_project
    write_csv(p.landing / "scr_extract_2024-10-15.csv", SCRS)
    p.refresh()
    before = _check_status(p)
    with pytest.raises(SystemExit) as exc:
        main(["audit", "draw", "--fiscal-years", "2024", "--size", "4", "--seed", "11", "--json"])
    assert exc.value.code == 0
    reviews = [
        {"case_number": c, "reviewed_on": "2024-11-20", "association_of_individuals": a,
         "crosses_international_border": b, "notes": ""}
        for c, (a, b) in REVIEWS.items()
    ]  # fmt: skip
    write_csv(p.landing / "case_reviews_2024-11-20.csv", reviews, list(reviews[0]))
    p.refresh()
    return p, before


def test_the_sample_is_the_four_cases_the_docstring_says(site):
    p, _ = site
    assert p.query("SELECT list(case_number ORDER BY draw_order) FROM audit_sample_cases") == [
        (["C3", "C2", "C4", "C1"],)
    ]


def test_accuracy_table_counts_each_source_value_verdict_cell(site):
    p, _ = site
    got = p.read_output(
        "SELECT sample_id, fiscal_year, source, value, analyst_verdict, scrs "
        "FROM '{out}/determination_accuracy.parquet' ORDER BY ALL"
    )
    assert got == [
        (1, 2024, "checkbox", "", "NOT_TCO", 2),  # S22, S41
        (1, 2024, "checkbox", "", "TCO", 2),  # S12, S31
        (1, 2024, "checkbox", "N", "NOT_TCO", 1),  # S42
        (1, 2024, "checkbox", "Y", "NOT_TCO", 1),  # S21
        (1, 2024, "checkbox", "Y", "TCO", 2),  # S11, S13
        (1, 2024, "determination", "NON_TCO", "NOT_TCO", 1),  # S42
        (1, 2024, "determination", "NON_TCO", "TCO", 1),  # S31
        (1, 2024, "determination", "TCO", "NOT_TCO", 2),  # S21, S22
        (1, 2024, "determination", "TCO", "TCO", 3),  # S11, S12, S13
        (1, 2024, "determination", "UNDETERMINED", "NOT_TCO", 1),  # S41
    ]


def test_agreement_rate_shares_and_kappa_worked_by_hand(site):
    """determination: 2x2 (TCO, NON_TCO) x (TCO, NOT_TCO) = [[3, 2], [1, 1]], 7 compared, S41
    (UNDETERMINED) apart. agreement 4/7; rejected 2/5; accepted 1/2; chance agreement
    (5*4 + 2*3)/49 = 26/49, kappa (28/49 - 26/49)/(23/49) = 2/23.
    checkbox: [[2, 1], [0, 1]] (Y, N), 4 compared, 4 empty apart: agreement 3/4, rejected 1/3,
    accepted 0/1, chance (3*2 + 1*2)/16 = 1/2, kappa (3/4 - 1/2)/(1/2) = 1/2."""
    p, _ = site
    rows = p.query(
        "SELECT fiscal_year, source, compared, not_compared, agreement, tco_rejected, "
        "non_tco_accepted, kappa FROM determination_agreement ORDER BY fiscal_year, source"
    )
    det = (7, 1, 4 / 7, 2 / 5, 1 / 2, 2 / 23)
    box = (4, 4, 3 / 4, 1 / 3, 0.0, 1 / 2)
    expected = [(2024, "checkbox", *box), (2024, "determination", *det)]
    expected += [(None, "checkbox", *box), (None, "determination", *det)]  # all years: the same
    assert [r[:4] for r in rows] == [e[:4] for e in expected]
    for r, e in zip(rows, expected, strict=True):
        assert r[4:] == pytest.approx(e[4:])
    meta = p.instance.get_latest_materialization_event(dg.AssetKey("determination_accuracy"))
    md = meta.asset_materialization.metadata
    assert md["agreement_rate"].value == pytest.approx(4 / 7)
    assert md["cohens_kappa"].value == pytest.approx(2 / 23)
    assert md["share_tco_rejected"].value == pytest.approx(0.4)
    assert md["share_non_tco_accepted"].value == pytest.approx(0.5)


def test_measure_estimate_worked_by_hand(site):
    """x = (3, 2, 1, 2) for C1-C4 in case order, y = (3, 0, 1, 0); N = 6 cases, X = 11 counted DD
    SCRs in FY2024 (3+2+1+2+2+1), 8 of them determined TCO. R = 4/8 = 0.5, X R = 5.5 -> 6
    (half up). y - R x = (1.5, -1, 0.5, -1), squares 4.5, s^2 = 4.5/3 = 1.5;
    v = 36 (1 - 4/6) / 4 * 1.5 = 4.5, se = 2.1213; 5.5 -/+ 1.6449 * 2.1213 = 2.01 .. 8.99,
    floored/ceiled 2 .. 9, clipped to [sum y, X - sum(x - y)] = [4, 11 - 4] = [4, 7]."""
    p, _ = site
    rows = p.read_output(
        "SELECT sample_id, fiscal_year, dd_total, dd_tco_published, population_cases, "
        "reviewed_cases, estimate, lower_bound, upper_bound, confidence, method, standard_error, "
        "note FROM '{out}/measure_estimates.parquet'"
    )
    assert len(rows) == 1
    assert rows[0][:11] == (1, 2024, 11, 8, 6, 4, 6, 4, 7, 0.9, "ratio")
    assert rows[0][11] == pytest.approx(4.5**0.5) and rows[0][12] is None


def test_vv_statement_states_accuracy_and_interval(site):
    p, _ = site
    (c, d), = p.query("SELECT element_c, element_d FROM vv_statement WHERE fiscal_year = 2024")  # fmt: skip
    said = (
        "The analysts' review of 4 sampled cases (audit sample 1) agreed with the automated "
        "determination for 57% of their SCRs (7 compared, 1 UNDETERMINED not compared); the "
        "estimated number of TCO-related disruptions and dismantlements is 6, 90% confidence "
        "interval 4 to 7, against 8 published."
    )
    assert said in c
    assert "the estimated true number is 6, 90% confidence interval 4 to 7" in d
    (c23,), = p.query("SELECT element_c FROM vv_statement WHERE fiscal_year = 2023")  # fmt: skip
    assert "No reviewed audit sample covers FY2023" in c23


def test_explain_shows_the_analysts_verdict_beside_the_determination(site, capsys):
    for scr_id, line in {
        "S21": "analysts' verdict: NOT_TCO (audit sample 1, reviewed 2024-11-20: "
        "association_of_individuals=Y, crosses_international_border=N); disagrees with the "
        "determination TCO",
        "S11": "analysts' verdict: TCO (audit sample 1, reviewed 2024-11-20: "
        "association_of_individuals=Y, crosses_international_border=Y); agrees with the "
        "determination TCO",
        "S41": "; the determination is UNDETERMINED: not compared",
    }.items():
        with pytest.raises(SystemExit) as exc:
            main(["explain", scr_id])
        assert exc.value.code == 0
        assert line in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["explain", "S51"])  # C5 was not sampled: no verdict line
    assert "analysts' verdict" not in capsys.readouterr().out


def test_validation_sample_due_warns_until_the_latest_year_is_reviewed(site):
    p, before = site
    assert before == (
        "WARN",
        "scr-pipeline audit draw --design stratified --fiscal-year 2024 --seed S",
    )  # nothing drawn
    assert _check_status(p) == ("PASSED", None)


def test_verify_reproduces_the_new_outputs(site):
    p, _ = site
    assert p.verify() == []
    manifest = json.loads((p.output / "_manifest.json").read_text())
    names = json.dumps(manifest)
    assert "determination_accuracy.parquet" in names and "measure_estimates.parquet" in names


def test_report_shows_agreement_and_estimate(site):
    """report/index.html: the accuracy section's two tables hold the hand-worked figures."""
    p, _ = site
    tables = _html_tables((p.output / "report" / "index.html").read_text(encoding="utf-8"))
    acc = tables["accuracy-table"]
    assert [(r["fiscal_year"], r["source"], r["agreement"], r["kappa"]) for r in acc] == [
        ("FY2024", "Determination", "57.1%", "0.09"),
        ("FY2024", "Checkbox", "75.0%", "0.50"),
        ("all years", "Determination", "57.1%", "0.09"),
        ("all years", "Checkbox", "75.0%", "0.50"),
    ]
    assert (acc[0]["tco_rejected"], acc[0]["non_tco_accepted"], acc[0]["not_compared"]) == (
        "40.0%", "50.0%", "1",
    )  # fmt: skip
    (est,) = tables["estimates-table"]
    assert (est["estimate"], est["lower_bound"], est["upper_bound"]) == ("6", "4", "7")
    assert (est["dd_tco_published"], est["reviewed_cases"]) == ("8", "4")


def test_rejected_reviews_cases_without_scrs_and_the_latest_sample(site, tmp_path):
    """On a copy of the warehouse: a second sample (FY2023-FY2024, the same four cases, N = 9)
    and C4's review rejected by a rule; a third sample whose only case (C5) has no review gets no
    rows. FY2023: only C1 has a counted DD SCR (S16, TCO), yet
    all three reviewed cases count in n: x = (1, 0, 0), y = (1, 0, 0), R = 1, X = 1 -> 1 (1 to
    1). FY2024 without C4: x = (3, 2, 1), y = (3, 0, 1), R = 4/6, X R = 7.33 -> 7;
    y - R x = (1, -4/3, 1/3), s^2 = (1 + 16/9 + 1/9) / 2 = 13/9, v = 81 (1 - 3/9) / 3 * 13/9 = 26,
    7.33 -/+ 1.6449 * 5.099 = -1.05 .. 15.72, clipped to [4, 11 - 2] = [4, 9]. Agreement 3 of 6
    compared SCRs (S31 NON_TCO judged TCO, S21/S22 TCO judged not) = 50%. The V&V statement of
    FY2024 now uses sample 2."""
    import shutil

    import duckdb

    from assets.audit.accuracy import build_accuracy
    from assets.audit.estimates import build_estimates
    from assets.audit.vv_statement import statement_rows

    p, _ = site
    db = tmp_path / "copy.duckdb"
    shutil.copy(p.warehouse, db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "INSERT INTO audit_samples SELECT 2, seed, 'FY2023-FY2024', 2023, 2024, 9, "
            "population_scrs, sample_size, sample_scrs, method, drawn_at, run_id "
            "FROM audit_samples WHERE sample_id = 1"
        )
        con.execute(
            "INSERT INTO audit_sample_cases SELECT * REPLACE (2 AS sample_id) "
            "FROM audit_sample_cases WHERE sample_id = 1"
        )
        con.execute(
            "UPDATE case_review_current SET rejected = true, status = 'rejected', "
            "analyst_verdict = NULL WHERE case_number = 'C4'"
        )
        # sample 3: only C5, never reviewed -> no rows in either table
        con.execute(
            "INSERT INTO audit_samples SELECT 3, seed, fiscal_years, fiscal_year_from, "
            "fiscal_year_to, 6, population_scrs, 1, 2, method, drawn_at, run_id "
            "FROM audit_samples WHERE sample_id = 1"
        )
        con.execute(
            "INSERT INTO audit_sample_cases SELECT 3, 'C5', 1, criminal_category, field_office, "
            "2, scr_ids, scr_types, approved_dates, scrs FROM audit_sample_cases "
            "WHERE sample_id = 1 AND draw_order = 1"
        )
        build_accuracy(con)
        table = build_estimates(con).to_pylist()
        assert sorted({r["sample_id"] for r in table}) == [1, 2]
        est = {r["fiscal_year"]: r for r in table if r["sample_id"] == 2}
        assert con.execute(
            "SELECT DISTINCT sample_id FROM determination_accuracy ORDER BY 1"
        ).fetchall() == [(1,), (2,)]
        cells = con.execute(
            "SELECT fiscal_year, value, analyst_verdict, scrs FROM determination_accuracy "
            "WHERE sample_id = 2 AND source = 'determination' ORDER BY ALL"
        ).fetchall()
        vv = {r["fiscal_year"]: r for r in statement_rows(con).to_pylist()}
    assert cells == [
        (2023, "TCO", "TCO", 1),
        (2024, "NON_TCO", "TCO", 1),
        (2024, "TCO", "NOT_TCO", 2),
        (2024, "TCO", "TCO", 3),
    ]
    e23, e24 = est[2023], est[2024]
    assert (e23["reviewed_cases"], e23["dd_total"], e23["estimate"]) == (3, 1, 1)
    assert (e23["lower_bound"], e23["upper_bound"], e23["population_cases"]) == (1, 1, 9)
    assert (e24["reviewed_cases"], e24["reviewed_scrs"], e24["reviewed_tco_scrs"]) == (3, 6, 4)
    assert (e24["estimate"], e24["lower_bound"], e24["upper_bound"]) == (7, 4, 9)
    assert e24["standard_error"] == pytest.approx(26**0.5)
    assert vv[2024]["accuracy_sample_id"] == 2
    assert (
        "(audit sample 2) agreed with the automated determination for 50%" in vv[2024]["element_c"]
    )


def _agreement(cells: list[tuple]) -> list[tuple]:
    """AGREEMENT_SQL over a hand-made determination_accuracy table (in-memory DuckDB)."""
    import duckdb

    from assets.audit.accuracy import AGREEMENT_SQL

    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE determination_accuracy (sample_id INTEGER, fiscal_year INTEGER, "
            "source VARCHAR, value VARCHAR, analyst_verdict VARCHAR, scrs BIGINT)"
        )
        if cells:
            con.executemany(
                "INSERT INTO determination_accuracy VALUES (1, 2024, ?, ?, ?, ?)", cells
            )
        return con.execute(
            f"SELECT compared, not_compared, agreement, tco_rejected, non_tco_accepted, kappa "
            f"FROM ({AGREEMENT_SQL}) WHERE fiscal_year IS NOT NULL AND source = 'determination'"
        ).fetchall()


def test_kappa_is_zero_at_chance_agreement_and_null_without_a_denominator():
    """90% determined TCO, 90% judged TCO, independent: a, b, c, d = 81, 9, 9, 1; agreement
    82% = pe = 0.9*0.9 + 0.1*0.1, so kappa 0 (docs/audit-statistics.md)."""
    cells = [("determination", "TCO", "TCO", 81), ("determination", "TCO", "NOT_TCO", 9),
             ("determination", "NON_TCO", "TCO", 9), ("determination", "NON_TCO", "NOT_TCO", 1)]  # fmt: skip
    ((m, skipped, agree, rejected, accepted, kappa),) = _agreement(cells)
    assert (m, skipped) == (100, 0)
    assert (agree, rejected, accepted, kappa) == pytest.approx((0.82, 0.1, 0.9, 0.0), abs=1e-12)
    # only UNDETERMINED: nothing compared, every measure null
    only = _agreement([("determination", "UNDETERMINED", "TCO", 5)])
    assert only == [(0, 5, None, None, None, None)]
    # all TCO and all judged TCO: pe = 1, kappa null; agreement 1
    assert _agreement([("determination", "TCO", "TCO", 4)]) == [(4, 0, 1.0, 0.0, None, None)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=5, max_size=5))
def test_agreement_sql_equals_the_formulas(counts):
    a, b, c, d, u = counts
    cells = [
        ("determination", v, w, n)
        for (v, w), n in zip(
            [("TCO", "TCO"), ("TCO", "NOT_TCO"), ("NON_TCO", "TCO"), ("NON_TCO", "NOT_TCO"),
             ("UNDETERMINED", "NOT_TCO")],
            counts, strict=True,
        )
        if n
    ]  # fmt: skip
    rows = _agreement(cells)
    m = a + b + c + d
    if not cells:
        assert rows == []
        return
    ((got_m, got_u, agree, rejected, accepted, kappa),) = rows
    assert (got_m, got_u) == (m, u)
    if m == 0:
        assert agree is None and kappa is None
        return
    po = (a + d) / m
    pe = ((a + b) * (a + c) + (c + d) * (b + d)) / m**2
    assert agree == pytest.approx(po)
    assert rejected == (pytest.approx(b / (a + b)) if a + b else None)
    assert accepted == (pytest.approx(c / (c + d)) if c + d else None)
    assert kappa == (pytest.approx((po - pe) / (1 - pe)) if pe < 1 else None)
