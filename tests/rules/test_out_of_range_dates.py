"""A typo in an approved date is a finding on its row and never stops a refresh (issue 28 item 1).

File 02-01 (ingested today): A, B approved 2024-01-10 (FY2024 Q2, DISRUPTION, TCO) count; C
approved 9999-12-31, D 0001-01-03, E 1999-01-03 (for 2019) are quarantined: C by
``scr.approved_date.future``, D and E by ``scr.approved_date.before_program`` (before
2010-10-01) and by ``.after_submitted`` (before their submitted date 2024-01-03). Published:
FY2024 Q2 with dd_total 2, and no partition for C, D or E, whose fiscal quarter is NULL.
"""

from __future__ import annotations

from support.extracts import valid_row, write_csv

FILE = "scr_extract_2024-02-01.csv"
TYPOS = {"C": "9999-12-31", "D": "0001-01-03", "E": "1999-01-03"}


def _landed(project):
    rows = [valid_row("A"), valid_row("B")]
    rows += [valid_row(sid, approved_date=day) for sid, day in TYPOS.items()]
    write_csv(project.landing / FILE, rows)


def test_typo_dates_are_quarantined_and_the_refresh_publishes(project):
    _landed(project)
    project.refresh()  # raised before: "... fiscal quarter(s) FY10000-Q1, outside ..."
    assert project.query(
        "SELECT scr_id, quarantined, counted, fiscal_year, quarantine_rules FROM scr_current "
        "ORDER BY scr_id"
    ) == [
        ("A", False, True, 2024, None),
        ("B", False, True, 2024, None),
        ("C", True, False, None, "scr.approved_date.future"),
        ("D", True, False, None, "scr.approved_date.after_submitted, scr.approved_date.before_program"),
        ("E", True, False, None, "scr.approved_date.after_submitted, scr.approved_date.before_program"),
    ]  # fmt: skip
    assert project.read_output(
        "SELECT fiscal_year, fiscal_quarter, dd_total, dd_tco FROM read_parquet("
        "'{out}/quarterly_measures/**/*.parquet', hive_partitioning = true)"
    ) == [(2024, 2, 2, 2)]
    assert project.read_output(
        "SELECT scr_id, fiscal_year, fiscal_quarter FROM read_parquet("
        "'{out}/scr_determinations/**/*.parquet', hive_partitioning = true) ORDER BY scr_id"
    ) == [("A", 2024, 2), ("B", 2024, 2)]
    findings = project.read_output(
        "SELECT scr_id, rule_id, source_row FROM '{out}/validation_findings.parquet' "
        "WHERE rule_id LIKE 'scr.approved_date.%' ORDER BY scr_id, rule_id"
    )
    assert findings == [  # source_row: the data row, A = 1
        ("C", "scr.approved_date.future", 3),
        ("D", "scr.approved_date.after_submitted", 4),
        ("D", "scr.approved_date.before_program", 4),
        ("E", "scr.approved_date.after_submitted", 5),
        ("E", "scr.approved_date.before_program", 5),
    ]


def test_a_corrected_date_counts_in_its_quarter_and_every_later_refresh_runs(project):
    _landed(project)
    project.refresh()
    write_csv(  # C corrected to 2024-01-12 (later last_modified_at): it counts in FY2024 Q2
        project.landing / "scr_extract_2024-02-02.csv",
        [valid_row("C", approved_date="2024-01-12", last_modified_at="2024-01-12T12:00:00")],
    )
    project.refresh()
    assert project.read_output(
        "SELECT fiscal_year, fiscal_quarter, dd_total FROM read_parquet("
        "'{out}/quarterly_measures/**/*.parquet', hive_partitioning = true)"
    ) == [(2024, 2, 3)]


def test_measures_of_quarters_before_the_first_key_are_removed(project):
    """A warehouse built when the keys began at FY2000 may hold FY2005 rows: the next refresh
    removes them (no counted SCR is in them) instead of stopping on a key that is gone."""
    import duckdb

    write_csv(project.landing / FILE, [valid_row("A")])
    project.refresh()
    with duckdb.connect(str(project.warehouse)) as con:
        con.execute(
            "INSERT INTO quarterly_measures SELECT * REPLACE (2005 AS fiscal_year) "
            "FROM quarterly_measures"
        )
        con.execute(
            "INSERT INTO category_measures SELECT * REPLACE (2005 AS fiscal_year) "
            "FROM category_measures"
        )
    write_csv(project.landing / "scr_extract_2024-02-02.csv", [valid_row("B")])
    project.refresh()
    assert project.query(
        "SELECT fiscal_year, fiscal_quarter, dd_total FROM quarterly_measures ORDER BY ALL"
    ) == [(2024, 2, 2)]
    assert project.query("SELECT count(*) FROM category_measures WHERE fiscal_year = 2005") == [
        (0,)
    ]
    assert project.query(
        "SELECT fiscal_year, dd_total FROM quarterly_measures_history WHERE fiscal_year = 2005"
    ) == [(2005, 1)]
