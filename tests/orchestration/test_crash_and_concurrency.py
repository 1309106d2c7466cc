"""A killed refresh loses nothing; two refreshes never run at once; readers are told, not crashed.

A real ``scr-pipeline refresh`` (subprocess) on a generated extract of 200,000 SCR versions is
killed with SIGKILL while it ingests (the big file is open), while it measures (its run's
event-log file appeared) or while it publishes (its staging dir appeared). The published outputs
stay byte-identical (killed in ingest or measures) or at least every published file stays whole
(killed in publish), and the next refresh repairs: the exact counts the generated file implies,
and every output file equal to a fresh rebuild in a new workspace. Refreshes take one lock: a second one exits 3 with "another refresh is running"
(never a DuckDB lock error), ``--wait`` waits; ``findings`` says the warehouse is busy.

Only the refreshes whose claim is about a process (the killed one, the two at once, the one that
waits, the ones meeting a lock held by this test process) are processes of their own; the first
refresh, the repairing refreshes, ``verify`` and the later ``findings`` run the same command
in-process (``run_main``: the console script's environment, exit code asserted).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import psutil
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pytest
from support.extracts import valid_row, write_csv
from support.project import (
    cli_env,
    console_script,
    output_hashes,
    quarterly,
    run_cli,
    run_main,
    table_counts,
    use_env,
)

from assets.publish.manifest import check_manifest

BIG = "scr_extract_2023-10-13.csv"
SCRS, VERSIONS = 40_000, 5  # 200,000 rows; the last version of each SCR is approved
# approved dates cycle over FY2023 Q1..Q4 (Oct 2022 .. Sep 2023)
APPROVED = ["2022-11-15", "2023-02-15", "2023-05-15", "2023-08-15"]


def _write_big_extract(path: Path) -> None:
    """SCRS ids x VERSIONS versions: earlier versions PENDING, the last one APPROVED."""
    n = SCRS * VERSIONS
    ids = [f"BIG-{i // VERSIONS:06d}" for i in range(n)]
    version = [i % VERSIONS for i in range(n)]
    last = [v == VERSIONS - 1 for v in version]
    approved = [APPROVED[(i // VERSIONS) % 4] if last[i] else "" for i in range(n)]
    submitted = [a or "2022-10-20" for a in approved]
    table = pa.table(
        {
            "scr_id": ids,
            "case_number": [f"CASE-{x}" for x in ids],
            "scr_type": ["DISRUPTION"] * n,
            "criminal_category": ["National Security"] * n,
            "subcategory": ["generated"] * n,
            "field_office": ["SAC Houston"] * n,
            "status": ["APPROVED" if x else "PENDING" for x in last],
            "created_at": ["2022-10-01T08:00:00"] * n,
            "submitted_date": submitted,
            "approved_date": approved,
            "tco_involvement": [""] * n,
            "subject_count": ["3"] * n,
            "countries": ["US;MX"] * n,
            "last_modified_at": [f"2023-09-0{v + 1}T10:00:00" for v in version],
        }
    )
    pacsv.write_csv(table, path)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A good first refresh (in-process, the CLI's instance) and the big extract, ready to be
    copied per test."""
    root = tmp_path_factory.mktemp("crash_base")
    write_csv(root / "landing" / "scr_extract_2022-12-01.csv", [valid_row("A"), valid_row("B")])
    code, output = run_main(root, "refresh")
    assert code == 0, output
    big = tmp_path_factory.mktemp("crash_input") / BIG
    _write_big_extract(big)
    return root, big


def _copy(base_root: Path, dest: Path) -> Path:
    shutil.copytree(base_root, dest, symlinks=True)  # the output link stays a link
    return dest


def _start_refresh(root: Path, *args: str) -> tuple[subprocess.Popen, list[str]]:
    """Start ``scr-pipeline refresh`` and collect its stdout lines as they come."""
    env = cli_env(root) | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(console_script()), "refresh", *args],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    return proc, lines


