"""The value rules of issue 13 through a real refresh (Dagster in-process, DuckDB file, Parquet
read back), with numbers worked out by hand:

file 02-01: SCR-2024-001 (DISRUPTION, TCO, approved 2024-01-10), SCR-2024-002 (INITIAL,
    approved), SCR-2024-003 (approved 2031-01-01: future), SCR-2023-010 / SCR-2023-011 (created
    with an offset just after / just before 2023-07-18 Eastern, checkbox empty),
    SCR-2024-004 v1 (approved, last modified 12:00 Eastern), SCR-2024-006 (subject_count "+3").
file 02-02: "SCR-2024-001 " again (padded id, status, count and date: the same SCR),
    "scr-2024-002" WITHDRAWN (a lower-case correction: it applies), SCR-2024-004 v2 PENDING last
    modified 16:30Z = 11:30 Eastern (older than v1 once the offset is applied: v1 stays).
file 02-03: header ``Subject_Count``: SCR-2024-005, checkbox Y, 1 subject: NON_TCO by the
    definition test (no_association), which needs the count to be read.

Counted: FY2024 Q2 (January) SCR-2024-001, -004, -005: 3 disruptions, 2 TCO, 1 non-TCO;
FY2023 Q4 (July) SCR-2023-011: 1 disruption, TCO. Quarantined: -003 (approved_date.future),
-2023-010 (tco_involvement.required_from_2023_07_18), -006 (subject_count.integer).
"""

from __future__ import annotations

import pytest
from support.extracts import SCR_COLUMNS, valid_row, write_csv
from support.project import quarterly, query, read_output, refresh_in_process, run_cli, use_env

A, B, C = (f"scr_extract_2024-02-0{n}.csv" for n in (1, 2, 3))


def _row(scr_id: str, **kw: str) -> dict[str, str]:
    return valid_row(scr_id, **({"case_number": "CASE-" + scr_id.strip().upper()} | kw))


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("value_rules")
    early = {"submitted_date": "2023-07-20"}
    write_csv(
        root / "landing" / A,
        [
            _row("SCR-2024-001"),
            _row("SCR-2024-002", scr_type="INITIAL"),
            _row("SCR-2024-003", approved_date="2031-01-01"),
            _row("SCR-2023-010", **early, created_at="2023-07-17T23:00-05:00",
                 approved_date="2023-07-25", tco_involvement="", last_modified_at="2023-07-25T12:00"),
            _row("SCR-2023-011", **early, created_at="2023-07-18T01:00+05:00",
                 approved_date="2023-07-25", tco_involvement="", last_modified_at="2023-07-25T12:00"),
            _row("SCR-2024-004", last_modified_at="2024-01-10T12:00:00"),
            _row("SCR-2024-006", subject_count="+3"),
        ],
    )  # fmt: skip
    write_csv(
        root / "landing" / B,
        [
            _row("SCR-2024-001 ", status="APPROVED ", subject_count=" 3 ",
                 approved_date=" 2024-01-10 ", last_modified_at="2024-01-11T09:00:00"),
            _row("scr-2024-002", case_number="CASE-SCR-2024-002", scr_type="INITIAL",
                 status="WITHDRAWN", approved_date="", last_modified_at="2024-01-11T09:00:00"),
            _row("SCR-2024-004", status="PENDING", approved_date="",
                 last_modified_at="2024-01-10T16:30:00Z"),
        ],
    )  # fmt: skip
    header = ["Subject_Count" if c == "subject_count" else c for c in SCR_COLUMNS]
    row = _row("SCR-2024-005", subject_count="", tco_involvement="Y") | {"Subject_Count": "1"}
    del row["subject_count"]
    write_csv(root / "landing" / C, [row], header)
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, root)
        refresh_in_process(root)
    return root


def _findings(root, severity: str) -> list[tuple]:
    found = read_output(root / "output", "validation_findings.parquet")
    return sorted(
        (f["source_file"], f["source_row"], f["scr_id"], f["rule_id"])
        for f in found
        if f["severity"] == severity
    )


