"""Parquet extracts as another tool would write them (pandas: dates as midnight timestamps,
integer columns with gaps as floats) count exactly like the same rows in CSV."""

from __future__ import annotations

import pandas as pd
from support.extracts import FILE_A, write_csv


def _pandas_parquet(path, rows):
    df = pd.DataFrame(rows).replace({"": None})
    for c in ("submitted_date", "approved_date", "created_at", "last_modified_at"):
        df[c] = pd.to_datetime(df[c])
    df["subject_count"] = pd.to_numeric(df["subject_count"])  # float64 where some are missing
    df.to_parquet(path, index=False)
    return df


def test_typed_parquet_counts_like_csv(project, tmp_path, monkeypatch):
    df = _pandas_parquet(project.landing / "scr_extract_2024-01-10.parquet", FILE_A)
    assert str(df["subject_count"].dtype) == "float64"
    project.refresh()
    from_parquet = project.read_output(
        "SELECT * FROM read_parquet('{out}/quarterly_measures/**/*.parquet', hive_partitioning=true) ORDER BY ALL"
    )
    findings = project.read_output(
        "SELECT scr_id, rule_id FROM read_parquet('{out}/validation_findings.parquet') ORDER BY ALL"
    )
    assert findings == [
        ("A11", "scr.tco_involvement.required_from_2023_07_18"),
        ("A6", "scr.tco_involvement.conflict"),
    ]
    assert project.query(
        "SELECT subject_count, approved_date FROM raw_scr_versions WHERE scr_id = 'A1'"
    ) == [("3", "2023-09-30")]

    csv_root = tmp_path / "csv"  # the same rows as CSV, in a second environment
    monkeypatch.setenv("SCR_LANDING_DIR", str(csv_root / "landing"))
    monkeypatch.setenv("SCR_WAREHOUSE", str(csv_root / "wh.duckdb"))
    monkeypatch.setenv("SCR_OUTPUT_DIR", str(csv_root / "out"))
    write_csv(csv_root / "landing" / "scr_extract_2024-01-10.csv", FILE_A)
    import dagster as dg

    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    with dg.DagsterInstance.ephemeral() as inst:
        run_refresh(defs, inst, progress=lambda _: None)
    import duckdb

    with duckdb.connect() as con:
        from_csv = con.execute(
            f"SELECT * FROM read_parquet('{csv_root}/out/quarterly_measures/**/*.parquet', "
            "hive_partitioning=true) ORDER BY ALL"
        ).fetchall()
    assert from_parquet == from_csv and len(from_csv) == 3
