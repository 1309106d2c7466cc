"""``scr-pipeline verify``: the published measure equals a rebuild from the archive alone.

Real refreshes and a real verify (its rebuild refreshes in-process, in a temp dir), on a history of
several refreshes: a first file, a correction in a second file (a restatement), a retraction.
A tampered partition, a stale annual table and a file known to the warehouse but missing from
the archive must each make verify exit 1 naming the file. The Dagster asset check runs the
same comparison; the refresh stages must never run it (it takes the refresh lock itself).

``scr-pipeline verify`` runs as a console-script process where the process is what a person
meets (the passing verify, no history, ``--help``, a held lock); the failing and the other
passing cases run the same command in-process (``run_main_streams``: exit code, stdout and
stderr asserted), which saves an interpreter start each.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from support.extracts import valid_row, write_csv
from support.project import run_cli, run_main, run_main_streams, use_env

PART = "quarterly_measures/fiscal_year=2024/fiscal_quarter=2/data.parquet"


def _history(root: Path) -> None:
    """Three refreshes: two SCRs; a correction that withdraws one; a third SCR in Q3 (the
    command in-process: set-up, not the claim)."""
    landing = root / "landing"
    write_csv(landing / "scr_extract_2024-01-15.csv", [valid_row("A"), valid_row("B")])
    assert run_main(root, "refresh")[0] == 0
    write_csv(
        landing / "scr_extract_2024-02-01.csv",
        [valid_row("B", status="WITHDRAWN", last_modified_at="2024-02-01T09:00:00")],
    )
    assert run_main(root, "refresh")[0] == 0
    write_csv(
        landing / "scr_extract_2024-05-01.csv",
        [valid_row("C", approved_date="2024-04-20", last_modified_at="2024-04-20T12:00:00")],
    )
    code, output = run_main(root, "refresh")
    assert code == 0, output


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("verify")
    _history(root)
    return root


@pytest.fixture
def site(history: Path, tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(history, root)
    return root


def test_a_history_of_refreshes_verifies(site):
    # the history is what the test says: B was counted, then restated away; C counts in Q3
    restated = pq.read_table(site / "output" / "restatements.parquet").to_pylist()
    assert [(r["scr_id"], r["before_counted"], r["after_counted"]) for r in restated] == [
        ("B", True, False)
    ]
    result = run_cli(site, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: the" in result.stdout
    n_files = sum(1 for p in (site / "output").rglob("*") if p.is_file())
    assert f"the {n_files} published file(s)" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_tampered_partition_fails_and_is_named(site):
    part = site / "output" / PART
    table = pq.read_table(part)
    changed = table.set_column(
        table.column_names.index("dd_total"),
        "dd_total",
        [[v + 1 for v in table["dd_total"].to_pylist()]],
    )
    pq.write_table(changed, part)  # a well-formed file with a different number
    code, out, err = run_main_streams(site, "verify")
    assert code == 1, out
    assert PART in out
    assert "Traceback" not in err


def test_a_stale_annual_table_fails_even_with_a_matching_manifest(site):
    """Rewrite the annual table and its manifest entry consistently: only the rebuild sees it."""
    import hashlib

    annual = site / "output" / "annual_measures.parquet"
    table = pq.read_table(annual)
    i = table.column_names.index("dd_total")
    pq.write_table(table.set_column(i, "dd_total", [[0] * table.num_rows]), annual)
    manifest_path = site / "output" / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["files"]["annual_measures.parquet"]
    entry["sha256"] = hashlib.sha256(annual.read_bytes()).hexdigest()
    if "bytes" in entry:
        entry["bytes"] = annual.stat().st_size
    manifest_path.write_text(json.dumps(manifest))
    code, out, _ = run_main_streams(site, "verify")
    assert code == 1, out
    assert "annual_measures.parquet" in out
    assert "only in the published file" in out


def test_a_retraction_still_verifies(site):
    code, output = run_main(
        site, "retract", "scr_extract_2024-05-01.csv", "--reason", "sent in error"
    )
    assert code == 0, output
    assert run_main(site, "refresh")[0] == 0
    code, output = run_main(site, "verify")
    assert code == 0, output


def test_nothing_published_is_one_clear_message(tmp_path):
    result = run_cli(tmp_path, "verify")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "run scr-pipeline refresh first" in result.stderr + result.stdout


def test_verify_has_help(tmp_path):
    result = run_cli(tmp_path, "verify", "--help")
    assert result.returncode == 0
    assert "archive" in result.stdout.lower()


def test_refresh_stages_never_run_the_verify_check():
    """The verify check takes the refresh lock: inside a refresh it would wait on itself."""
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_plan import (
        INGEST,
        MEASURES,
        PUBLISH,
        VERIFY_CHECK,
        stage_check_keys,
    )

    graph = defs.resolve_asset_graph()
    assert VERIFY_CHECK in graph.asset_check_keys
    for stage in (INGEST, MEASURES, PUBLISH):
        keys = stage_check_keys(defs, stage)
        assert VERIFY_CHECK not in keys
    # and they still run every other check of their assets
    all_checks = set().union(*(stage_check_keys(defs, s) for s in (INGEST, MEASURES, PUBLISH)))
    assert all_checks == set(graph.asset_check_keys) - {VERIFY_CHECK}


def test_the_asset_check_reports_reproducible(site, monkeypatch):
    from pipelines.orchestration.definitions import defs

    use_env(monkeypatch, site)
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("scr_verify").execute_in_process(
            instance=instance, raise_on_error=False
        )
        evaluations = result.get_asset_check_evaluations()
    assert [(e.check_name, e.passed) for e in evaluations] == [("reproducible_from_archive", True)]
    meta = evaluations[0].metadata
    assert meta["difference_count"].value == 0
    assert meta["files_compared"].value == sum(
        1 for p in (site / "output").rglob("*") if p.is_file()
    )


def test_a_drawn_audit_sample_is_copied_and_keep_keeps_the_rebuild(site, tmp_path):
    """Audit samples are operator records: the rebuild gets them from the warehouse, so the
    published sample files verify; --keep leaves the rebuild (warehouse, output) to inspect."""
    import duckdb

    code, output = run_main(
        site, "audit", "draw", "--fiscal-years", "2024", "--size", "1", "--seed", "3"
    )
    assert code == 0, output
    kept = tmp_path / "kept"
    code, out, err = run_main_streams(site, "verify", "--keep", str(kept))
    assert code == 0, out + err
    assert "audit-sample record(s) copied" in out
    [rebuild] = list(kept.iterdir())
    assert f"the rebuild is kept in {rebuild}" in out
    with duckdb.connect(str(rebuild / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM audit_samples").fetchall() == [(1,)]
    assert (rebuild / "output" / "_manifest.json").is_file()


def test_verify_while_a_refresh_holds_the_lock_exits_3(site, monkeypatch):
    from pipelines.orchestration.refresh_stamp import refresh_lock

    use_env(monkeypatch, site)
    with refresh_lock():
        result = run_cli(site, "verify")
    assert result.returncode == 3
    assert result.stderr.startswith("error: another refresh is running")
    assert "Traceback" not in result.stderr


def test_the_copied_publication_history_keeps_its_key(tmp_path):
    """The rebuild records its own publication with INSERT OR REPLACE, which needs the key of
    ``publications``; a plain CREATE TABLE AS copy lost it, and the rebuild's refresh failed
    ("There are no UNIQUE/PRIMARY KEY constraints ...") whenever it was a new publication."""
    import duckdb

    from pipelines.orchestration.verify import _copy_records

    live = tmp_path / "live.duckdb"
    with duckdb.connect(str(live)) as con:
        con.execute(
            "CREATE TABLE publications (refresh_id VARCHAR PRIMARY KEY, published_at TIMESTAMP)"
        )
        con.execute("INSERT INTO publications VALUES ('r1', '2026-12-01 10:00:00')")
    with duckdb.connect(str(tmp_path / "rebuild.duckdb")) as con:
        assert _copy_records(con, live) == 0
        con.execute("INSERT OR REPLACE INTO publications VALUES ('r1', '2026-12-02 10:00:00')")
        con.execute("INSERT OR REPLACE INTO publications VALUES ('r2', '2026-12-03 10:00:00')")
        assert con.execute(
            "SELECT refresh_id, day(published_at) FROM publications ORDER BY 1"
        ).fetchall() == [
            ("r1", 2),
            ("r2", 3),
        ]