def test_quarterly_numbers(refreshed):
    q = quarterly(refreshed / "output")
    assert sorted(q) == [(2023, 4), (2024, 2)]  # no FY2031 partition
    got = {
        k: (v["initial_approved"], v["disruptions"], v["dd_tco"], v["dd_non_tco"])
        for k, v in q.items()
    }
    assert got == {(2023, 4): (0, 1, 1, 0), (2024, 2): (0, 3, 2, 1)}
    assert not (refreshed / "output" / "quarterly_measures" / "fiscal_year=2031").exists()
    annual = {
        r["fiscal_year"] for r in read_output(refreshed / "output", "annual_measures.parquet")
    }
    assert 2031 not in annual


def test_current_records(refreshed):
    got = query(
        refreshed / "warehouse.duckdb",
        "SELECT scr_id, versions, status, counted, quarantine_rules, determination "
        "FROM scr_current ORDER BY scr_id",
    )
    assert got == [
        (
            "SCR-2023-010",
            1,
            "APPROVED",
            False,
            "scr.tco_involvement.required_from_2023_07_18",
            None,
        ),
        ("SCR-2023-011", 1, "APPROVED", True, None, "TCO"),
        ("SCR-2024-001", 2, "APPROVED", True, None, "TCO"),  # padded id: the same SCR, once
        ("SCR-2024-002", 2, "WITHDRAWN", False, None, "TCO"),  # the lower-case correction
        ("SCR-2024-003", 1, "APPROVED", False, "scr.approved_date.future", None),
        ("SCR-2024-004", 2, "APPROVED", True, None, "TCO"),  # 16:30Z is 11:30 Eastern: older
        ("SCR-2024-005", 1, "APPROVED", True, None, "NON_TCO"),  # Subject_Count read: 1
        ("SCR-2024-006", 1, "APPROVED", False, "scr.subject_count.integer", None),
    ]


def test_errors_and_warnings(refreshed):
    assert _findings(refreshed, "error") == [
        (A, 3, "SCR-2024-003", "scr.approved_date.future"),
        (A, 4, "SCR-2023-010", "scr.tco_involvement.required_from_2023_07_18"),
        (A, 7, "SCR-2024-006", "scr.subject_count.integer"),
    ]
    assert _findings(refreshed, "warning") == [
        (B, 1, "SCR-2024-001", "scr.approved_date.whitespace"),
        (B, 1, "SCR-2024-001", "scr.scr_id.whitespace"),
        (B, 1, "SCR-2024-001", "scr.status.whitespace"),
        (B, 1, "SCR-2024-001", "scr.subject_count.whitespace"),
        (B, 2, "SCR-2024-002", "scr.scr_id.case"),
        (C, 0, None, "scr.header.normalized"),
        (C, 1, "SCR-2024-005", "scr.tco_involvement.conflict"),
    ]
    found = read_output(refreshed / "output", "validation_findings.parquet")
    padded = [f for f in found if f["rule_id"] == "scr.status.whitespace"]
    assert padded[0]["failure_value"] == "APPROVED " and "(got 'APPROVED ')" in padded[0]["message"]
    lower = [f for f in found if f["rule_id"] == "scr.scr_id.case"]
    assert lower[0]["failure_value"] == "scr-2024-002"


def test_reconciliation_holds(refreshed):
    rec = read_output(refreshed / "output", "ingest_reconciliation.parquet")
    assert [(r["file"], r["rows_read"], r["rows_valid"], r["rows_quarantined"]) for r in rec] == [
        (A, 7, 4, 3),
        (B, 3, 3, 0),
        (C, 1, 1, 0),
    ]


def test_near_miss_header_is_refused_naming_both(tmp_path):
    header = ["subjet_count" if c == "subject_count" else c for c in SCR_COLUMNS]
    row = valid_row("SCR-1") | {"subjet_count": "3"}
    del row["subject_count"]
    write_csv(tmp_path / "landing" / "scr_extract_2024-02-01.csv", [row], header)
    proc = run_cli(tmp_path, "refresh")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "error: scr_extract_2024-02-01.csv: column 'subjet_count' looks like 'subject_count'. "
        "Rename the header to 'subject_count' (the contract's name) and land the file again."
    ]
    assert not (tmp_path / "output" / "quarterly_measures").exists()
