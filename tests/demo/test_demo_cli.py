"""`scr-pipeline demo` end to end in a subprocess, as a newcomer runs it (small scale)."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb


def test_demo_writes_every_output(tmp_path):
    env = os.environ | {
        "SCR_LANDING_DIR": str(tmp_path / "landing"),
        "SCR_WAREHOUSE": str(tmp_path / "wh.duckdb"),
        "SCR_OUTPUT_DIR": str(tmp_path / "out"),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.cli.main", "demo", "--scale", "0.05", "--seed", "7"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[publish]" in proc.stdout and "quarantined" in proc.stdout
    out = tmp_path / "out"
    for name in (
        "annual_measures.parquet",
        "validation_findings.parquet",
        "ingest_reconciliation.parquet",
    ):
        assert (out / name).is_file(), name
    with duckdb.connect() as con:
        years = con.execute(
            f"SELECT min(fiscal_year), max(fiscal_year), sum(dd_total), sum(dd_tco) FROM read_parquet("
            f"'{out}/quarterly_measures/**/*.parquet', hive_partitioning = true)"
        ).fetchall()[0]
        cats = con.execute(
            f"SELECT count(DISTINCT criminal_category) FROM read_parquet('{out}/category_measures/**/*.parquet')"
        ).fetchall()[0][0]
        errors = con.execute(
            f"SELECT count(*) FROM read_parquet('{out}/validation_findings.parquet') WHERE severity = 'error'"
        ).fetchall()[0][0]
    assert years[0] == 2017 and years[1] >= 2024
    assert 0 < years[3] < years[2]  # the TCO-validated count is below the old count
    assert cats == 8
    assert errors >= 3  # the demo plants invalid rows at every scale
    # a reader that stops early (`| head -1`) gets its line and no error, on every command
    shell = (
        f"{sys.executable} -m pipelines.cli.main explain --quarter FY2024-Q1 --csv | head -1; "
        "echo status=${PIPESTATUS[0]}"
    )
    piped = subprocess.run(
        ["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=300
    )
    assert piped.stdout.splitlines()[0].startswith("scr_id,case_number,")
    assert piped.stdout.splitlines()[-1] == "status=0"
    assert "Error" not in piped.stderr and "Traceback" not in piped.stderr, piped.stderr


def test_ui_says_what_it_starts_and_how_to_start_without_it():
    from pipelines.cli.main import automation_lines, build_parser
    from pipelines.orchestration.definitions import defs

    lines = automation_lines()
    names = [s.name for s in defs.sensors] + [s.name for s in defs.schedules]
    assert len(lines) == len(names) == 6
    assert all(f" {n} (running)" in line for n, line in zip(names, lines, strict=True))
    args = build_parser().parse_args(["ui", "--no-automation"])
    assert args.no_automation and args.port == 3000
