"""Helpers shared by the validation tests: hand-written SCR rows, real refreshes, snapshots.

Why a module and not conftest fixtures: the validation tests build many small extracts and
compare warehouse/output state before and after; plain functions keep that explicit.
"""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from schemas.extracts import SCR

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCR_COLUMNS = list(SCR.columns)
NATSEC = "National Security"
DRUGS = "Illicit Trade, Travel, and Finance (Drug-Related)"


def valid_row(scr_id: str = "SCR-1", **overrides: str) -> dict[str, str]:
    """An approved DISRUPTION that passes every rule and is determined TCO (FY2024 Q2)."""
    row = {
        "scr_id": scr_id,
        "case_number": "CASE-" + (overrides.get("scr_id", scr_id) or "X")[:20],
        "scr_type": "DISRUPTION",
        "criminal_category": NATSEC,
        "subcategory": "",
        "field_office": "SAC Houston",
        "status": "APPROVED",
        "created_at": "2024-01-02T09:00:00",
        "submitted_date": "2024-01-03",
        "approved_date": "2024-01-10",
        "tco_involvement": "Y",
        "subject_count": "3",
        "countries": "US;MX",
        "last_modified_at": "2024-01-10T12:00:00",
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise KeyError(f"not SCR columns: {sorted(unknown)}")
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """RFC 4180 CSV (quotes, commas and newlines quoted) with a header row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = columns or SCR_COLUMNS
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def env_for(root: Path) -> dict[str, str]:
    """The contract's environment variables pointing into ``root``."""
    return {
        "SCR_LANDING_DIR": str(root / "landing"),
        "SCR_WAREHOUSE": str(root / "warehouse.duckdb"),
        "SCR_OUTPUT_DIR": str(root / "output"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "SCR_ARCHIVE_DIR": str(root / "archive"),
        "SCR_SETTLE_SECONDS": "0",
    }


def use_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> dict[str, str]:
    env = env_for(root)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    (root / "landing").mkdir(parents=True, exist_ok=True)
    return env


def refresh_in_process(root: Path):
    """One real refresh (all three stages) through Dagster, in-process, env already set."""
    from pipelines.definitions import defs
    from pipelines.refresh import run_refresh

    with dg.DagsterInstance.ephemeral() as inst:
        return run_refresh(defs, inst, progress=lambda s: None)


def console_script() -> Path:
    venv = PROJECT_ROOT / ".venv" / "bin" / "scr-pipeline"
    return venv if venv.exists() else Path(sys.executable).parent / "scr-pipeline"


def cli_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCR_", "DAGSTER_"))}
    return env | env_for(root)


def run_cli(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``scr-pipeline ARGS`` as a real console script with the env of ``root``."""
    return subprocess.run(
        [str(console_script()), *args],
        env=cli_env(root),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
    )


def output_hashes(output_dir: Path) -> dict[str, str]:
    """sha256 of every file under the output dir, by relative path."""
    return {
        str(p.relative_to(output_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(output_dir.rglob("*"))
        if p.is_file()
    }


def table_counts(warehouse: Path) -> dict[str, int]:
    """Row count of every table in the warehouse (read-only connection)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchall()[0][0] for n in names}
    finally:
        con.close()


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def quarterly(output_dir: Path) -> dict[tuple[int, int], dict]:
    """The published quarterly_measures rows, by (fiscal_year, fiscal_quarter)."""
    root = output_dir / "quarterly_measures"
    if not root.exists():
        return {}
    import pyarrow.dataset as ds

    table = ds.dataset(root, partitioning="hive", format="parquet").to_table()
    return {(r["fiscal_year"], r["fiscal_quarter"]): r for r in table.to_pylist()}


def read_output(output_dir: Path, name: str) -> list[dict]:
    return pq.read_table(output_dir / name).to_pylist()
