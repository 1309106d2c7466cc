"""Publish last, repair always: releases and ``_manifest.json``, the comparison functions
the verify command builds on, and real refreshes that repair a tampered, stale or unwritable
output dir.

Pure file-system functions are tested on small hand-made dirs (plus a seeded property test);
the refresh scenarios run the real Dagster job against a real DuckDB file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.extracts import FILE_A, FILE_B, write_csv

from assets.publish.manifest import (
    MANIFEST,
    check_manifest,
    compare_output_dirs,
    read_manifest,
    release_manifest,
    write_json_atomic,
)
from assets.publish.manifest import remove_leftovers as remove_plain_leftovers
from assets.publish.releases import staging_dir, switch

PART = "quarterly_measures/fiscal_year=2024/fiscal_quarter={q}/data.parquet"


def _stage(root, files: dict[str, bytes]):
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


def _tree(root) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _publish(root, out, rid: str, files: dict[str, bytes], fingerprints=None) -> dict:
    """A release of ``files`` as the publish step makes it (file-system steps only)."""
    stage = _stage(staging_dir(out, rid), files)
    summary = release_manifest(
        stage, rid, rid, fingerprints or {}, read_manifest(out) if out.exists() else None
    )
    write_json_atomic(summary["manifest"], stage / MANIFEST)
    os.rename(stage, stage.with_name(rid))
    switch(out, stage.with_name(rid))
    return summary


def test_a_release_lists_what_changed_against_the_previous_one(tmp_path):
    out = tmp_path / "out"
    first = {PART.format(q=1): b"q1", PART.format(q=2): b"q2", "a.parquet": b"a"}
    _publish(tmp_path, out, "r1", first, {"x": "1"})
    second = {PART.format(q=1): b"q1 restated", "a.parquet": b"a"}  # Q2 emptied by a correction
    summary = _publish(tmp_path, out, "r2", second, {"x": "2"})
    assert summary["written"] == [PART.format(q=1)]
    assert summary["removed"] == [PART.format(q=2)]
    assert os.readlink(out) == "out.releases/r2"
    assert {k: v for k, v in _tree(out).items() if k != MANIFEST} == second
    assert {k: v for k, v in _tree(tmp_path / "out.releases/r1").items() if k != MANIFEST} == first
    manifest = read_manifest(out)
    assert manifest["outputs"] == {"x": "2"} and manifest["refresh_id"] == "r2"
    assert manifest["release_id"] == "r2"
    assert manifest["files"]["a.parquet"]["refresh_id"] == "r1"  # written by the first
    assert manifest["files"][PART.format(q=1)]["refresh_id"] == "r2"
    assert manifest["files"][PART.format(q=1)]["size"] == len(b"q1 restated")
    assert check_manifest(out) == []


def test_check_manifest_names_tampered_missing_and_unlisted_files(tmp_path):
    out = tmp_path / "out"
    files = {PART.format(q=1): b"q1", PART.format(q=2): b"q2", "a.parquet": b"a"}
    _publish(tmp_path, out, "r1", files)
    (out / PART.format(q=1)).write_bytes(b"edited")
    (out / "a.parquet").unlink()
    (out / "quarterly_measures/.data.parquet.123.tmp").write_bytes(b"half")
    assert check_manifest(out) == [
        "a.parquet: listed in the manifest but missing",
        f"{PART.format(q=1)}: content differs from the manifest (sha256)",
        "quarterly_measures/.data.parquet.123.tmp: not in the manifest",
    ]
    (out / MANIFEST).unlink()
    assert check_manifest(out) == [f"{MANIFEST}: missing or unreadable"]


def test_leftovers_in_a_plain_output_dir_are_removed(tmp_path):
    """The layout before releases: a killed refresh's staging dir and temp files inside it."""
    out = tmp_path / "out"
    _stage(out / ".staging-abc", {"x/y.parquet": b"1"})
    _stage(out / "q", {".data.parquet.1.tmp": b"2", "data.parquet": b"3"})
    assert remove_plain_leftovers(out) == [".staging-abc", "q/.data.parquet.1.tmp"]
    assert _tree(out) == {"q/data.parquet": b"3"}


@settings(max_examples=40, derandomize=True, deadline=None)
@given(
    old=st.dictionaries(st.sampled_from(["a", "b/c", "b/d", "e/f/g"]), st.binary(max_size=3)),
    new=st.dictionaries(st.sampled_from(["a", "b/c", "b/d", "h"]), st.binary(max_size=3)),
)
def test_after_a_switch_the_output_is_exactly_the_new_release(tmp_path_factory, old, new):
    root = tmp_path_factory.mktemp("prop")
    out = root / "out"
    _publish(root, out, "r1", old)
    _publish(root, out, "r2", new)
    assert {k: v for k, v in _tree(out).items() if k != MANIFEST} == new
    assert check_manifest(out) == []


def _parquet(path, rows: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), path)


