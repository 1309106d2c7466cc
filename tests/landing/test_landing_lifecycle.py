"""The landing lifecycle (CONTRACT.md "Landing lifecycle"), through real refreshes.

Pins down: a file re-landed under the same name replaces its earlier content (deleted rows and
withdrawn statuses both take effect) and the earlier bytes restore it; a file removed from
landing changes nothing and is reported once; `scr-pipeline retract` withdraws a file with its
reason; a partial copy replaced by the complete file no longer quarantines; glob characters
are characters; symlinks are refused by name; unsettled files are waited for; the archive and
its manifest rebuild the same current records.

Every command runs in-process: refreshes through ``Project.refresh``, ``scr-pipeline retract``
and the refresh that waits for an unsettled file through ``run_main``/``run_main_streams``
(``pipelines.cli.main.main`` with the console script's environment, exit code asserted); none
of these claims is about a process. Tests that start from ``rows_abc`` refreshed copy that state
(``prepared_project``: refreshed once per test process).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from support.extracts import valid_row, write_csv
from support.project import (
    output_hashes,
    quarterly,
    read_output,
    refresh_in_memory,
    refreshed_demo,
    run_main_streams,
)

from assets.landing.archive import active_archived_files, read_manifest
from assets.landing.rebuild import ingest_from_archive
from pipelines.cli.refresh import RefreshFailed

A = "scr_extract_2024-02-01.csv"
Q = (2024, 2)  # approved 2024-01-10: FY2024 Q2


def rows_abc() -> list[dict]:
    """S1, S2: approved disruptions (TCO); S3: an approved INITIAL (TCO)."""
    return [valid_row("S1"), valid_row("S2"), valid_row("S3", scr_type="INITIAL")]


def counts(project) -> tuple[int, int, int]:
    r = quarterly(project.output).get(Q)
    return (r["initial_approved"], r["disruptions"], r["dd_tco"]) if r else (0, 0, 0)


def states(project) -> list[tuple]:
    return project.query("SELECT file_id, source_file, state FROM ingested_files ORDER BY 1")


def test_replace_takes_effect_and_earlier_bytes_restore(prepared_project):
    project = prepared_project("abc", {A: rows_abc()})
    path = project.landing / A
    original = path.read_bytes()
    assert counts(project) == (1, 2, 2)

    # re-landed: S2 withdrawn, S3's row deleted. Both count now (the old rows are not versions)
    write_csv(
        project.landing / A,
        [valid_row("S1"), valid_row("S2", status="WITHDRAWN", approved_date="")],
    )
    project.messages.clear()
    project.refresh()
    assert counts(project) == (0, 1, 1)
    assert project.query("SELECT scr_id FROM scr_current ORDER BY 1") == [("S1",), ("S2",)]
    assert states(project) == [(1, A, "replaced"), (2, A, "active")]
    replaced = [m for m in project.messages if m.startswith(f"[ingest] replaced {A} (sha ")]
    assert len(replaced) == 1 and " -> " in replaced[0], project.messages

    # the earlier bytes land again: file 1 is active again, nothing re-read (still 2 files)
    path.write_bytes(original)
    project.messages.clear()
    project.refresh()
    assert counts(project) == (1, 2, 2)
    assert states(project) == [(1, A, "active"), (2, A, "replaced")]
    assert any(m.startswith(f"[ingest] restored {A}") for m in project.messages)
    assert project.query("SELECT count(*) FROM raw_scr_versions") == [(5,)]
    events = project.query("SELECT event, file_id FROM landing_events ORDER BY seq")
    assert events == [("ingested", 1), ("replaced", 2), ("restored", 1)]
    manifest = read_manifest(project.archive)
    assert [e["event"] for e in manifest] == ["ingested", "replaced", "restored"]
    assert manifest[1]["previous_sha256"] == manifest[0]["sha256"]
    archived = sorted(p.name for p in project.archive.glob("*.csv"))
    assert archived == sorted(f"{e['sha256']}.csv" for e in manifest[:2])
    recon = {
        r["file_id"]: r["state"]
        for r in read_output(project.output, "ingest_reconciliation.parquet")
    }
    assert recon == {1: "active", 2: "replaced"}
    findings = read_output(project.output, "validation_findings.parquet")
    assert all(f["source_file"] == A for f in findings)
    assert project.verify() == []  # reproducible from the archive after replace + restore


def test_removed_file_changes_nothing_and_is_said_once(prepared_project):
    project = prepared_project("abc", {A: rows_abc()})
    before = output_hashes(project.output)
    (project.landing / A).unlink()
    project.messages.clear()
    project.refresh()
    said = [m for m in project.messages if m.startswith("[ingest] removed")]
    assert said == [
        f"[ingest] removed {A} from the landing dir: nothing changes (its content "
        "stays in the archive and keeps counting)"
    ]
    assert counts(project) == (1, 2, 2)
    assert output_hashes(project.output).keys() == before.keys()
    project.messages.clear()
    project.refresh()
    # (the test's own temp path holds the word "removed": look at the messages without it)
    assert not [m for m in project.messages if "removed" in m.replace(str(project.root), "")]
    assert project.query("SELECT event FROM landing_events ORDER BY seq") == [
        ("ingested",),
        ("removed",),
    ]
    assert project.verify() == []  # the removed file's content still counts, from the archive


def test_retract_withdraws_a_file_with_its_reason(project):
    write_csv(project.landing / A, [valid_row("S1")])
    b = "scr_extract_2024-03-01.csv"
    write_csv(project.landing / b, [valid_row("S2"), valid_row("S3", scr_type="INITIAL")])
    project.refresh()
    assert counts(project) == (1, 2, 2)

    code, out, err = run_main_streams(
        project.root, "retract", b, "--reason", "extract window was wrong"
    )
    assert code == 0, err
    assert f"[ingest] retracted {b} (sha " in out and "extract window was wrong" in out
    assert counts(project) == (0, 1, 1)
    ev = project.query(
        "SELECT event, source_file, reason, who IS NOT DISTINCT FROM ? FROM "
        "landing_events WHERE event = 'retracted'",
        [os.environ.get("USER")],
    )
    assert ev == [("retracted", b, "extract window was wrong", True)]
    recon = {
        r["source_file"]: (r["state"], r["state_reason"])
        for r in read_output(project.output, "ingest_reconciliation.parquet")
    }
    assert recon == {A: ("active", None), b: ("retracted", "extract window was wrong")}
    assert [e["event"] for e in read_manifest(project.archive)][-1] == "retracted"
    assert "retracted" in (project.output / "report" / "index.html").read_text()

    # same bytes still in landing: stays retracted
    project.refresh()
    assert counts(project) == (0, 1, 1)
    # unknown file: one line, exit 1; --reason is required
    code, _, err = run_main_streams(
        project.root, "retract", "scr_extract_nope.csv", "--reason", "x"
    )
    assert code == 1 and err.count("\n") == 1, err
    assert "scr_extract_nope.csv: no ingested file has this name" in err
    assert run_main_streams(project.root, "retract", b)[0] == 2
    help_text = run_main_streams(project.root, "retract", "--help")[1]
    assert "--reason" in help_text and "FILE" in help_text

    # new bytes under the retracted name are a new active file
    write_csv(project.landing / b, [valid_row("S2")])
    project.refresh()
    assert counts(project) == (0, 2, 2)
    assert project.verify() == []  # retraction and the new bytes replay from the archive


def test_partial_copy_replaced_by_the_complete_file_no_longer_quarantines(project):
    complete = write_csv(project.landing / A, rows_abc()).read_bytes()
    cut = complete.rstrip(b"\r\n")[:-12] + b"\r\n"  # S3's last_modified_at cut mid-copy
    (project.landing / A).write_bytes(cut)
    project.refresh()
    assert project.query("SELECT scr_id FROM scr_current WHERE quarantined") == [("S3",)]
    (project.landing / A).write_bytes(complete)
    project.refresh()
    assert project.query("SELECT count(*) FILTER (quarantined), count(*) FROM scr_current") == [
        (0, 3)
    ]
    assert counts(project) == (1, 2, 2)
    assert read_output(project.output, "quarantined_scrs.parquet") == []
    assert project.verify() == []


@pytest.mark.parametrize("odd", ["scr_extract_2024*.csv", "scr_extract_2024?[1].csv"])
def test_glob_characters_are_characters(project, odd):
    write_csv(project.landing / odd, [valid_row("S1")])
    write_csv(
        project.landing / "scr_extract_2024-01-01.csv", [valid_row(f"A{i}") for i in range(3)]
    )
    write_csv(project.landing / "scr_extract_20241.csv", [valid_row(f"B{i}") for i in range(2)])
    (project.landing / ".scr_extract_hidden.csv").write_text("not,an,extract\n")
    (project.landing / "scr_extract_2024-05-01.csv.part").write_text("half a file")
    project.refresh()
    assert project.query("SELECT rows_read FROM ingested_files WHERE source_file = ?", [odd]) == [
        (1,)
    ]
    assert project.query("SELECT count(*) FROM raw_scr_versions WHERE source_file = ?", [odd]) == [
        (1,)
    ]
    assert project.query("SELECT count(*), sum(rows_read) FROM ingested_files") == [(3, 6)]
    assert counts(project) == (0, 6, 6)
    assert project.verify() == []  # the archive replays the odd name exactly too


def test_symlink_is_refused_by_name_and_nothing_changes(prepared_project, tmp_path):
    project = prepared_project("abc", {A: rows_abc()})
    secret = tmp_path / "elsewhere" / "secret_target.csv"
    secret.parent.mkdir()
    secret.write_text("TOP-SECRET-CONTENT\n")
    (project.landing / "scr_extract_2024-06-01.csv").symlink_to(secret)
    before = output_hashes(project.output)
    wh_before = project.query("SELECT count(*) FROM raw_scr_versions")
    with pytest.raises(RefreshFailed) as err:
        project.refresh()
    msg = str(err.value)
    assert msg.startswith("scr_extract_2024-06-01.csv: is a symbolic link")
    assert "secret_target" not in msg and "TOP-SECRET" not in msg and "\n" not in msg
    assert output_hashes(project.output) == before
    assert project.query("SELECT count(*) FROM raw_scr_versions") == wh_before
    assert project.query("SELECT count(*) FROM landing_events") == [(1,)]
    (project.landing / "scr_extract_2024-06-01.csv").unlink()
    assert project.verify() == []


def test_unsettled_file_is_waited_for(project, monkeypatch):
    from pipelines.orchestration.sensors import landing_fingerprint

    old = write_csv(project.landing / A, [valid_row("S1")])
    past = time.time() - 600
    os.utime(old, (past, past))
    fresh = write_csv(project.landing / "scr_extract_2024-03-01.csv", [valid_row("S2")])
    # 5 s: the refresh (in-process, no interpreter to start) reaches the landing dir well
    # before the fresh file settles
    monkeypatch.setenv("SCR_SETTLE_SECONDS", "5")
    assert landing_fingerprint()[1] == [f"{A}:{old.stat().st_size}:{old.stat().st_mtime_ns}"]
    os.utime(fresh)  # "just written" as the refresh starts
    t0 = time.monotonic()
    code, out, err = run_main_streams(project.root, "refresh", env={"SCR_SETTLE_SECONDS": "5"})
    assert code == 0, err
    assert f"waiting for {fresh.name} to settle" in out
    assert f"waiting for {A}" not in out
    assert out.index("waiting for") < out.index("[ingest]")
    assert time.monotonic() - t0 >= 2
    assert project.query("SELECT count(*) FROM ingested_files") == [(2,)]


def current_rows(warehouse: Path) -> set[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return set(con.execute("SELECT * EXCLUDE (file_id) FROM scr_current").fetchall())


def test_rebuild_from_archive_gives_the_same_current_records(project, tmp_path, monkeypatch):
    from assets.landing.retract import retract_file

    write_csv(project.landing / A, rows_abc())
    b = "scr_extract_2024-03-01.csv"
    write_csv(
        project.landing / b,
        [valid_row("S4"), valid_row("S1", last_modified_at="2024-01-11T08:00:00", countries="US")],
    )
    project.refresh()
    write_csv(
        project.landing / A,
        [valid_row("S1"), valid_row("S2", status="WITHDRAWN", approved_date="")],
    )
    project.refresh()
    with duckdb.connect(str(project.warehouse)) as con:
        retract_file(con, b, "duplicate extract", "tester", project.archive)
    project.refresh()
    live = current_rows(project.warehouse)
    assert {r[0] for r in live} == {"S1", "S2"}
    assert [f.name for f in active_archived_files(project.archive)] == [A]

    rebuilt = tmp_path / "rebuilt"
    (rebuilt / "landing").mkdir(parents=True)
    with duckdb.connect(str(rebuilt / "warehouse.duckdb")) as con:
        got = ingest_from_archive(con, project.archive, "rebuild")
    assert got == {"files": 3, "rows": 7, "events": 4}
    for k, sub in (
        ("SCR_LANDING_DIR", "landing"),
        ("SCR_WAREHOUSE", "warehouse.duckdb"),
        ("SCR_OUTPUT_DIR", "output"),
        ("SCR_ARCHIVE_DIR", "archive"),
    ):
        monkeypatch.setenv(k, str(rebuilt / sub))
    project.refresh()
    assert current_rows(rebuilt / "warehouse.duckdb") == live
    live_states = project.query(
        "SELECT file_id, source_file, state, ingested_at FROM ingested_files ORDER BY 1"
    )
    with duckdb.connect(str(rebuilt / "warehouse.duckdb"), read_only=True) as con:
        assert (
            con.execute(
                "SELECT file_id, source_file, state, ingested_at FROM ingested_files ORDER BY 1"
            ).fetchall()
            == live_states
        )
    assert quarterly(rebuilt / "output") == quarterly(project.output)


def test_demo_seed_7_over_an_existing_demo_counts_seed_7_only(project, tmp_path_factory):
    from pipelines.demo.extracts import write_demo_extracts

    write_demo_extracts(project.landing, seed=2023, scale=0.05)
    project.refresh()
    write_demo_extracts(project.landing, seed=7, scale=0.05)
    project.refresh()
    over = project.query("SELECT count(*), count(*) FILTER (counted) FROM scr_current")
    # seed 7 alone, refreshed in a fresh place (the demo of this test process, only read)
    fresh = refreshed_demo(tmp_path_factory, refresh_in_memory)
    with duckdb.connect(str(fresh / "warehouse.duckdb"), read_only=True) as con:
        alone = con.execute(
            "SELECT count(*), count(*) FILTER (counted) FROM scr_current"
        ).fetchall()
    assert over == alone
    assert quarterly(project.output) == quarterly(fresh / "output")
    replaced = project.query("SELECT count(*) FROM ingested_files WHERE state = 'replaced'")
    # every demo file is replaced: 9 annual SCR extracts (FY2017-FY2025), 5 FY2026 quarterly
    # ones and 2 resource request files (pipelines/demo/extracts.py)
    assert replaced == [(16,)]


def test_manifest_lines_are_json_with_the_documented_fields(project):
    write_csv(project.landing / A, [valid_row("S1")])
    project.refresh()
    line = json.loads((project.archive / "manifest.jsonl").read_text().splitlines()[0])
    assert set(line) == {
        "event_id",
        "event",
        "source_file",
        "extract_type",
        "sha256",
        "previous_sha256",
        "size_bytes",
        "at",
        "ingested_at",
        "reason",
        "who",
    }
    assert (
        line["event"] == "ingested" and line["size_bytes"] == (project.landing / A).stat().st_size
    )
    assert (project.archive / f"{line['sha256']}.csv").read_bytes() == (
        project.landing / A
    ).read_bytes()
    shutil.rmtree(project.archive / "none", ignore_errors=True)
