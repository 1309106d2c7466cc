"""End to end on a hand-written history: the real Dagster job, a real DuckDB file, and the
published Parquet read back, against figures worked out by hand (see tests/support/extracts.py).

After file A and B (current records):
- FY2023 Q4: A1 INITIAL TCO.
- FY2024 Q1: A9 INITIAL TCO; disruptions A2 (TCO), A3 (no association), A5 (both), A6 (checkbox N),
  A7 (checkbox Y, data incomplete: TCO); dismantlement A8 (UNDETERMINED). A11 (no checkbox after
  2023-07-18) and A15 (later version with a bad scr_type) are quarantined; A10 is PENDING.
- FY2024 Q2: A12 INITIAL TCO (moved by its correction), A14 DISRUPTION TCO (tie: later row),
  A4 DISMANTLEMENT (no border crossing).
"""

from __future__ import annotations

import pytest
from support.extracts import FILE_A, FILE_B, write_csv

QUARTER_SQL = (
    "SELECT * EXCLUDE (quarter_start, quarter_end), CAST(quarter_start AS VARCHAR), "
    "CAST(quarter_end AS VARCHAR) FROM read_parquet('{out}/quarterly_measures/**/*.parquet', "
    "hive_partitioning = true) WHERE fiscal_year = %d AND fiscal_quarter = %d"
)

EXPECTED_AFTER_A_AND_B = {
    (2023, 4): dict(
        initial_approved=1,
        disruptions=0,
        dismantlements=0,
        dd_total=0,
        dd_tco=0,
        dd_non_tco=0,
        dd_undetermined=0,
        initial_tco=1,
        fytd_initial_approved=1,
        fytd_dd_total=0,
        fytd_dd_tco=0,
        fytd_initial_tco=1,
        pct_all=0.0,
        pct_tco=0.0,
        quarter_start="2023-07-01",
        quarter_end="2023-09-30",
    ),
    (2024, 1): dict(
        initial_approved=1,
        disruptions=5,
        dismantlements=1,
        dd_total=6,
        dd_tco=2,
        dd_non_tco=3,
        dd_undetermined=1,
        initial_tco=1,
        fytd_initial_approved=1,
        fytd_dd_total=6,
        fytd_dd_tco=2,
        fytd_initial_tco=1,
        pct_all=6.0,
        pct_tco=2.0,
        quarter_start="2023-10-01",
        quarter_end="2023-12-31",
    ),
    (2024, 2): dict(
        initial_approved=1,
        disruptions=1,
        dismantlements=1,
        dd_total=2,
        dd_tco=1,
        dd_non_tco=1,
        dd_undetermined=0,
        initial_tco=1,
        fytd_initial_approved=2,
        fytd_dd_total=8,
        fytd_dd_tco=3,
        fytd_initial_tco=2,
        pct_all=4.0,
        pct_tco=1.5,
        quarter_start="2024-01-01",
        quarter_end="2024-03-31",
    ),
}


def quarter(project, fy: int, q: int) -> dict:
    import duckdb

    with duckdb.connect() as con:
        cur = con.execute(QUARTER_SQL.replace("{out}", str(project.output)) % (fy, q))
        names = [d[0].replace("CAST(", "").replace(" AS VARCHAR)", "") for d in cur.description]
        rows = cur.fetchall()
    assert len(rows) == 1, f"expected one row for FY{fy} Q{q}, got {len(rows)}"
    return dict(zip(names, rows[0], strict=True))


