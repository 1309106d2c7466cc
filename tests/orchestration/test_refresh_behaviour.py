"""Refresh semantics: idempotent second refresh, late corrections restate only the quarters they
change (and keep what was published before), the checkbox boundary, and clean CLI failures.

Refreshes run in-process (``Project.refresh``; the CLI's ``main`` through ``run_main_streams``
for the failing refresh: its exit code and stderr are the claim, not the process). A test
that starts from FILE_A refreshed copies that state (``prepared_project``, refreshed once per
test process) unless its claim is the second refresh itself."""

from __future__ import annotations

from support.extracts import FILE_A, FILE_B, NATSEC, scr, write_csv
from support.project import run_main_streams

A = "scr_extract_2024-01-10.csv"  # FILE_A's name


def test_second_refresh_adds_nothing_and_changes_no_output(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    before = project.output_digest()
    rows_before = project.query("SELECT count(*) FROM raw_scr_versions")
    result = project.refresh()
    assert result.changed_quarters == []
    assert project.query("SELECT count(*) FROM raw_scr_versions") == rows_before
    assert project.output_digest() == before
    assert any("nothing new" in m for m in project.messages)


def test_same_content_under_another_name_is_not_ingested_twice(prepared_project):
    project = prepared_project("file_a", {A: FILE_A})
    write_csv(project.landing / "scr_extract_2024-01-11.csv", FILE_A)
    project.refresh()
    assert project.query("SELECT count(*) FROM ingested_files") == [(1,)]


def test_late_correction_restates_only_the_changed_quarter(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    project.refresh()
    before = project.output_digest()
    # A4 (FY2024 Q2, the year's last quarter in the data) gains a foreign country: now TCO
    fix = scr(
        "A4",
        "C300",
        "DISMANTLEMENT",
        NATSEC,
        "2024-01-01",
        subjects="4",
        countries="US;CA",
        modified="2024-03-01T09:00:00",
    )
    write_csv(project.landing / "scr_extract_2024-03-02.csv", [fix])
    result = project.refresh()
    assert result.changed_quarters == ["FY2024-Q2"]
    # the 3 tables' FY2023-Q4 and FY2024-Q1 files were neither queried nor written again
    assert any("removed, 6 unchanged quarter file(s) kept;" in m for m in project.messages)
    after = project.output_digest()
    changed = sorted(k for k in after if after[k] != before.get(k) and "fiscal_year=" in k)
    assert changed == [
        "category_measures/fiscal_year=2024/fiscal_quarter=2/data.parquet",
        "quarterly_measures/fiscal_year=2024/fiscal_quarter=2/data.parquet",
        "scr_determinations/fiscal_year=2024/fiscal_quarter=2/data.parquet",
    ]
    assert project.read_output(
        "SELECT dd_tco, dd_non_tco FROM read_parquet('{out}/quarterly_measures/**/*.parquet', "
        "hive_partitioning = true) WHERE fiscal_year = 2024 AND fiscal_quarter = 2"
    ) == [(2, 0)]
    # what was published before the restatement is kept
    assert project.read_output(
        "SELECT fiscal_year, fiscal_quarter, dd_tco, dd_non_tco FROM "
        "read_parquet('{out}/quarterly_measures_history.parquet')"
    ) == [(2024, 2, 1, 1)]


def test_correction_in_first_quarter_restates_later_quarters_of_the_year(prepared_project):
    project = prepared_project("file_a", {A: FILE_A})
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    result = project.refresh()
    # A12 moves Q1 -> Q2 and A15 leaves Q1; A14 lands in Q2; FY2023 Q4 untouched
    assert result.changed_quarters == ["FY2024-Q1", "FY2024-Q2"]


def test_checkbox_required_from_18_july_2023(project):
    rows = [
        scr(
            "B1",
            "D1",
            "DISRUPTION",
            NATSEC,
            "2023-10-02",
            created="2023-07-17T23:59:59",
            subjects="2",
            countries="US;MX",
        ),
        scr(
            "B2",
            "D2",
            "DISRUPTION",
            NATSEC,
            "2023-10-02",
            created="2023-07-18T00:00:00",
            subjects="2",
            countries="US;MX",
        ),
        scr(
            "B3",
            "D3",
            "DISRUPTION",
            NATSEC,
            "2023-10-02",
            created="2023-07-18T00:00:00",
            tco="Y",
            subjects="2",
            countries="US;MX",
        ),
    ]
    write_csv(project.landing / "scr_extract_2023-10-03.csv", rows)
    project.refresh()
    assert project.query("SELECT scr_id, quarantined FROM scr_current ORDER BY scr_id") == [
        ("B1", False),
        ("B2", True),
        ("B3", False),
    ]


def test_cli_refresh_bad_file_one_message_no_traceback(prepared_project, tmp_path):
    project = prepared_project("file_a", {A: FILE_A})
    before = project.output_digest()
    (project.landing / "scr_extract_2024-05-01.csv").write_text("scr_id,case_number\nX1,C1\n")
    code, _, err = run_main_streams(project.root, "refresh")
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "scr_extract_2024-05-01.csv" in err and "scr_type" in err
    assert project.output_digest() == before
    assert project.query("SELECT count(*) FROM ingested_files") == [(1,)]


def test_wiped_output_dir_is_republished_without_new_data(prepared_project):
    import shutil

    project = prepared_project("file_a", {A: FILE_A})
    before = project.output_digest()
    project.output.unlink()  # the link to the current release, and every release: wiped
    shutil.rmtree(project.root / "output.releases")
    project.refresh()
    after = project.output_digest()
    manifest = "_manifest.json"  # names the refresh that published: the one file that differs
    assert {k: v for k, v in after.items() if k != manifest} == {
        k: v for k, v in before.items() if k != manifest
    }
    assert set(after) == set(before)
    assert any(
        m.startswith("[repair]") and "_manifest.json: missing" in m for m in project.messages
    )


def test_deleted_report_is_rewritten_by_the_next_refresh(prepared_project):
    project = prepared_project("file_a", {A: FILE_A})
    report = project.output / "report" / "index.html"
    assert report.is_file()
    report.unlink()
    project.refresh()
    assert report.is_file() and "Disruptions" in report.read_text()


def test_unchanged_files_are_not_hashed_again(prepared_project, monkeypatch):
    import os

    import assets.landing.scan as ingest

    project = prepared_project("file_a", {A: FILE_A})
    path = project.landing / A
    hashed: list[str] = []
    real = ingest.sha256_of
    monkeypatch.setattr(ingest, "sha256_of", lambda p: hashed.append(p.name) or real(p))
    project.refresh()
    assert hashed == []  # same name, size and mtime: the stored hash is reused
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    project.refresh()
    assert hashed == ["scr_extract_2024-01-10.csv"]  # touched: read again, same content
    assert project.query("SELECT count(*) FROM ingested_files") == [(1,)]


def test_an_empty_landing_dir_says_so(project):
    project.refresh()
    assert any(
        "[ingest] no new extract files" in m and "(0 already ingested)" in m
        for m in project.messages
    )