def test_compare_output_dirs(tmp_path):
    a, b = tmp_path / "published", tmp_path / "rebuilt"
    # same rows, another order and other provenance: equal
    _parquet(a / "t.parquet", {"k": [1, 2], "ingested_at": ["2026-01-01", "2026-01-02"]})
    _parquet(b / "t.parquet", {"k": [2, 1], "ingested_at": ["2026-12-01", "2026-12-01"]})
    _parquet(a / PART.format(q=1), {"dd_total": [665]})
    _parquet(b / PART.format(q=1), {"dd_total": [698]})
    _parquet(b / PART.format(q=2), {"dd_total": [1]})
    (a / "extra.csv").write_text("x")
    (a / "report").mkdir()
    (b / "report").mkdir()
    (a / "report/index.html").write_text("<p>Refreshed 2026-11-30 09:00 UTC: 698</p>")
    (b / "report/index.html").write_text("<p>Refreshed 2026-12-01 11:33 UTC: 698</p>")
    (a / MANIFEST).write_text("{}")  # names refreshes: not compared
    assert compare_output_dirs(a, b) == [
        f"{PART.format(q=2)}: missing from the published output",
        "extra.csv: published but not in the rebuild",
        f"{PART.format(q=1)}: 1 row(s) only in the published file, 1 only in the rebuild",
    ]
    (b / "report/index.html").write_text("<p>Refreshed 2026-12-01 11:33 UTC: 665</p>")
    assert "report/index.html: report content differs (time stamps ignored)" in (
        compare_output_dirs(a, b)
    )


# --- real refreshes ----------------------------------------------------------------------------


def _differences(project) -> list[str]:
    from pipelines.cli.refresh import current_differences

    return current_differences()


def _published(project) -> dict[str, bytes]:
    """Every published file but the manifest (which names the refresh that last published)."""
    return {k: v for k, v in project.output_digest().items() if k != MANIFEST}


def _no_temp_files(output) -> None:
    assert not [p for p in output.rglob("*") if p.name.endswith(".tmp") or ".staging-" in str(p)]
    assert not list(output.with_name(output.name + ".releases").glob(".*"))


def test_manifest_lists_every_published_file_and_nothing_differs(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    manifest = read_manifest(project.output)
    on_disk = {k for k in project.output_digest() if k != MANIFEST}
    assert set(manifest["files"]) == on_disk
    assert {PART.format(q=1), PART.format(q=2), "report/index.html"} <= on_disk
    assert check_manifest(project.output) == []
    assert _differences(project) == []
    _no_temp_files(project.output)


def test_tampered_partition_is_republished_by_the_next_refresh(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    before = _published(project)
    part = project.output / PART.format(q=2)
    part.write_bytes(part.read_bytes()[:-20] + b"tampered with here!!")
    assert _differences(project) == [
        f"{PART.format(q=2)}: content differs from the manifest (sha256)"
    ]
    project.refresh()
    assert any(m.startswith("[repair]") for m in project.messages)
    assert _published(project) == before  # the same bytes again
    assert check_manifest(project.output) == []
    entry = read_manifest(project.output)["files"][PART.format(q=2)]
    assert entry["refresh_id"] == read_manifest(project.output)["refresh_id"]  # rewritten now


def test_stale_outputs_are_republished_when_the_warehouse_differs(project):
    """The published annual table no longer follows from the warehouse (a refresh that died
    after measuring): the next refresh, with nothing new, republishes it."""
    import duckdb

    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    project.refresh()
    good = _published(project)
    with duckdb.connect(str(project.warehouse)) as con:
        con.execute("UPDATE annual_measures SET dd_total = dd_total + 1")
    assert _differences(project) == [
        "annual_measures.parquet: the warehouse implies different content than was published",
        "oao_workbook: the warehouse implies different content than was published",  # its sheet
        "report: the warehouse implies different content than was published",  # it shows them
    ]
    project.refresh()  # publish recomputes annual_measures from the quarters, then publishes
    assert _published(project) == good


def test_read_only_output_dir_fails_with_one_line_then_the_next_refresh_repairs(project):
    """Run as the CLI would (a subprocess); as root, without the capability to ignore modes.
    A publish writes into the releases dir beside the output link: that one is read-only."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    before = project.output_digest()
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    cmd = [sys.executable, "-m", "pipelines.cli.main", "refresh"]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    releases = project.root / "output.releases"
    os.chmod(releases, 0o555)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    finally:
        os.chmod(releases, 0o755)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {releases}/.staging-"), line
    assert f"permission denied. Make the output dir {project.output} writable" in line
    assert "Errno" not in line and "Traceback" not in proc.stderr
    assert project.output_digest() == before
    again = subprocess.run(cmd[-4:], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "nothing new" not in again.stdout
    assert project.output_digest() != before and check_manifest(project.output) == []
    assert _differences(project) == []
    _no_temp_files(project.output)


def _as_operator(cmd: list[str]) -> list[str]:
    """As root, drop the capability that ignores file modes, so read-only means read-only."""
    if os.geteuid() == 0:
        return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    return cmd


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_warehouse_is_one_line_naming_it(project, what):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    # a new file: this refresh must write (with nothing new it answers without writing)
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    target = project.warehouse if what == "file" else project.root
    mode = target.stat().st_mode
    os.chmod(target, 0o444 if what == "file" else 0o555)
    try:
        proc = subprocess.run(
            _as_operator([sys.executable, "-m", "pipelines.cli.main", "refresh"]),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.chmod(target, mode)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot write {project.root}/warehouse.duckdb"), line
    assert "permission denied. Make the warehouse" in line and "Errno" not in line


def test_ctrl_c_is_one_line_and_exit_130(project):
    """Ctrl-C reaches the whole process group, as from a terminal: one line, no traceback."""
    import signal
    import time

    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    runs = project.home / "history" / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli.main", "refresh"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not [p for p in runs.glob("*.db") if len(p.stem) == 36]:  # a run (uuid) has started
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert err.strip().splitlines() == [
        "interrupted: nothing was published by this refresh; run scr-pipeline refresh again"
    ]
    assert not [p for p in project.output.rglob("*") if p.is_file()]
