"""Every finding in one query (assets/_shared/findings.py), on a hand-made warehouse.

Two SCR findings of an active file, one of a replaced file (left out), one resource-request
finding, and one indicator conflict on a current SCR: the published order, the rows a reader
of ``all_findings`` counts with its own bound parameters, and catalogue words holding a quote
coming through unchanged.
"""

import duckdb
import pytest

from assets._shared import findings
from assets._shared.migrations import FINDINGS_COLUMNS
from schemas.reference import Rule
from schemas.tco_definition import INDICATOR_CONFLICT_RULE


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE ingested_files (file_id INTEGER, state VARCHAR)")
    c.execute("INSERT INTO ingested_files VALUES (1, 'active'), (2, 'replaced'), (3, 'active')")
    for table in ("scr_findings", "resource_request_findings"):
        c.execute(f"CREATE TABLE {table} ({FINDINGS_COLUMNS})")
    c.execute(
        "INSERT INTO scr_findings VALUES "
        "(1, 'scr_extract_b.csv', 4, 'S-2', 'C2', 'scr.status.allowed', 'error', 'status', 'X', 'm1'),"
        "(1, 'scr_extract_b.csv', 2, 'S-1', 'C1', 'scr.scr_id.present', 'error', 'scr_id', '', 'm2'),"
        "(2, 'scr_extract_a.csv', 2, 'S-1', 'C1', 'scr.status.allowed', 'error', 'status', 'Y', 'm3')"
    )
    c.execute(
        "INSERT INTO resource_request_findings VALUES "
        "(3, 'resource_requests_a.csv', 7, 'R-9', 'C9', 'rr.amount.number', 'warning', "
        "'amount_usd', 'ten', 'm4')"
    )
    c.execute(
        "CREATE TABLE scr_current AS SELECT 'S-3' AS scr_id, 'C3' AS case_number, "
        "'scr_extract_a.csv' AS source_file, 9::BIGINT AS source_row, 'N' AS tco_involvement, "
        "'2' AS subject_count, 'US;MX' AS countries, true AS indicator_conflict"
    )
    yield c
    c.close()


def test_published_order_and_columns(con):
    cur = con.execute(findings.findings_sql(con))
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert [(r["source_file"], r["source_row"], r["rule_id"]) for r in rows] == [
        ("resource_requests_a.csv", 7, "rr.amount.number"),
        ("scr_extract_a.csv", 9, INDICATOR_CONFLICT_RULE),  # file 2's finding: replaced, out
        ("scr_extract_b.csv", 2, "scr.scr_id.present"),
        ("scr_extract_b.csv", 4, "scr.status.allowed"),
    ]
    assert [r["scr_id"] for r in rows] == [None, "S-3", "S-1", "S-2"]  # rr rows have no SCR
    assert [r["extract_type"] for r in rows] == ["resource_requests"] + ["scr_extract"] * 3


def test_a_reader_binds_its_own_parameters(con):
    sql = findings.with_findings(
        con, "SELECT count(*) FROM all_findings WHERE severity = $severity"
    )
    assert con.execute(sql, {"severity": "error"}).fetchall() == [(2,)]  # file 1's two
    assert con.execute(sql, {"severity": "warning"}).fetchall() == [(2,)]  # rr + the conflict
    assert "all_findings" not in {r[0] for r in con.execute("SHOW ALL TABLES").fetchall()}


def test_catalogue_words_with_quotes_come_through(con, monkeypatch):
    words = "Checkbox says 'N' but the narrative's facts say otherwise; --"
    rule = Rule(INDICATOR_CONFLICT_RULE, "tco_involvement", "warning", words)
    monkeypatch.setattr(findings, "rules", lambda: {INDICATOR_CONFLICT_RULE: rule})
    sql = findings.with_findings(con, "SELECT message FROM all_findings WHERE rule_id = $rule")
    [(message,)] = con.execute(sql, {"rule": INDICATOR_CONFLICT_RULE}).fetchall()
    assert message == words + " (got tco_involvement N, subject_count 2, countries US;MX)"