@pytest.fixture(scope="module")
def refreshed(module_project):
    write_csv(module_project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    write_csv(module_project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    module_project.refresh()
    return module_project


@pytest.mark.parametrize("fy_q", sorted(EXPECTED_AFTER_A_AND_B))
def test_quarterly_measures_match_hand_computation(refreshed, fy_q):
    got = quarter(refreshed, *fy_q)
    for column, expected in EXPECTED_AFTER_A_AND_B[fy_q].items():
        assert got[column] == pytest.approx(expected), column


def test_only_quarters_with_counted_scrs_are_published(refreshed):
    keys = refreshed.read_output(
        "SELECT DISTINCT fiscal_year, fiscal_quarter FROM read_parquet("
        "'{out}/quarterly_measures/**/*.parquet', hive_partitioning = true) ORDER BY ALL"
    )
    assert keys == [(2023, 4), (2024, 1), (2024, 2)]


def test_category_measures_table2_shape(refreshed):
    rows = refreshed.read_output(
        "SELECT criminal_category, dd_total, dd_tco, dd_non_tco, no_association, "
        'no_border_crossing, "both", indicator_no, dd_undetermined FROM read_parquet('
        "'{out}/category_measures/**/*.parquet', hive_partitioning = true) "
        "WHERE fiscal_year = 2024 AND fiscal_quarter = 1 ORDER BY criminal_category"
    )
    got = {r[0]: r[1:] for r in rows}
    assert len(got) == 8  # every category, zeros included
    assert got["Transnational Gangs"] == (1, 1, 0, 0, 0, 0, 0, 0)
    assert got["Cyber-Enabled Crime"] == (1, 0, 1, 1, 0, 0, 0, 0)
    assert got["Illicit Trade, Travel, and Finance (Drug-Related)"] == (1, 0, 1, 0, 0, 1, 0, 0)
    assert got["Transnational Crimes Against Children"] == (1, 0, 1, 0, 0, 0, 1, 0)
    assert got["Counter-Proliferation"] == (1, 1, 0, 0, 0, 0, 0, 0)
    assert got["Worksite Enforcement/Labor Exploitation"] == (1, 0, 0, 0, 0, 0, 0, 1)
    assert got["National Security"] == (0, 0, 0, 0, 0, 0, 0, 0)
    q2 = refreshed.read_output(
        "SELECT criminal_category, no_border_crossing FROM read_parquet("
        "'{out}/category_measures/**/*.parquet', hive_partitioning = true) "
        "WHERE fiscal_year = 2024 AND fiscal_quarter = 2 AND no_border_crossing > 0"
    )
    assert q2 == [("National Security", 1)]


def test_findings_quarantine_and_conflicts(refreshed):
    findings = refreshed.read_output(
        "SELECT scr_id, rule_id, severity, source_file, source_row FROM "
        "read_parquet('{out}/validation_findings.parquet') ORDER BY scr_id, rule_id"
    )
    assert findings == [
        (
            "A11",
            "scr.tco_involvement.required_from_2023_07_18",
            "error",
            "scr_extract_2024-01-10.csv",
            11,
        ),
        ("A15", "scr.scr_type.enum", "error", "scr_extract_2024-02-01.csv", 4),
        ("A6", "scr.tco_involvement.conflict", "warning", "scr_extract_2024-01-10.csv", 6),
    ]
    quarantined = refreshed.read_output(
        "SELECT scr_id FROM read_parquet('{out}/quarantined_scrs.parquet') ORDER BY scr_id"
    )
    assert quarantined == [("A11",), ("A15",)]
    # the conflict's message is the catalogue's description, then what was found
    [(message,)] = refreshed.read_output(
        "SELECT message FROM read_parquet('{out}/validation_findings.parquet') "
        "WHERE rule_id = 'scr.tco_involvement.conflict'"
    )
    assert message == (
        "tco_involvement disagrees with the TCO definition test on subject_count and countries "
        "(indicator conflict) (got tco_involvement N, subject_count 5, countries US;PH)"
    )


def test_determination_per_scr(refreshed):
    rows = dict(
        (r[0], r[1:])
        for r in refreshed.query(
            "SELECT scr_id, determination, non_tco_reason, counted, indicator_conflict "
            "FROM scr_current"
        )
    )
    assert rows["A2"] == ("TCO", None, True, False)
    assert rows["A3"] == ("NON_TCO", "no_association", True, False)
    assert rows["A4"] == ("NON_TCO", "no_border_crossing", True, False)
    assert rows["A5"] == ("NON_TCO", "both", True, False)
    assert rows["A6"] == ("NON_TCO", "indicator_no", True, True)
    assert rows["A7"] == ("TCO", None, True, False)
    assert rows["A8"] == ("UNDETERMINED", None, True, False)
    assert rows["A10"] == ("TCO", None, False, False)  # PENDING: determined, not counted
    assert rows["A11"] == (None, None, False, False)
    assert rows["A15"] == (None, None, False, False)


def test_annual_measures(refreshed):
    rows = refreshed.read_output(
        "SELECT fiscal_year, measure_type, dd_total, dd_tco, result_old_method, "
        "result_tco_validated FROM read_parquet('{out}/annual_measures.parquet') ORDER BY 1"
    )
    assert rows == [(2023, "count", 0, 0, 0.0, 0.0), (2024, "count", 8, 3, 8.0, 3.0)]


def test_reconciliation_adds_up(refreshed):
    rows = refreshed.read_output(
        "SELECT source_file, rows_read, rows_valid, rows_quarantined, rows_current, "
        "rows_superseded FROM read_parquet('{out}/ingest_reconciliation.parquet') ORDER BY 1"
    )
    # A: 13 rows, A11 invalid; current: all but A12 and A15 (superseded by B) -> 11
    # B: 4 rows, A15 invalid; current: A12, A14 (second row), A15 -> 3
    assert rows == [
        ("scr_extract_2024-01-10.csv", 13, 12, 1, 11, 2),
        ("scr_extract_2024-02-01.csv", 4, 3, 1, 3, 1),
    ]