def _wait_until(cond, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert proc.poll() is None, f"refresh ended early: {proc.returncode} {proc.stderr.read()}"
        assert time.monotonic() < deadline, "timed out waiting for the refresh"
        time.sleep(0.02)


def _has_open(proc: subprocess.Popen, name: str) -> bool:
    try:
        return any(Path(f.path).name == name for f in psutil.Process(proc.pid).open_files())
    except psutil.Error:
        return False


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _assert_big_counted(root: Path) -> None:
    """Exact numbers: 15,000 approved disruptions per FY2023 quarter, plus A and B (FY2024 Q2)."""
    q = quarterly(root / "output")
    assert {k: (v["disruptions"], v["dd_tco"]) for k, v in q.items()} == {
        (2023, 1): (SCRS // 4, SCRS // 4),
        (2023, 2): (SCRS // 4, SCRS // 4),
        (2023, 3): (SCRS // 4, SCRS // 4),
        (2023, 4): (SCRS // 4, SCRS // 4),
        (2024, 2): (2, 2),
    }
    counts = table_counts(root / "warehouse.duckdb")
    assert counts["raw_scr_versions"] == SCRS * VERSIONS + 2
    assert counts["scr_current"] == SCRS + 2
    assert counts["ingested_files"] == 2


def _every_output_file_whole(output: Path) -> None:
    for path in output.rglob("*.parquet"):
        assert not path.name.startswith("."), path
        ds.dataset(path, format="parquet").to_table()  # raises on a half-written file


def test_sigkill_while_ingesting_leaves_outputs_and_warehouse_as_they_were(base, tmp_path):
    base_root, big = base
    root = _copy(base_root, tmp_path / "kill_ingest")
    shutil.copy(big, root / "landing" / BIG)
    before = output_hashes(root / "output"), table_counts(root / "warehouse.duckdb")
    proc, _ = _start_refresh(root)
    _wait_until(lambda: _has_open(proc, BIG), proc)
    _kill(proc)
    assert (output_hashes(root / "output"), table_counts(root / "warehouse.duckdb")) == before
    code, output = run_main(root, "refresh")
    assert code == 0, output
    _assert_big_counted(root)


def _run_dbs(root: Path) -> int:
    """Dagster's SQLite storage keeps one event-log file per run: a run has started when its
    file appears (the file system tells, not a log line)."""
    runs = (root / "dagster_home" / "history" / "runs").glob("*.db")
    return sum(len(p.stem) == 36 for p in runs)  # <run id>.db, not the index


def _staging(root: Path) -> bool:
    """A publish is writing its new release (beside the output link, never under it)."""
    return any((root / "output.releases").glob(".staging-*"))


def _assert_repaired_equals_rebuild(root: Path, tmp_path: Path) -> None:
    """The next refresh repairs: exit 0, the manifest holds, and every file (partitions
    included) equals a rebuild from the archive of the same history (``scr-pipeline verify``,
    which replays the archived files in a temp dir and compares every output)."""
    code, output = run_main(root, "refresh")
    assert code == 0, output
    assert "nothing new" not in output
    _assert_big_counted(root)
    assert check_manifest(root / "output") == []
    code, output = run_main(root, "verify")
    assert code == 0, output
    code, output = run_main(root, "refresh")  # repaired for good: nothing left to do
    assert code == 0 and "nothing new" in output, output


def test_sigkill_while_measuring_changes_no_output_and_next_refresh_repairs(base, tmp_path):
    base_root, big = base
    root = _copy(base_root, tmp_path / "kill_measures")
    shutil.copy(big, root / "landing" / BIG)
    before, runs = output_hashes(root / "output"), _run_dbs(root)
    proc, _ = _start_refresh(root)
    _wait_until(
        lambda: _run_dbs(root) >= runs + 2, proc
    )  # ingest done, the measure-and-publish run started
    _kill(proc)
    assert output_hashes(root / "output") == before  # measures touch warehouse tables only
    _assert_repaired_equals_rebuild(root, tmp_path)


def test_sigkill_while_publishing_leaves_whole_files_and_next_refresh_repairs(base, tmp_path):
    base_root, big = base
    root = _copy(base_root, tmp_path / "kill_publish")
    shutil.copy(big, root / "landing" / BIG)
    proc, _ = _start_refresh(root)
    _wait_until(lambda: _staging(root), proc)  # the publish step is writing its staging dir
    _kill(proc)
    _every_output_file_whole(root / "output")
    _assert_repaired_equals_rebuild(root, tmp_path)
    assert not _staging(root)  # the killed refresh's staging dir was removed


def test_two_refreshes_at_once_one_runs_the_other_exits_3(base, tmp_path):
    base_root, big = base
    root = _copy(base_root, tmp_path / "two")
    shutil.copy(big, root / "landing" / BIG)
    procs = [_start_refresh(root)[0] for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    loser = next(err for code, err in results if code == 3)
    assert loser.strip().splitlines() == [loser.strip()]
    assert "another refresh is running" in loser
    assert "Could not set lock" not in loser and "IOException" not in loser
    _assert_big_counted(root)


def test_second_refresh_exits_3_while_the_lock_is_held(base, tmp_path, monkeypatch):
    from pipelines.orchestration.refresh_stamp import refresh_lock

    root = _copy(base[0], tmp_path / "held")
    use_env(monkeypatch, root)
    with refresh_lock():
        proc = run_cli(root, "refresh")
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: another refresh is running (pid ")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_wait_waits_for_the_running_refresh(base, tmp_path, monkeypatch):
    from pipelines.orchestration.refresh_stamp import refresh_lock

    root = _copy(base[0], tmp_path / "wait")
    use_env(monkeypatch, root)
    write_csv(root / "landing" / "scr_extract_2023-01-01.csv", [valid_row("W")])
    with refresh_lock():
        proc, lines = _start_refresh(root, "--wait")
        _wait_until(lambda: any(line.startswith("refresh:") for line in lines), proc)
        time.sleep(2)  # it has reached the lock by now (the line is printed just before)
        assert proc.poll() is None, "refresh --wait did not wait for the held lock"
        assert table_counts(root / "warehouse.duckdb")["raw_scr_versions"] == 2
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert table_counts(root / "warehouse.duckdb")["raw_scr_versions"] == 3


def test_refresh_against_a_held_duckdb_writer_says_busy(base, tmp_path):
    """Another process (a Dagster UI run, a notebook) holds the DuckDB file: no raw lock error."""
    root = _copy(base[0], tmp_path / "duck")
    write_csv(root / "landing" / "scr_extract_2023-01-01.csv", [valid_row("W")])
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        proc = run_cli(root, "refresh")
    finally:
        con.close()
    assert proc.returncode == 3, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "in use by another process" in proc.stderr
    assert "Could not set lock" not in proc.stderr and "Traceback" not in proc.stderr


def test_findings_while_a_refresh_writes_says_busy(base, tmp_path):
    root = _copy(base[0], tmp_path / "findings")
    con = duckdb.connect(str(root / "warehouse.duckdb"))  # the writer lock, as a refresh holds it
    try:
        proc = run_cli(root, "findings")
    finally:
        con.close()
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "busy: a refresh is writing to it right now" in proc.stderr
    assert "Could not set lock" not in proc.stderr
    code, output = run_main(root, "findings")
    assert code == 0 and "0 error(s)" in output, output
