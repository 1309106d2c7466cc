"""``scr-pipeline refresh`` with nothing new answers without a Dagster run, and only then: a new
file, a changed setting, a write to the warehouse by anything else, a run started elsewhere or
outputs that differ from the warehouse each send it through the full refresh plan again.

The command runs in-process (``run_main``: ``pipelines.cli.main.main`` with the console
script's environment and the CLI's Dagster instance under DAGSTER_HOME, exit code asserted);
it stays a process of its own where the process is the claim (what a fresh interpreter
imports) and for the one-line errors of a bad setting."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from support.extracts import valid_row, write_csv
from support.project import cli_env, console_script, run_main

from assets._shared.resources import WarehouseResource

FAST = "no file, setting, code or run since the last refresh"


def _runs(root: Path) -> int:
    home = root / "dagster_home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))  # the instance's storage reads its folder here
        with dg.DagsterInstance.from_config(str(home)) as instance:
            return len(instance.get_runs())


def _refresh(root: Path, env: dict[str, str] | None = None) -> str:
    """``scr-pipeline refresh`` in-process; its output (stdout and stderr together)."""
    code, output = run_main(root, "refresh", env=env)
    assert code == 0, output[-2000:]
    return output


@pytest.fixture
def root(project) -> Path:
    """A landing dir refreshed once, in-process (the refresh the CLI runs, without starting a
    process: the CLI calls of each test then find the stamp it left)."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", [valid_row("A1")])
    project.refresh()
    assert not any("nothing new" in m for m in project.messages)
    assert (project.root / "warehouse.duckdb.refresh-stamp").exists()
    return project.root


def test_nothing_new_starts_no_run_and_changes_nothing(root: Path):
    runs = _runs(root)
    before = {p: p.read_bytes() for p in (root / "output").rglob("*") if p.is_file()}
    out = _refresh(root)
    assert "nothing new" in out and FAST in out
    assert _runs(root) == runs
    assert {p: p.read_bytes() for p in (root / "output").rglob("*") if p.is_file()} == before
    assert FAST in _refresh(root)  # and again


