"""Quarantine and reconciliation on a hand-written two-file fixture, with exact numbers.

Quarantine: a current SCR version that breaks an error rule is excluded from every measure and
listed with its reasons; an older valid version does not stand in; warnings are kept and
counted; quarantined rows stay in the warehouse. Reconciliation: rows read = valid +
quarantined = current + superseded, per file, and the ``rows_reconcile`` check fails (and
blocks publishing) when the warehouse is tampered with.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from support.extracts import DRUGS, valid_row, write_csv
from support.project import (
    output_hashes,
    quarterly,
    query,
    read_output,
    refresh_in_process,
    use_env,
)

F1, F2 = "scr_extract_2024-01-15.csv", "scr_extract_2024-02-15.csv"
CYBER = "Cyber-Enabled Crime"


def _first_file() -> list[dict[str, str]]:
    return [
        valid_row("A"),  # DISRUPTION, TCO, counted
        # DISMANTLEMENT whose checkbox says Y but the definition test fails: warning, counted
        valid_row("B", scr_type="DISMANTLEMENT", subject_count="1", countries="US",
                  criminal_category=DRUGS),
        valid_row("C", last_modified_at="2024-01-10T12:00:00"),  # valid v1, superseded below
        valid_row("D", scr_type="INITIAL"),  # INITIAL, TCO
        valid_row("E", scr_type="INITIAL", countries="US;XX"),  # error: countries.format
    ]  # fmt: skip


def _second_file() -> list[dict[str, str]]:
    return [
        # C v2 (later last_modified_at) breaks approved_date.format: C is quarantined as a whole
        valid_row("C", approved_date="2024-13-01", last_modified_at="2024-02-01T08:00:00"),
        valid_row("F", status="PENDING", approved_date=""),  # not approved: not counted
        # checkbox N while the definition test says TCO: warning, counted as NON_TCO indicator_no
        valid_row("G", tco_involvement="N", criminal_category=CYBER),
    ]


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("quarantine")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, root)
        write_csv(root / "landing" / F1, _first_file())
        write_csv(root / "landing" / F2, _second_file())
        refresh_in_process(root)
        yield root, mp


def test_quarter_counts_exclude_quarantined_scrs(refreshed):
    root, _ = refreshed
    q = quarterly(root / "output")
    assert list(q) == [(2024, 2)]
    row = q[(2024, 2)]
    got = {k: row[k] for k in ("initial_approved", "disruptions", "dismantlements", "dd_total",
                               "dd_tco", "dd_non_tco", "dd_undetermined", "initial_tco")}  # fmt: skip
    # D | A, G | B | A | B, G | D   (C and E quarantined, F pending)
    assert got == {
        "initial_approved": 1,
        "disruptions": 2,
        "dismantlements": 1,
        "dd_total": 3,
        "dd_tco": 1,
        "dd_non_tco": 2,
        "dd_undetermined": 0,
        "initial_tco": 1,
    }
    assert row["pct_all"] == 3.0 and row["pct_tco"] == 1.0


def test_category_measures_exclude_quarantined(refreshed):
    root, _ = refreshed
    con = duckdb.connect()
    rows = con.execute(
        'SELECT criminal_category, dd_total, dd_tco, "both", indicator_no FROM read_parquet(?, '
        "hive_partitioning=true) WHERE dd_total > 0 ORDER BY criminal_category",
        [str(root / "output" / "category_measures" / "**" / "*.parquet")],
    ).fetchall()
    assert rows == [(CYBER, 1, 0, 0, 1), (DRUGS, 1, 0, 1, 0), ("National Security", 1, 1, 0, 0)]


def test_quarantined_scrs_listed_with_reasons(refreshed):
    root, _ = refreshed
    listed = read_output(root / "output", "quarantined_scrs.parquet")
    assert [
        (r["scr_id"], r["quarantine_rules"], r["source_file"], r["source_row"]) for r in listed
    ] == [
        ("C", "scr.approved_date.format", F2, 1),
        ("E", "scr.countries.format", F1, 5),
    ]


def test_older_valid_version_does_not_stand_in(refreshed):
    root, _ = refreshed
    assert query(
        root / "warehouse.duckdb",
        "SELECT versions, source_file, quarantined, counted, determination FROM scr_current "
        "WHERE scr_id = 'C'",
    ) == [(2, F2, True, False, None)]


def test_warnings_are_kept_and_counted(refreshed):
    root, _ = refreshed
    found = read_output(root / "output", "validation_findings.parquet")
    warnings = sorted((f["scr_id"], f["rule_id"]) for f in found if f["severity"] == "warning")
    assert warnings == [
        ("B", "scr.tco_involvement.conflict"),
        ("G", "scr.tco_involvement.conflict"),
    ]
    errors = sorted(
        (f["scr_id"], f["rule_id"], f["source_file"]) for f in found if f["severity"] == "error"
    )
    assert errors == [("C", "scr.approved_date.format", F2), ("E", "scr.countries.format", F1)]
    assert query(
        root / "warehouse.duckdb",
        "SELECT scr_id, counted, determination, non_tco_reason FROM scr_current "
        "WHERE indicator_conflict ORDER BY scr_id",
    ) == [("B", True, "NON_TCO", "both"), ("G", True, "NON_TCO", "indicator_no")]


def test_quarantined_rows_stay_in_the_warehouse(refreshed):
    root, _ = refreshed
    wh = root / "warehouse.duckdb"
    assert query(wh, "SELECT count(*) FROM raw_scr_versions") == [(8,)]
    assert query(wh, "SELECT count(*) FROM raw_scr_versions WHERE scr_id IN ('C', 'E')") == [(3,)]
    assert query(wh, "SELECT count(*), count(*) FILTER (quarantined), count(*) FILTER (counted) "
                     "FROM scr_current") == [(7, 2, 4)]  # fmt: skip


def test_reconciliation_per_file(refreshed):
    root, _ = refreshed
    rec = read_output(root / "output", "ingest_reconciliation.parquet")
    cols = (
        "file",
        "records_in_file",  # the second reader's count (assets/landing/csv_records.py)
        "rows_read",
        "rows_valid",
        "rows_quarantined",
        "rows_current",
        "rows_superseded",
    )
    assert [tuple(r[c] for c in cols) for r in rec] == [
        (F1, 5, 5, 4, 1, 4, 1),
        (F2, 3, 3, 2, 1, 3, 0),
    ]
    for r in rec:
        assert len(r["content_sha256"]) == 64 and r["ingested_at"] is not None
        assert r["source_file"] == r["file"]


def _run_reconcile() -> tuple[bool, dict, dg.ExecuteInProcessResult]:
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_plan import JOB_NAME

    with dg.DagsterInstance.ephemeral() as inst:
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(
            instance=inst,
            asset_selection=[dg.AssetKey("ingest_reconciliation")],
            raise_on_error=False,
        )
    (ev,) = result.get_asset_check_evaluations()
    assert ev.check_name == "rows_reconcile"
    return ev.passed, {k: v.value for k, v in ev.metadata.items()}, result


TAMPERING = {
    "rows_read inflated": (
        "UPDATE ingested_files SET rows_read = rows_read + 1 WHERE source_file = 'scr_extract_2024-01-15.csv'",
        {"files_not_reconciling": [F1]},
    ),
    "a record of the file not read": (  # what a reader that drops a record silently leaves
        "UPDATE ingested_files SET records_in_file = records_in_file + 1 "
        "WHERE source_file = 'scr_extract_2024-01-15.csv'",
        {"files_not_reconciling": [F1]},
    ),
    "raw row lost": (
        "DELETE FROM raw_scr_versions WHERE scr_id = 'F'",
        {"files_not_reconciling": [F2], "scr_ids_without_one_current_record": -1},
    ),
    "current record lost": (
        "DELETE FROM scr_current WHERE scr_id = 'A'",
        {"scr_ids_without_one_current_record": 1, "counted_scrs_not_in_quarterly_measures": -1},
    ),
    "quarantine flag flipped": (
        "UPDATE scr_current SET quarantined = false WHERE scr_id = 'E'",
        {"current_records_with_wrong_quarantine": 1},
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERING))
def test_rows_reconcile_check_fails_when_tampered(refreshed, tmp_path, tamper):
    root, _ = refreshed
    wh = root / "warehouse.duckdb"
    backup = tmp_path / "warehouse.duckdb"
    backup.write_bytes(wh.read_bytes())
    try:
        passed, meta, _ = _run_reconcile()
        assert passed, meta  # untampered: adds up
        sql, expected = TAMPERING[tamper]
        con = duckdb.connect(str(wh))
        con.execute(sql)
        con.close()
        passed, meta, result = _run_reconcile()
        assert not passed
        problems = {k: v for k, v in meta.items() if v}
        assert problems == expected
    finally:
        wh.write_bytes(backup.read_bytes())


def test_failed_reconciliation_blocks_publishing(refreshed, tmp_path):
    """A refresh whose numbers do not add up changes no published file (partitions included,
    no temp or staging file left); once the warehouse adds up again, the next refresh publishes."""
    root, _ = refreshed
    wh = root / "warehouse.duckdb"
    backup = tmp_path / "warehouse.duckdb"
    backup.write_bytes(wh.read_bytes())
    landing_extra = root / "landing" / "scr_extract_2024-03-01.csv"
    try:
        con = duckdb.connect(str(wh))
        con.execute("DELETE FROM raw_scr_versions WHERE scr_id = 'F'")
        con.close()
        before = output_hashes(root / "output")
        assert any("fiscal_year=" in k for k in before) and "_manifest.json" in before
        write_csv(landing_extra, [valid_row("H")])  # new data: a quarter changes
        from pipelines.cli.refresh import RefreshFailed

        with pytest.raises(RefreshFailed, match="rows_reconcile") as failed:
            refresh_in_process(root)
        assert (  # which check, what it verifies, and that nothing was published
            "ingest_reconciliation: rows_reconcile (Per file: records in the file"
            in str(failed.value)
            and "Nothing further was published" in str(failed.value)
        ), str(failed.value)
        assert output_hashes(root / "output") == before  # every file, byte for byte
        leftovers = [
            p
            for p in (root / "output").rglob("*")
            if p.name.endswith(".tmp") or p.name.startswith(".staging-")
        ]
        assert leftovers == []
        # still failing: the next refresh runs the checks again (repair), and stops again
        with pytest.raises(RefreshFailed, match="rows_reconcile"):
            refresh_in_process(root)
        assert output_hashes(root / "output") == before
    finally:
        landing_extra.unlink(missing_ok=True)
        wh.write_bytes(backup.read_bytes())


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from pipelines.cli.main import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_findings_command_summarizes_by_rule_and_file(refreshed, capsys):
    code, out, _ = _cli(["findings"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("2 error(s), 2 warning(s); 2 current SCR(s) quarantined in total")
    rows = [line.split() for line in lines[2:]]
    assert rows == [
        ["scr.approved_date.format", "error", F2, "1", "1"],
        ["scr.countries.format", "error", F1, "1", "1"],
        ["scr.tco_involvement.conflict", "warning", F1, "1", "1"],
        ["scr.tco_involvement.conflict", "warning", F2, "1", "1"],
    ]


def test_findings_command_filters(refreshed, capsys):
    code, out, _ = _cli(["findings", "--rule", "scr.countries.format"], capsys)
    assert code == 0 and len(out.splitlines()) == 3 and F1 in out and F2 not in out
    code, out, _ = _cli(["findings", "--file", F2, "--details"], capsys)
    assert code == 0
    assert "1 error(s), 1 warning(s)" in out and F1 not in out
    from schemas.reference import rules

    assert f"{rules()['scr.approved_date.format'].description} (got '2024-13-01')" in out
    code, _, err = _cli(["findings", "--rule", "scr.nope"], capsys)
    assert code == 1 and err.startswith("error: unknown rule 'scr.nope'")


def test_findings_help(capsys):
    from pipelines.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["findings", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--rule" in out and "--file" in out and "read" in out
