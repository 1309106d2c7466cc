"""Resource requests: every rule of the contract, quarantine, the current request across files,
and the SCR evidence each request could have cited, against numbers worked out by hand.

The refresh runs the real Dagster definitions in-process against a DuckDB file in tmp_path;
results are read back from the published Parquet files.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from support.project import use_env

from assets._shared.validation import collect_findings
from assets.landing.lifecycle import active_view
from pipelines.cli.refresh import run_refresh
from pipelines.orchestration.definitions import defs
from schemas.extracts import RESOURCE_REQUESTS, SCR
from schemas.reference import rules
from schemas.resource_request import TYPED_VIEW_SQL, resource_request_schema

CY = "Cyber-Enabled Crime"
CH = "Transnational Crimes Against Children"
IT = "Illicit Trade, Travel, and Finance (Drug-Related)"  # a label with commas
NS = "National Security"


def _scr(scr_id, scr_type, category, status, approved, subjects="", countries="") -> dict:
    """An SCR created and submitted a month before approval (or before 2018-08-01)."""
    day = (
        dt.date.fromisoformat(approved) - dt.timedelta(days=30) if approved else dt.date(2018, 8, 1)
    )
    return {
        "scr_id": scr_id,
        "case_number": "C-" + scr_id,
        "scr_type": scr_type,
        "criminal_category": category,
        "subcategory": "",
        "field_office": "Houston",
        "status": status,
        "created_at": f"{day}T09:00:00",
        "submitted_date": str(day),
        "approved_date": approved,
        "tco_involvement": "",
        "subject_count": subjects,
        "countries": countries,
        "last_modified_at": f"{approved or day}T12:00:00",
    }


# FY2018 = 2017-10-01..2018-09-30, FY2019 = 2018-10-01..2019-09-30, FY2020 = 2019-10-01..
SCRS = [
    _scr("S1", "INITIAL", CY, "APPROVED", "2019-03-01", "3", "US;MX"),  # FY2019
    _scr("S2", "DISRUPTION", CY, "APPROVED", "2019-05-01", "3", "US;MX"),  # FY2019, TCO
    _scr("S3", "DISMANTLEMENT", CY, "APPROVED", "2019-09-30", "1", "US"),  # FY2019, NON_TCO
    _scr("S4", "DISRUPTION", IT, "APPROVED", "2019-01-15", "2", "CO"),  # FY2019, TCO
    _scr("S5", "DISRUPTION", IT, "PENDING", ""),  # not approved: never counted
    _scr("S6", "DISRUPTION", CY, "APPROVED", "2019-02-01", "0", "MX"),  # quarantined (count 0)
    _scr("S7", "DISRUPTION", CY, "APPROVED", "2019-10-01"),  # FY2020, UNDETERMINED
    _scr("S8", "DISRUPTION", CH, "APPROVED", "2018-09-30", "2", "US;CA"),  # FY2018, TCO
    _scr("S9", "INITIAL", NS, "REJECTED", ""),  # not approved
    _scr("S10", "DISRUPTION", NS, "APPROVED", "2020-06-01", "2", "US"),  # FY2020, NON_TCO
]


def _rr(rid, fy, amount, positions, cats, cites, submitted, office="Cyber Crimes Unit") -> dict:
    return {
        "request_id": rid,
        "fiscal_year": fy,
        "program_office": office,
        "title": f"Request {rid}",
        "amount_usd": amount,
        "positions": positions,
        "scr_categories": cats,
        "cites_scr_data": cites,
        "submitted_date": submitted,
    }


FILE_A = [
    _rr("R1", "2021", "8800000.00", "12", f"{CY};{IT}", "N", "2019-10-01"),  # two categories
    _rr("R2", "2021", "10600000", "5", f"{CH};{CY}", "Y", "2019-09-30"),  # evidence FY2018
    _rr("R3", "2021", "3000000.00", "16", CH, "N", "2019-10-01"),  # evidence FY2019
    _rr("R4", "2021", "0", "0", "", "N", "2020-01-10"),  # no categories
    _rr("R5", "2022", "1500000.5", "3", CY, "N", "2020-10-01"),  # evidence FY2020
    _rr("R6", "2021", "2000000", "4", f"{CY};{CY}", "Y", "2020-02-03"),  # a label twice
    _rr("R7", "2021", "-5.00", "1", "Cyber Crime", "y", "2020-02-03"),  # three errors
    _rr("R8", "2022", "999.00", "9", NS, "N", "2021-03-01"),  # replaced by file B
    _rr("R10", "2021", "abc", "2", IT, "N", "2019-11-15"),  # bad here, fixed in file B
]
FILE_B = [
    _rr("R8", "2022", "750000.25", "1", NS, "Y", "2021-03-01"),
    _rr("R9", "2022", "100.00", "1", "", "N", "2021-03-01"),  # twice in one file
    _rr("R9", "2022", "200.00", "1", "", "N", "2021-03-02"),
    _rr("R10", "2021", "250000.00", "2", IT, "N", "2019-11-15"),
]

# request_id: fiscal_year, amount, positions, cites, evidence FY, approved, dd, dd_tco, avail, gap
EXPECTED = {
    "R1": (2021, "8800000.00", 12, "N", 2019, 4, 3, 2, True, True),  # CY 3/2/1 + IT 1/1/1
    "R2": (2021, "10600000.00", 5, "Y", 2018, 1, 1, 1, True, False),  # CH S8 only
    "R3": (2021, "3000000.00", 16, "N", 2019, 0, 0, 0, False, False),  # S8 is FY2018
    "R4": (2021, "0.00", 0, "N", 2019, 0, 0, 0, False, False),
    "R5": (2022, "1500000.50", 3, "N", 2020, 1, 1, 0, True, True),  # S7 undetermined
    "R6": (2021, "2000000.00", 4, "Y", 2019, 3, 2, 1, True, False),  # CY counted once
    "R8": (2022, "750000.25", 1, "Y", 2020, 1, 1, 0, True, False),  # S10 no border crossing
    "R10": (2021, "250000.00", 2, "N", 2019, 1, 1, 1, True, True),  # IT S4
}


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _refresh(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    use_env(monkeypatch, tmp)
    instance = dg.DagsterInstance.ephemeral()
    run_refresh(defs, instance, progress=lambda s: None)
    return instance


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("rr")
    landing = tmp / "landing"
    landing.mkdir()
    _write_csv(landing / "scr_extract_2021-10-15.csv", SCR.columns, SCRS)
    _write_csv(landing / "resource_requests_2023-01-15.csv", RESOURCE_REQUESTS.columns, FILE_A)
    _write_csv(landing / "resource_requests_2023-06-01.csv", RESOURCE_REQUESTS.columns, FILE_B)
    with pytest.MonkeyPatch.context() as mp:
        instance = _refresh(tmp, mp)
        yield tmp, instance
        instance.dispose()


def _parquet(tmp: Path, name: str, sql: str = "SELECT * FROM t") -> list[tuple]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{tmp / 'output' / name}')")
    return con.execute(sql).fetchall()


def test_evidence_row_for_every_valid_request_with_hand_computed_numbers(refreshed) -> None:
    tmp, _ = refreshed
    rows = _parquet(
        tmp,
        "resource_request_evidence.parquet",
        "SELECT request_id, fiscal_year, amount_usd, positions, cites_scr_data, "
        "evidence_fiscal_year, approved_scrs, dd_total, dd_tco, evidence_available, evidence_gap "
        "FROM t",
    )
    got = {r[0]: (r[1], str(r[2]), *r[3:]) for r in rows}
    assert got == EXPECTED
    assert len(rows) == len(EXPECTED)  # no duplicate rows either


def test_evidence_keeps_the_request_text_columns(refreshed) -> None:
    tmp, _ = refreshed
    rows = _parquet(
        tmp,
        "resource_request_evidence.parquet",
        "SELECT request_id, program_office, title, scr_categories, submitted_date FROM t "
        "WHERE request_id IN ('R1', 'R4', 'R8') ORDER BY request_id",
    )
    assert rows == [
        ("R1", "Cyber Crimes Unit", "Request R1", f"{CY};{IT}", dt.date(2019, 10, 1)),
        ("R4", "Cyber Crimes Unit", "Request R4", None, dt.date(2020, 1, 10)),
        ("R8", "Cyber Crimes Unit", "Request R8", NS, dt.date(2021, 3, 1)),
    ]


def test_summary_per_fiscal_year(refreshed) -> None:
    tmp, _ = refreshed
    rows = _parquet(tmp, "resource_request_summary.parquet", "SELECT * FROM t ORDER BY 1")
    cols = (
        "fiscal_year requests citing_scr_data not_citing_scr_data evidence_available "
        "evidence_gaps amount_usd positions gap_amount_usd gap_positions"
    ).split()
    assert [dict(zip(cols, r, strict=True)) for r in rows] == [
        {
            "fiscal_year": 2021,
            "requests": 6,  # R1 R2 R3 R4 R6 R10
            "citing_scr_data": 2,  # R2 R6
            "not_citing_scr_data": 4,
            "evidence_available": 4,  # R1 R2 R6 R10
            "evidence_gaps": 2,  # R1 R10
            "amount_usd": Decimal("24650000.00"),
            "positions": 39,
            "gap_amount_usd": Decimal("9050000.00"),
            "gap_positions": 14,
        },
        {
            "fiscal_year": 2022,
            "requests": 2,  # R5 R8
            "citing_scr_data": 1,
            "not_citing_scr_data": 1,
            "evidence_available": 2,
            "evidence_gaps": 1,  # R5
            "amount_usd": Decimal("2250000.75"),
            "positions": 4,
            "gap_amount_usd": Decimal("1500000.50"),
            "gap_positions": 3,
        },
    ]


def test_invalid_current_requests_are_quarantined_and_listed(refreshed) -> None:
    tmp, _ = refreshed
    assert _parquet(
        tmp,
        "quarantined_resource_requests.parquet",
        "SELECT request_id, quarantine_rules, source_file, source_row FROM t ORDER BY 1",
    ) == [
        (
            "R7",
            "rr.amount_usd.min, rr.cites_scr_data.enum, rr.scr_categories.enum",
            "resource_requests_2023-01-15.csv",
            7,
        ),
        ("R9", "rr.request_id.unique", "resource_requests_2023-06-01.csv", 3),
    ]


def test_findings_name_file_row_rule_and_value(refreshed) -> None:
    tmp, _ = refreshed
    rows = _parquet(
        tmp,
        "validation_findings.parquet",
        "SELECT record_id, rule_id, severity, source_file, source_row, failure_value, scr_id "
        "FROM t WHERE extract_type = 'resource_requests' ORDER BY source_file, source_row, rule_id",
    )
    a, b = "resource_requests_2023-01-15.csv", "resource_requests_2023-06-01.csv"
    assert rows == [
        ("R7", "rr.amount_usd.min", "error", a, 7, "-5.00", None),
        ("R7", "rr.cites_scr_data.enum", "error", a, 7, "y", None),
        ("R7", "rr.scr_categories.enum", "error", a, 7, "Cyber Crime", None),
        ("R10", "rr.amount_usd.format", "error", a, 9, "abc", None),
        ("R9", "rr.request_id.unique", "error", b, 2, "R9", None),
        ("R9", "rr.request_id.unique", "error", b, 3, "R9", None),
    ]
    message = _parquet(
        tmp, "validation_findings.parquet", "SELECT message FROM t WHERE failure_value = 'abc'"
    )[0][0]
    assert "at most 2 decimal places" in message and "'abc'" in message


def test_request_rows_reconcile_per_file(refreshed) -> None:
    tmp, instance = refreshed
    rows = _parquet(
        tmp,
        "ingest_reconciliation.parquet",
        "SELECT source_file, rows_read, rows_stored, rows_valid, rows_quarantined FROM t "
        "WHERE extract_type = 'resource_requests' ORDER BY source_file",
    )
    assert rows == [
        ("resource_requests_2023-01-15.csv", 9, 9, 7, 2),  # R7, R10 (fixed later)
        ("resource_requests_2023-06-01.csv", 4, 4, 2, 2),  # R9 twice
    ]
    assert _check_passed(instance, "ingest_reconciliation", "rows_reconcile") is True


def _check_passed(instance: dg.DagsterInstance, asset: str, check: str) -> bool | None:
    record = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(dg.AssetKey(asset), check)
    )
    return record.event.dagster_event.event_specific_data.passed


def test_asset_checks(refreshed) -> None:
    _, instance = refreshed
    assert _check_passed(instance, "resource_request_evidence", "one_row_per_valid_request")
    # two current requests are quarantined, so the (warning) validity check fails
    assert _check_passed(instance, "resource_request_current", "schema_validity") is False


def test_a_later_file_lifts_the_quarantine(refreshed, tmp_path: Path) -> None:
    """A correction file replaces R7 and R9; the next refresh puts both into the evidence."""
    tmp, _ = refreshed
    work = tmp_path / "again"
    (work / "landing").mkdir(parents=True)
    for f in (tmp / "landing").iterdir():
        (work / "landing" / f.name).write_bytes(f.read_bytes())
    with pytest.MonkeyPatch.context() as mp:
        _refresh(work, mp).dispose()
        fixes = [
            _rr("R7", "2021", "5.00", "1", CY, "Y", "2020-02-03"),
            _rr("R9", "2022", "300.00", "2", CH, "N", "2019-10-01"),
        ]
        _write_csv(
            work / "landing" / "resource_requests_2023-09-01.csv", RESOURCE_REQUESTS.columns, fixes
        )
        instance = _refresh(work, mp)
        assert _check_passed(instance, "resource_request_current", "schema_validity") is True
        instance.dispose()
    got = _parquet(
        work,
        "resource_request_evidence.parquet",
        "SELECT request_id, approved_scrs, dd_total, dd_tco, evidence_gap FROM t "
        "WHERE request_id IN ('R7', 'R9') ORDER BY 1",
    )
    assert got == [("R7", 3, 2, 1, False), ("R9", 0, 0, 0, False)]
    assert _parquet(work, "quarantined_resource_requests.parquet", "SELECT count(*) FROM t") == [
        (0,)
    ]


# --- every rule on its own: one bad value breaks exactly its rule ---------------------------

GOOD = _rr("G1", "2021", "10.50", "1", f"{CY};{IT}", "Y", "2020-01-31")


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        ({}, set()),
        ({"scr_categories": ""}, set()),
        ({"amount_usd": "0"}, set()),
        ({"request_id": " "}, {"rr.request_id.required"}),
        ({"fiscal_year": ""}, {"rr.fiscal_year.required"}),
        ({"fiscal_year": "FY21"}, {"rr.fiscal_year.integer"}),
        ({"fiscal_year": "1999"}, {"rr.fiscal_year.range"}),
        ({"fiscal_year": "2101"}, {"rr.fiscal_year.range"}),
        ({"program_office": ""}, {"rr.program_office.required"}),
        ({"title": ""}, {"rr.title.required"}),
        ({"amount_usd": ""}, {"rr.amount_usd.required"}),
        ({"amount_usd": "1.234"}, {"rr.amount_usd.format"}),
        ({"amount_usd": "1,000.00"}, {"rr.amount_usd.format"}),
        ({"amount_usd": "$10"}, {"rr.amount_usd.format"}),
        ({"amount_usd": "-0.01"}, {"rr.amount_usd.min"}),
        ({"positions": ""}, {"rr.positions.required"}),
        ({"positions": "2.5"}, {"rr.positions.integer"}),
        ({"positions": "-1"}, {"rr.positions.min"}),
        ({"scr_categories": "Cyber Crime"}, {"rr.scr_categories.enum"}),
        ({"scr_categories": f"{CY},{IT}"}, {"rr.scr_categories.enum"}),  # comma is no separator
        ({"scr_categories": f"{CY};"}, {"rr.scr_categories.enum"}),
        ({"cites_scr_data": ""}, {"rr.cites_scr_data.required"}),
        ({"cites_scr_data": "Yes"}, {"rr.cites_scr_data.enum"}),
        ({"submitted_date": ""}, {"rr.submitted_date.required"}),
        ({"submitted_date": "01/31/2020"}, {"rr.submitted_date.format"}),
        ({"submitted_date": "2020-02-30"}, {"rr.submitted_date.format"}),
        # a NUL in a free-text value: a warning of its own (issue 28)
        ({"request_id": "G\x001"}, {"rr.request_id.nul"}),
        ({"program_office": "HSI\x00"}, {"rr.program_office.nul"}),
        ({"title": "Analysts\x00"}, {"rr.title.nul"}),
    ],
)
def test_each_rule(change: dict, broken: set[str]) -> None:
    assert _broken_rules([GOOD | change]) == [broken]


def test_duplicate_id_in_one_file_breaks_both_rows_but_not_across_files() -> None:
    rows = [GOOD, GOOD | {"title": "other"}, GOOD | {"request_id": "G2"}]
    assert _broken_rules(rows) == [{"rr.request_id.unique"}] * 2 + [set()]
    assert _broken_rules([GOOD], [GOOD]) == [set(), set()]


def test_every_catalogued_rule_is_exercised() -> None:
    catalogued = {r for r in rules() if r.startswith("rr.")}
    # 18 error rules, rr.submitted_date.future, 9 *.whitespace and 3 *.nul warnings, the
    # file-level header rule
    assert len(catalogued) == 18 + 1 + 9 + 3 + 1
    assert len(resource_request_schema().checks) == 18 + 1 + 9 + 3


def _broken_rules(*files: list[dict]) -> list[set[str]]:
    """Rules broken by each row (in file order) of one or more files, via the real schema."""
    con = duckdb.connect()
    cols = ", ".join(f"{c} VARCHAR" for c in RESOURCE_REQUESTS.columns)
    con.execute(
        "CREATE TABLE raw_resource_requests "
        f"(file_id INTEGER, source_file VARCHAR, source_row BIGINT, ingested_at TIMESTAMP, {cols})"
    )
    for file_id, rows in enumerate(files, start=1):
        for row_no, row in enumerate(rows, start=1):
            values = [row[c] for c in RESOURCE_REQUESTS.columns]
            con.execute(
                "INSERT INTO raw_resource_requests VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [file_id, f"f{file_id}", row_no, *values],
            )
    con.execute(f"CREATE VIEW {active_view('raw_resource_requests')} AS FROM raw_resource_requests")
    con.execute(TYPED_VIEW_SQL)
    _, findings = collect_findings(
        con,
        "SELECT * FROM resource_request_versions ORDER BY file_id, source_row",
        [],
        resource_request_schema(),
        "request_id",
    )
    keys = [(f, r) for f, rows in enumerate(files, start=1) for r in range(1, len(rows) + 1)]
    found = {k: set() for k in keys}
    if findings is not None:
        for row in findings.select("file_id", "source_row", "rule_id").iter_rows():
            found[(row[0], row[1])].add(row[2])
    return [found[k] for k in keys]


def test_demo_extracts_give_the_audit_figures(tmp_path: Path) -> None:
    """The demo's requests (independent of its SCR scale): 128 in FY2017-FY2022, 3 citing."""
    from pipelines.demo.extracts import write_demo_extracts

    (tmp_path / "landing").mkdir()
    write_demo_extracts(tmp_path / "landing", seed=2023, scale=0.05)
    with pytest.MonkeyPatch.context() as mp:
        _refresh(tmp_path, mp).dispose()
    summary = _parquet(
        tmp_path,
        "resource_request_summary.parquet",
        "SELECT sum(requests), sum(citing_scr_data), sum(not_citing_scr_data) FROM t "
        "WHERE fiscal_year BETWEEN 2017 AND 2022",
    )
    assert summary == [(128, 3, 125)]
    assert _parquet(
        tmp_path, "quarantined_resource_requests.parquet", "SELECT count(*) FROM t"
    ) == [(0,)]
