"""measure_estimates rows with method 'stratified' on a hand-worked fixture: the effective sample
(a spare replaces an unreviewable sampled SCR, in rank order), the per-stratum formula with the
Jeffreys-adjusted variance of a one-verdict stratum, clipping to what the reviews prove, the
per-category domain rows, and that the ratio estimator leaves stratified samples alone."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pytest

from assets.audit.estimates import build_estimates, sample_due
from assets.audit.sample import ensure_audit_tables

Z90 = 1.644853626951

# Stratum "TCO / A": 20 SCRs (T01..T20, case CT01..CT20), n_h = 5, 2 spares.
#   CT01 unreviewable -> spare T06 takes its place; CT02-CT04 and CT06 TCO, CT05 NOT_TCO:
#   n = 5, x = 4, p = 0.8, var = 20 * 15 * 0.8 * 0.2 / 4 = 12
# Stratum "NON_TCO / B": 12 SCRs (N01..N12), n_h = 4, all four NOT_TCO:
#   q = (0 + 0.5) / (4 + 1) = 0.1, var = 12 * 8 * 0.1 * 0.9 / 3 = 2.88
# total 16, se sqrt(14.88) = 3.857460, z se = 6.344961 -> 9.655 / 22.345 -> [10, 22]
# proven: at least 4 TCO seen, at most 32 - 5 NOT_TCO seen = 27
VERDICTS = {"CT02": "TCO", "CT03": "TCO", "CT04": "TCO", "CT05": "NOT_TCO", "CT06": "TCO",
            **{f"CN{i:02d}": "NOT_TCO" for i in range(1, 5)}}  # fmt: skip


def _fixture(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE scr_current (scr_id VARCHAR, case_number VARCHAR, scr_type VARCHAR, "
        "determination VARCHAR, criminal_category VARCHAR, fiscal_year INTEGER, counted BOOLEAN)"
    )
    ensure_audit_tables(con)
    frame = [(f"T{i:02d}", f"CT{i:02d}", "TCO / A", i, "TCO", "A") for i in range(1, 21)]
    frame += [(f"N{i:02d}", f"CN{i:02d}", "NON_TCO / B", i, "NON_TCO", "B") for i in range(1, 13)]
    for scr, case, stratum, rank, det, cat in frame:
        n_h = 5 if det == "TCO" else 4
        role = "sample" if rank <= n_h else "spare" if rank <= n_h + 2 else "none"
        con.execute("INSERT INTO scr_current VALUES (?, ?, 'DISRUPTION', ?, ?, 2024, true)",
                    [scr, case, det, cat])  # fmt: skip
        con.execute("INSERT INTO audit_sample_frame VALUES (1, ?, ?, ?, ?, ?, false, ?, ?)",
                    [scr, case, stratum, rank, role, det, cat])  # fmt: skip
        if role != "none":
            con.execute("INSERT INTO audit_sample_cases (sample_id, case_number, draw_order) "
                        "VALUES (1, ?, ?)", [case, rank])  # fmt: skip
    con.execute("INSERT INTO audit_sample_strata VALUES (1, 'TCO / A', 'TCO', 'A', 20, 5, 2, 0.8), "
                "(1, 'NON_TCO / B', 'NON_TCO', 'B', 12, 4, 2, 0.2)")  # fmt: skip
    con.execute("INSERT INTO audit_samples VALUES (1, 7, 'FY2024', 2024, 2024, 32, 32, 9, 9, "
                "'stratified', ?, '')", [dt.datetime(2026, 12, 1)])  # fmt: skip
    con.execute(
        "CREATE TABLE case_review_current (case_number VARCHAR, association_of_individuals "
        "VARCHAR, crosses_international_border VARCHAR, rejected BOOLEAN, status VARCHAR, "
        "analyst_verdict VARCHAR)"
    )
    rows = [(c, "Y" if v == "TCO" else "N", "Y", False, "reviewed", v) for c, v in VERDICTS.items()]
    rows.append(("CT01", None, None, False, "unreviewable", None))
    con.executemany("INSERT INTO case_review_current VALUES (?, ?, ?, ?, ?, ?)", rows)


@pytest.fixture
def con():
    c = duckdb.connect()
    _fixture(c)
    yield c
    c.close()


def _rows(con) -> dict:
    table = build_estimates(con).to_pylist()
    return {r["criminal_category"]: r for r in table if r["method"] == "stratified"}


def test_overall_row_by_hand(con):
    row = _rows(con)[None]
    assert (row["estimate"], row["lower_bound"], row["upper_bound"]) == (16, 10, 22)
    assert row["standard_error"] == pytest.approx(math.sqrt(14.88))
    assert (row["dd_total"], row["dd_tco_published"], row["fiscal_year"]) == (32, 20, 2024)
    assert (row["reviewed_scrs"], row["reviewed_tco_scrs"], row["reviewed_cases"]) == (9, 4, 9)
    assert row["note"] == "1 unreviewable sampled SCR(s) replaced by spares"
    assert row["ratio"] == pytest.approx(16 / 32)


def test_category_domains_by_hand(con):
    rows = _rows(con)
    # A = the TCO stratum alone: var 12, z sqrt(12) = 5.698 -> [10.30, 21.70] -> [10, 22],
    # clipped at what A's reviews prove: 20 SCRs, 1 seen NOT_TCO -> at most 19
    a = rows["A"]
    assert (a["estimate"], a["lower_bound"], a["upper_bound"]) == (16, 10, 19)
    # B: 0 seen TCO, var 2.88, z sqrt(2.88) = 2.791 -> [-2.79, 2.79] -> [0, 3] (lower clipped at 0)
    assert (rows["B"]["estimate"], rows["B"]["lower_bound"], rows["B"]["upper_bound"]) == (0, 0, 3)
    assert rows["B"]["dd_total"] == 12 and rows["B"]["dd_tco_published"] == 0


def test_clipped_to_what_the_reviews_prove(con):
    # every NON_TCO / B SCR but one seen NOT_TCO: at most 20 - 1 + 1 = ... the B domain <= 1
    con.executemany("INSERT INTO case_review_current VALUES (?, 'N', 'Y', false, 'reviewed', 'NOT_TCO')",
                    [[f"CN{i:02d}"] for i in range(5, 12)])  # fmt: skip
    con.executemany("INSERT INTO audit_sample_cases (sample_id, case_number, draw_order) VALUES (1, ?, 0)",
                    [[f"CN{i:02d}"] for i in range(5, 12)])  # fmt: skip
    row = _rows(con)["B"]
    assert (row["lower_bound"], row["upper_bound"]) == (0, 1)  # 12 SCRs, 11 seen NOT_TCO


def test_a_stratum_without_reviews_gives_no_estimate(con):
    con.execute("DELETE FROM case_review_current WHERE case_number LIKE 'CN%'")
    row = _rows(con)[None]
    assert row["estimate"] is None and "no reviewed SCR yet in 1 of 2 strata" in row["note"]


def test_ratio_rows_leave_stratified_samples_alone_and_the_check_sees_the_year(con):
    con.execute("CREATE TABLE annual_measures (fiscal_year INTEGER, quarters_reported INTEGER)")
    con.execute("INSERT INTO annual_measures VALUES (2024, 4)")
    table = build_estimates(con).to_pylist()
    assert {r["method"] for r in table} == {"stratified"}
    assert sample_due(con) == (2024, [2024])


def test_anticipated_rates_from_the_latest_reviewed_sample_else_defaults():
    from assets._shared.errors import PipelineError
    from assets.audit.stratified_sample import anticipated_rates, parse_rate_overrides

    c = duckdb.connect()
    assert anticipated_rates(c) == (
        {"TCO": 0.80, "NON_TCO": 0.20, "UNDETERMINED": 0.50},
        "defaults (no reviewed sample)",
    )
    c.execute("CREATE TABLE determination_accuracy (sample_id INTEGER, fiscal_year INTEGER, "
              "source VARCHAR, value VARCHAR, analyst_verdict VARCHAR, scrs BIGINT)")  # fmt: skip
    c.execute("INSERT INTO determination_accuracy VALUES (1, 2023, 'determination', 'TCO', 'TCO', 1), "
              "(2, 2024, 'determination', 'TCO', 'TCO', 18), (2, 2024, 'determination', 'TCO', "
              "'NOT_TCO', 2), (2, 2024, 'determination', 'NON_TCO', 'NOT_TCO', 9), "
              "(2, 2024, 'checkbox', 'Y', 'TCO', 18)")  # fmt: skip
    rates, source = anticipated_rates(c)
    # sample 2: TCO (18 + 1/2)/(20 + 1), NON_TCO (0 + 1/2)/(9 + 1); UNDETERMINED unseen: default
    assert rates == {"TCO": 18.5 / 21, "NON_TCO": 0.05, "UNDETERMINED": 0.5}
    assert source == "reviews of audit sample 2"
    assert parse_rate_overrides(["TCO=0.9", "NON_TCO / A, B=0.1"]) == {
        "TCO": 0.9,
        "NON_TCO / A, B": 0.1,
    }
    for bad in ("TCO", "TCO=1.5", "=0.3", "TCO=x"):
        with pytest.raises(PipelineError, match="expected STRATUM=P"):
            parse_rate_overrides([bad])
