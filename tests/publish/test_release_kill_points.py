"""A publish killed at any point: a reader sees the old release or the new one, never a mix.

A real ``scr-pipeline refresh`` (subprocess) publishes FILE_B's changes over FILE_A's release
and kills itself with SIGKILL at one publish point (the test hook ``SCR_TEST_KILL_AT``,
assets/publish/releases.py): while staging (partition files written, the tables not yet),
after staging (the new release whole, manifest written) before it is renamed and switched,
during the switch (the new link made, not yet renamed onto the output path), after the switch
before pruning, and during pruning (the old release renamed away, not yet removed). After each
kill the output dir is read as a reader would (pyarrow and DuckDB, every contract read) and
must be exactly the old set or exactly the new one, the manifest agreeing with every file;
a glob over the whole dir finds only published files. Then the next refresh completes and
``scr-pipeline verify`` passes.

The killed refresh is a process of its own (the claim is about a process dying); the set-up
refreshes, the repairing refresh and ``verify`` run the same command in-process
(``pipelines.cli.main.main`` with the environment the CLI would get, exit code asserted), which
saves an interpreter start each. The points are two classes (the kill before the switch, the
kill after it), so ``--dist loadscope`` can give them to both workers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from support.extracts import FILE_A, FILE_B, write_csv
from support.project import cli_env, console_script, run_main

from assets.publish.manifest import MANIFEST, check_manifest
from assets.publish.releases import KILL_ENV, KILL_POINTS

# which set a reader must see after a kill at each point
OLD, NEW = "old", "new"
EXPECTED = {"staging": OLD, "staged": OLD, "switching": OLD, "switched": NEW, "pruning": NEW}


def reader_view(out: Path) -> dict:
    """What readers see: the manifest's refresh, the annual table (pyarrow and DuckDB), the
    quarterly table (pyarrow dataset, DuckDB hive glob); every file as the manifest says."""
    manifest = json.loads((out / MANIFEST).read_text())
    assert check_manifest(out) == []  # every file whole and the manifest's, nothing else
    with duckdb.connect() as con:
        q_duck = con.execute(
            "SELECT fiscal_year, fiscal_quarter, dd_total, dd_tco FROM read_parquet($p, "
            "hive_partitioning = true) ORDER BY ALL",
            {"p": f"{out}/quarterly_measures/**/*.parquet"},
        ).fetchall()
        annual_duck = con.execute(
            "SELECT * FROM read_parquet($p) ORDER BY fiscal_year",
            {"p": f"{out}/annual_measures.parquet"},
        ).fetchall()
        globbed = {
            Path(r[0]).relative_to(out).as_posix()
            for r in con.execute("SELECT file FROM glob($p)", {"p": f"{out}/**"}).fetchall()
        }
    q_arrow = ds.dataset(out / "quarterly_measures", partitioning="hive").to_table()
    q_arrow = sorted(
        (r["fiscal_year"], r["fiscal_quarter"], r["dd_total"], r["dd_tco"])
        for r in q_arrow.to_pylist()
    )
    annual = pq.read_table(out / "annual_measures.parquet").to_pylist()
    assert q_arrow == q_duck and [tuple(r.values()) for r in annual] == annual_duck
    assert globbed == set(manifest["files"]) | set(manifest["carried"]) | {MANIFEST}
    # the annual table and the quarters it sums agree (one release, not a mix)
    for row in annual:
        quarters = [q for q in q_duck if q[0] == row["fiscal_year"]]
        assert row["dd_total"] == sum(q[2] for q in quarters), row
    return {"refresh_id": manifest["refresh_id"], "quarterly": q_duck, "annual": annual}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """FILE_A published (the old set); FILE_B landed, and the new set as a refresh gives it."""
    root = tmp_path_factory.mktemp("kill") / "base"
    (root / "landing").mkdir(parents=True)
    write_csv(root / "landing" / "scr_extract_2024-01-10.csv", FILE_A)
    assert run_main(root, "refresh")[0] == 0
    old = reader_view(root / "output")
    write_csv(root / "landing" / "scr_extract_2024-02-01.csv", FILE_B)
    probe = root.with_name("probe")
    shutil.copytree(root, probe, symlinks=True)
    assert run_main(probe, "refresh")[0] == 0
    new = reader_view(probe / "output")
    assert old["quarterly"] != new["quarterly"]  # FY2024 Q1 6 -> 7, Q2 2 -> 1 (annual: 8)
    return {"root": root, OLD: old, NEW: new}


def test_every_kill_point_is_tested():
    assert tuple(EXPECTED) == KILL_POINTS
    assert (*TestKilledBeforeTheSwitch.POINTS, *TestKilledAfterTheSwitch.POINTS) == KILL_POINTS


def killed_then_repaired(base: dict, tmp_path: Path, point: str) -> None:
    """Kill a refresh at ``point``; a reader sees the expected set; the next refresh repairs."""
    root = tmp_path / "site"
    shutil.copytree(base["root"], root, symlinks=True)
    env = cli_env(root) | {KILL_ENV: point, "SCR_KEEP_RELEASES": "1"}  # pruning happens
    killed = subprocess.run(
        [str(console_script()), "refresh"], env=env, capture_output=True, text=True, cwd=root,
        timeout=300,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stdout + killed.stderr  # SIGKILL at the point
    view = reader_view(root / "output")
    refresh_id = view.pop("refresh_id")
    assert view == {k: v for k, v in base[EXPECTED[point]].items() if k != "refresh_id"}, point
    assert (refresh_id == base[OLD]["refresh_id"]) == (EXPECTED[point] == OLD)
    # what the kill left is beside the output path, never under it
    releases = root / "output.releases"
    left = [p.name.split("-")[0] for p in releases.iterdir() if p.name.startswith(".")]
    links = [p.name.split("-")[0] for p in root.glob(".output.link-*")]
    assert (left, links) == {
        "staging": ([".staging"], []),
        "staged": ([".staging"], []),
        "switching": ([], [".output.link"]),
        "switched": ([], []),
        "pruning": ([".pruning"], []),
    }[point]
    code, output = run_main(root, "refresh")
    assert code == 0, output
    after = reader_view(root / "output")
    assert (after["quarterly"], after["annual"]) == (base[NEW]["quarterly"], base[NEW]["annual"])
    assert [p for p in releases.iterdir() if p.name.startswith(".")] == []
    assert list(root.glob(".output.link-*")) == []
    code, output = run_main(root, "verify")
    assert code == 0, output


class TestKilledBeforeTheSwitch:
    """Killed while staging, after staging, during the switch: readers see the old set."""

    POINTS = tuple(p for p in KILL_POINTS if EXPECTED[p] == OLD)

    @pytest.mark.parametrize("point", POINTS)
    def test_a_reader_sees_the_old_release_after_a_kill(self, base, tmp_path, point):
        killed_then_repaired(base, tmp_path, point)


class TestKilledAfterTheSwitch:
    """Killed after the switch, during pruning: readers see the new set."""

    POINTS = tuple(p for p in KILL_POINTS if EXPECTED[p] == NEW)

    @pytest.mark.parametrize("point", POINTS)
    def test_a_reader_sees_the_new_release_after_a_kill(self, base, tmp_path, point):
        killed_then_repaired(base, tmp_path, point)