def test_nothing_new_is_answered_without_importing_dagster(root: Path):
    """Nor scipy, duckdb's heavy neighbours' cost aside: the CLI's start-up (every sub-command's
    parser, ``audit draw --help``'s sample sizes among them) imports no scipy.stats (~0.6 s)."""
    code = (
        "import sys\nfrom pipelines.cli.main import main\n"
        "try:\n    main(['refresh'])\nexcept SystemExit as e:\n"
        "    print('exit', e.code, 'dagster' in sys.modules, 'assets.publish.outputs' in sys.modules,"
        " 'scipy.stats' in sys.modules)"
    )
    proc = subprocess.run(
        [str(console_script().with_name("python")), "-c", code], env=cli_env(root),
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert FAST in proc.stdout, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[-1] == "exit 0 False False False"


def test_a_touched_or_added_output_file_sends_it_through_the_plan(root: Path):
    """Same bytes, other mtime: the stamp cannot tell, so the plan compares (and finds nothing
    to repair); a stray file added to the output dir, too."""
    import os

    manifest = root / "output" / "_manifest.json"
    st = manifest.stat()
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    out = _refresh(root)
    assert FAST not in out and "nothing new" in out and "[repair]" not in out
    assert FAST in _refresh(root)
    stray = root / "output" / "stray.txt"
    stray.write_text("x")
    out = _refresh(root)
    assert FAST not in out
    assert FAST in _refresh(root)


def test_a_run_of_the_instance_started_elsewhere_sends_it_through_the_plan(root: Path):
    """A real run recorded in the instance after the refresh (as the UI or the daemon would,
    with the code location's warehouse binding) that opens the warehouse for writing, as every
    asset of the project does, and writes nothing: the stamp is gone once the run started (the
    warehouse file alone could not tell). The resource itself is only a connection."""
    from pipelines.orchestration.warehouse import LocationWarehouse

    @dg.asset
    def elsewhere(warehouse: WarehouseResource) -> None:
        with warehouse.connect():
            pass

    stamp = root / "warehouse.duckdb.refresh-stamp"
    st = (root / "warehouse.duckdb").stat()
    home = root / "dagster_home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.from_config(str(home)) as instance:
            bare = WarehouseResource(path=str(root / "warehouse.duckdb"))
            assert dg.materialize(
                [elsewhere], instance=instance, resources={"warehouse": bare}
            ).success
            assert stamp.exists()  # a connection alone touches no stamp
            wh = LocationWarehouse(path=str(root / "warehouse.duckdb"))
            assert dg.materialize(
                [elsewhere], instance=instance, resources={"warehouse": wh}
            ).success
    assert not stamp.exists()
    assert (root / "warehouse.duckdb").stat().st_size == st.st_size
    assert FAST not in _refresh(root)
    assert FAST in _refresh(root)


@pytest.mark.cli_instance  # the refresh writes Dagster's SQLite history, which is then moved away
def test_the_stamp_records_the_refresh_s_runs_and_reads_no_dagster_file(root: Path, monkeypatch):
    """The stamp names the runs of the refresh that wrote it (one ingest, one publish) and the
    answer needs nothing under DAGSTER_HOME: with the history moved away it still holds."""
    import json
    import shutil

    record = json.loads((root / "warehouse.duckdb.refresh-stamp").read_text())
    assert len(record["run_ids"]) == 2 and record["written_at"] > 0
    history = root / "dagster_home" / "history"
    assert (history / "runs.db").is_file()  # the history the stamp must not need
    shutil.move(history, root / "history-aside")
    assert FAST in _refresh(root)


def test_a_new_file_is_refreshed(root: Path):
    write_csv(root / "landing" / "scr_extract_2024-02-01.csv", [valid_row("A2")])
    runs = _runs(root)
    out = _refresh(root)
    assert "[ingest] raw_scr_versions: 1 new file(s)" in out and "nothing new" not in out
    assert _runs(root) > runs
    assert FAST in _refresh(root)


def test_tampered_outputs_are_repaired(root: Path):
    (root / "output" / "annual_measures.parquet").write_bytes(b"not parquet")
    out = _refresh(root)
    assert "[repair]" in out and FAST not in out
    assert FAST in _refresh(root)


def test_a_write_to_the_warehouse_by_anything_else_sends_it_through_the_plan(root: Path):
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    runs = _runs(root)
    assert FAST not in _refresh(root)  # the full plan ran
    assert _runs(root) > runs
    assert FAST in _refresh(root)


def test_a_run_started_elsewhere_or_a_new_setting_sends_it_through_the_plan(root: Path):
    stamp = root / "warehouse.duckdb.refresh-stamp"
    stamp.write_text("a refresh of another state")
    assert FAST not in _refresh(root)
    assert FAST in _refresh(root)
    env = {"SCR_DUCKDB_MEMORY_LIMIT": "1GB"}
    out = _refresh(root, env)
    assert "nothing new" in out and FAST not in out  # another setting
    assert stamp.exists()
    env["SCR_SETTLE_SECONDS"] = (
        "0.2"  # how long to wait changes no result (`make demo`, then refresh)
    )
    out = _refresh(root, env)
    assert FAST in out, out[-2000:]


def test_a_re_export_of_the_same_size_in_the_same_second_is_refreshed(root: Path):
    """A file replaced by other bytes of the same size, stamped within the same second as the
    one ingested, is not "nothing new": the stamp compares mtimes in nanoseconds, as ingest."""
    import os

    path = root / "landing" / "scr_extract_2024-01-10.csv"
    st = path.stat()
    data = path.read_bytes()
    assert b",APPROVED," in data
    path.write_bytes(data.replace(b",APPROVED,", b",PENDING_,", 1))  # same size, other bytes
    assert path.stat().st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # same second, 1 ns later
    out = _refresh(root)
    assert FAST not in out and "nothing new" not in out
    assert "[ingest] raw_scr_versions: 1 new file(s)" in out or "replaced" in out


@pytest.mark.parametrize("bad", ["soon", "-1", "nan"])
def test_a_settle_time_that_is_not_a_number_is_one_line(tmp_path: Path, bad: str):
    env = cli_env(tmp_path) | {"SCR_SETTLE_SECONDS": bad}
    proc = subprocess.run(
        [str(console_script()), "refresh"], env=env, capture_output=True, text=True,
        timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: SCR_SETTLE_SECONDS={bad!r}: set it to a number of seconds, 0 or more "
        "(default 10)\n"
    )


def test_a_same_size_edit_with_its_mtime_and_inode_kept_is_repaired(root: Path):
    """Issue 28: an output rewritten in place with the same size and its mtime restored
    matched the stamp (size, mtime, inode) and stayed published. Its sha256 no longer matches
    the manifest: the next refresh repairs it, and "nothing new" holds only after that."""
    import os

    from assets.publish.manifest import check_manifest

    path = root / "output" / "annual_measures.parquet"
    good, st = path.read_bytes(), path.stat()
    middle = len(good) // 2
    with open(path, "r+b") as fh:  # in place: same inode, same size
        fh.seek(middle)
        fh.write(bytes([good[middle] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        st.st_size, st.st_mtime_ns, st.st_ino
    )  # fmt: skip
    out = _refresh(root)
    assert "nothing new" not in out, out
    assert (
        "[repair] published outputs differ from the warehouse: annual_measures.parquet: "
        "content differs from the manifest (sha256)" in out
    )
    assert "[publish] kept 1 file(s) the pipeline did not write: annual_measures.parquet" in out
    assert path.read_bytes() == good and check_manifest(root / "output") == []
    kept = root / "output.releases" / "_kept"
    assert [p.read_bytes() != good for p in kept.rglob("annual_measures.parquet")] == [True]
    assert FAST in _refresh(root)
