"""Publishing on a real warehouse, in-process: ``assets/publish.py`` called directly into tmp
dirs, every file read back (pyarrow, hashlib), fast enough to run once per mutant.

The warehouse is the one ``test_measure_sql.py`` makes by a real refresh of FILE_A and FILE_B
(built once per process and shared; mutmut forks its mutants from the process that built it).
Each test publishes a copy of it with the code as it is now. What that warehouse holds, worked
out from the two files (test_pipeline_numbers.py has the quarterly figures):

- quarters FY2023-Q4, FY2024-Q1, FY2024-Q2: one ``quarterly_measures`` row and eight
  ``category_measures`` rows (one per criminal category) each;
- the current SCRs (``scr_determinations``) by quarter: A1 | A11 A15 A2 A3 A5 A6 A7 A8 A9 |
  A12 A14 A4; A11 and A15 are quarantined;
- three findings (A6's indicator conflict, A11's missing indicator, A15's SCR type), two
  ingested files, two fiscal years (annual, V&V); no history, restatements, resource requests,
  case reviews or audit samples.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.extracts import FILES_A_B
from support.project import refreshed_warehouse as _base

from assets._shared.code_version import code_files, code_version_of
from assets._shared.errors import UnwritablePathError
from assets._shared.resources import WarehouseResource
from assets.audit.sample import draw_sample, sample_cases
from assets.audit.worksheets import worksheet_csv, worksheet_xlsx
from assets.publish import oao_workbook
from assets.publish import outputs as P
from assets.publish import release as R
from assets.publish.manifest import (
    MANIFEST,
    compare_output_dirs,
    normalized_report,
    read_manifest,
    release_manifest,
)
from assets.report import build as report
from assets.report import history
from assets.report import trace as trace_html

YQ = [(2023, 4), (2024, 1), (2024, 2)]
PARTS = {
    f"{t}/fiscal_year={fy}/fiscal_quarter={q}/data.parquet": (t, fy, q)
    for t in ("quarterly_measures", "category_measures", "scr_determinations")
    for fy, q in YQ
}
# file -> rows, hand-counted from the two extracts (see the module docstring)
TABLE_ROWS = {
    "annual_measures.parquet": 2,
    "audit_projection.parquet": 0,
    "determination_accuracy.parquet": 0,
    "measure_estimates.parquet": 0,
    "reviewer_agreement.parquet": 0,
    "ingest_reconciliation.parquet": 2,
    "quarantined_resource_requests.parquet": 0,
    "quarantined_scrs.parquet": 2,
    "quarterly_measures_history.parquet": 0,
    "resource_request_evidence.parquet": 0,
    "resource_request_summary.parquet": 0,
    "restatements.parquet": 0,
    "validation_findings.parquet": 3,
    "vv_statement.parquet": 2,
}
PAGES = ["report/index.html", "report/vv_FY2023.html", "report/vv_FY2024.html"]
WORKBOOK = "oao_measures.xlsx"  # assets/publish/oao_workbook.py
EVERY_FILE = sorted([*PARTS, *TABLE_ROWS, *PAGES, WORKBOOK])
OUTPUTS = {
    "quarterly_measures", "category_measures", "scr_determinations", *TABLE_ROWS,
    "report", "audit_sample", "vv_pages", "oao_workbook", "input:ingested_files",
}  # fmt: skip
DETERMINATIONS = {
    (2023, 4): ["A1"],
    (2024, 1): ["A11", "A15", "A2", "A3", "A5", "A6", "A7", "A8", "A9"],
    (2024, 2): ["A12", "A14", "A4"],
}
Q2 = "quarterly_measures/fiscal_year=2024/fiscal_quarter=2/data.parquet"
CAT_Q4 = "category_measures/fiscal_year=2023/fiscal_quarter=4/data.parquet"
HISTORY = "report/history/index.html"  # carried from release to release, not an output
SUMMARY_KEYS = ("written", "removed", "files", "leftovers_removed", "partitions_reused")
ONE_SAMPLE = [
    "audit_sample/_worksheets/review_worksheet_sample_1.csv",
    "audit_sample/_worksheets/review_worksheet_sample_1.xlsx",
    "audit_sample/sample_id=1/cases.parquet",
]


@pytest.fixture
def con(tmp_path):
    """A connection to a fresh copy of the refreshed A+B warehouse."""
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(_base("ab", FILES_A_B), db)
    with WarehouseResource(path=str(db)).connect() as c:
        yield c


def _files(root: Path) -> list[str]:
    """Every file under ``root``, hidden ones included."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _compression(path: Path) -> set[str]:
    meta = pq.ParquetFile(path).metadata
    return {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }


def _warehouse_rows(con, table: str, fy: int, q: int) -> pa.Table:
    """The partition's rows as the warehouse has them, without the partition columns, in the
    published order (by criminal category; scr_determinations has several SCRs per category,
    so both sides are compared by scr_id there)."""
    return con.sql(
        f"SELECT * EXCLUDE (fiscal_year, fiscal_quarter) FROM {table} "
        f"WHERE fiscal_year = {fy} AND fiscal_quarter = {q} ORDER BY ALL"
    ).to_arrow_table()


def _ordered(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in table.column_names if c != "countries"])


def _publish(con, out: Path, refresh_id: str) -> dict:
    """One real publish (a new release, switched in); the summary's file counts."""
    return {k: v for k, v in R.publish(con, out, refresh_id).items() if k in SUMMARY_KEYS}


# --- publishing ----------------------------------------------------------------------------------


def test_first_publish_writes_every_output_a_second_nothing_a_correction_its_quarter(con, tmp_path):
    out = tmp_path / "deeper" / "out"  # made with its parents
    before = datetime.now(UTC).replace(microsecond=0)
    summary = _publish(con, out, "refresh-1")
    after = datetime.now(UTC)
    assert summary == {
        "written": EVERY_FILE,
        "removed": [],
        "files": 27,
        "leftovers_removed": [],
        "partitions_reused": 0,
    }
    assert _files(out) == sorted([*EVERY_FILE, HISTORY, MANIFEST])  # no staging, no temp file
    assert out.is_symlink() and _files(out.parent) == [
        f"out.releases/{out.resolve().name}/{f}" for f in sorted([*EVERY_FILE, HISTORY, MANIFEST])
    ]

    for rel, (table, fy, q) in PARTS.items():
        got = pq.read_table(out / rel)
        assert "fiscal_year" not in got.column_names  # the partition lives in the path only
        assert _ordered(got).equals(_ordered(_warehouse_rows(con, table, fy, q))), rel
        assert _compression(out / rel) == {"ZSTD"}, rel
    for (fy, q), ids in DETERMINATIONS.items():
        rel = f"scr_determinations/fiscal_year={fy}/fiscal_quarter={q}/data.parquet"
        assert sorted(pq.read_table(out / rel).column("scr_id").to_pylist()) == ids
        # a total order (category, then every column left to right, NULLs last), so the same
        # rows always give the same bytes: several SCRs share a category here
        rows = pq.read_table(out / rel).to_pylist()
        cols = list(rows[0])
        key = [("criminal_category", *(c for c in cols if c != "criminal_category"))]

        def order(r, names=key[0]):  # noqa: E306
            return tuple((r[c] is None, r[c] if r[c] is not None else 0) for c in names)

        assert rows == sorted(rows, key=order), rel
    for fy, q in YQ:
        rel = f"category_measures/fiscal_year={fy}/fiscal_quarter={q}/data.parquet"
        categories = pq.read_table(out / rel).column("criminal_category").to_pylist()
        assert len(categories) == 8 and categories == sorted(categories)
        rel = f"quarterly_measures/fiscal_year={fy}/fiscal_quarter={q}/data.parquet"
        assert pq.read_table(out / rel).num_rows == 1
    # read as one hive-partitioned dataset, the quarters come back from the paths
    ds = pq.read_table(out / "quarterly_measures").to_pylist()
    assert sorted((r["fiscal_year"], r["fiscal_quarter"], r["dd_total"]) for r in ds) == [
        (2023, 4, 0),
        (2024, 1, 6),
        (2024, 2, 2),
    ]
    for name, n in TABLE_ROWS.items():
        got = pq.read_table(out / name)
        assert got.num_rows == n, name
        assert got.equals(con.sql(P._sql_of(con, P.PUBLISHED_FILES[name])).to_arrow_table())
        assert _compression(out / name) == {"ZSTD"}, name
    assert sorted(pq.read_table(out / "quarantined_scrs.parquet").column("scr_id").to_pylist()) == [
        "A11",
        "A15",
    ]
    page = history.with_history_link(report.render_page(con))
    assert (out / "report/index.html").read_bytes() == page.encode("utf-8")
    assert {p: (out / p).read_bytes() for p in PAGES[1:]} == trace_html.vv_files(con)

    first = read_manifest(out)
    raw = (out / MANIFEST).read_text(encoding="utf-8")
    assert raw == json.dumps(first, indent=1, sort_keys=True)
    assert set(first) == {"release_id", "refresh_id", "published_at", "files", "carried", "outputs"}
    assert first["release_id"] == out.resolve().name
    empty = history.history_index([]).encode("utf-8")  # no earlier release yet
    assert first["carried"] == {
        HISTORY: {"sha256": hashlib.sha256(empty).hexdigest(), "size": len(empty)}
    }
    assert first["refresh_id"] == "refresh-1"
    published_at = first["published_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", published_at)
    assert before <= datetime.fromisoformat(published_at) <= after
    assert sorted(first["files"]) == EVERY_FILE
    partition_fps = P.plan_outputs(con).partition_fingerprints
    assert sorted(partition_fps) == sorted(PARTS)
    for rel, entry in first["files"].items():
        assert entry == {
            "sha256": _sha(out / rel),
            "size": (out / rel).stat().st_size,
            "refresh_id": "refresh-1",
            "written_at": published_at,
        } | ({"fingerprint": partition_fps[rel]} if rel in PARTS else {}), rel
    assert set(first["outputs"]) == OUTPUTS
    assert first["outputs"] == P.plan_outputs(con).fingerprints
    assert P.published_differences(out, con) == []

    # again with nothing changed: no new release, nothing rewritten, not even renamed
    inodes = {rel: (out / rel).stat().st_ino for rel in EVERY_FILE}
    release = os.readlink(out)
    assert _publish(con, out, "refresh-2") == {
        "written": [],
        "removed": [],
        "files": 27,
        "leftovers_removed": [],
        "partitions_reused": 9,  # not even queried again
    }
    assert os.readlink(out) == release and read_manifest(out) == first
    assert {rel: (out / rel).stat().st_ino for rel in EVERY_FILE} == inodes

    # a correction changes FY2024-Q2 only: its partition and the report that shows it
    con.execute(
        "UPDATE quarterly_measures SET dd_total = dd_total + 1 "
        "WHERE fiscal_year = 2024 AND fiscal_quarter = 2"
    )
    third = _publish(con, out, "refresh-3")
    assert third == {
        "written": [WORKBOOK, Q2, "report/index.html"],
        "removed": [],
        "files": 27,
        "leftovers_removed": [],
        "partitions_reused": 8,  # every partition but Q2
    }
    assert pq.read_table(out / Q2).column("dd_total").to_pylist() == [3]
    manifest = read_manifest(out)
    for rel, entry in manifest["files"].items():
        assert entry["sha256"] == _sha(out / rel) and entry["size"] == (out / rel).stat().st_size
        if rel in third["written"]:
            assert entry["refresh_id"] == "refresh-3", rel
            assert entry["written_at"] == manifest["published_at"], rel
            assert entry["sha256"] != first["files"][rel]["sha256"], rel
        else:
            assert entry == first["files"][rel], rel
            if rel in PARTS:  # hard-linked from the previous release, not written again
                assert (out / rel).stat().st_ino == inodes[rel], rel
    changed = {k for k in manifest["outputs"] if manifest["outputs"][k] != first["outputs"][k]}
    assert changed == {"quarterly_measures", "report", "oao_workbook"}
    earlier = f"report/history/{release.split('/')[-1]}.html"  # the first release's report
    assert _files(out) == sorted([*EVERY_FILE, HISTORY, earlier, MANIFEST])
    assert (out / earlier).read_text() == history.as_history_page(page)
    assert sorted(p.name for p in out.parent.iterdir()) == ["out", "out.releases"]


def test_a_quarter_gone_leftovers_removed_and_files_nobody_published_kept(con, tmp_path):
    out = tmp_path / "out"
    _publish(con, out, "refresh-1")
    first = out.resolve()
    releases = tmp_path / "out.releases"
    # what a killed publish leaves: a half-written release, a half-removed one, an unused link
    (releases / ".staging-dead" / "quarterly_measures").mkdir(parents=True)
    (releases / ".staging-dead" / "quarterly_measures" / "data.parquet").write_bytes(b"half")
    (releases / ".pruning-old").mkdir()
    (tmp_path / ".out.link-0a1b2c3d").symlink_to("out.releases/.staging-dead")
    # what nobody published: a person's notes, a sub-folder of theirs, a link to elsewhere
    (out / "analyst_notes.txt").write_bytes(b"call Tom")
    _write(out / "mine", {"draft.csv": b"x"})
    _write(tmp_path / "elsewhere", {"keep.parquet": b"not ours"})
    (out / "elsewhere").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    # a correction empties FY2023-Q4 of the category table
    con.execute("DELETE FROM category_measures WHERE fiscal_year = 2023")
    summary = R.publish(con, out, "refresh-2")
    assert {k: summary[k] for k in SUMMARY_KEYS} == {
        "written": [WORKBOOK, "report/index.html"],  # the category table lost a quarter
        "removed": [CAT_Q4],
        "files": 26,
        "leftovers_removed": [
            ".out.link-0a1b2c3d",
            "out.releases/.pruning-old",
            "out.releases/.staging-dead",
        ],
        "partitions_reused": 8,  # every partition but the one gone
    }
    assert summary["kept"] == ["analyst_notes.txt", "elsewhere", "mine/draft.csv"]
    kept = releases / "_kept" / first.name
    assert summary["kept_dir"] == str(kept)
    assert (kept / "analyst_notes.txt").read_bytes() == b"call Tom"
    assert (kept / "mine/draft.csv").read_bytes() == b"x"
    assert (kept / "elsewhere").is_symlink()  # the link itself, not what it points at
    assert _files(tmp_path / "elsewhere") == ["keep.parquet"]
    assert (first / "analyst_notes.txt").read_bytes() == b"call Tom"  # the old release too
    assert not (out / "category_measures" / "fiscal_year=2023").exists()
    assert (out / "quarterly_measures" / "fiscal_year=2023" / "fiscal_quarter=4").is_dir()
    earlier = f"report/history/{first.name}.html"
    assert _files(out) == sorted(
        [*(f for f in EVERY_FILE if f != CAT_Q4), HISTORY, earlier, MANIFEST]
    )
    assert sorted(read_manifest(out)["files"]) == [f for f in EVERY_FILE if f != CAT_Q4]
    assert sorted(p.name for p in releases.iterdir()) == sorted(
        [first.name, out.resolve().name, "_kept"]
    )
    assert P.published_differences(out, con) == []


def test_releases_beyond_the_kept_number_are_pruned_oldest_first(con, tmp_path):
    out = tmp_path / "out"
    ids = []
    for n in range(4):
        con.execute("UPDATE annual_measures SET dd_total = dd_total + 1")
        summary = R.publish(con, out, f"refresh-{n}", keep=2)
        ids.append(summary["release_id"])
        assert summary["pruned"] == ids[:-2][-1:]  # from the third on, the oldest one goes
    assert sorted(p.name for p in (tmp_path / "out.releases").iterdir()) == ids[-2:]
    assert out.resolve().name == ids[-1] and ids == sorted(ids)
    # the report carries the kept earlier report (one: keep - 1), and its index links it
    assert sorted(p.name for p in (out / "report/history").iterdir()) == [
        f"{ids[-2]}.html",
        "index.html",
    ]
    assert f'<a href="{ids[-2]}.html">' in (out / HISTORY).read_text()
    assert '<a href="history/index.html">' in (out / "report/index.html").read_text()


def test_a_plain_output_dir_is_adopted_as_a_release(con, tmp_path):
    """The layout before releases: published files, a person's file and a killed refresh's
    staging dir in a plain dir. The first publish makes it a release and the link."""
    out = tmp_path / "out"
    _publish(con, out, "refresh-1")
    old = out.resolve()
    out.unlink()
    shutil.copytree(old, out)  # a plain dir laid out as before (its manifest has no link)
    (out / ".staging-run-0").mkdir()
    (out / "analyst_notes.txt").write_bytes(b"mine")
    published_at = read_manifest(out)["published_at"]
    summary = R.publish(con, out, "refresh-2")
    stamp = datetime.fromisoformat(published_at).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    adopted = tmp_path / "out.releases" / f"{stamp}-adopted"
    assert summary["adopted"] == (
        f"adopted the output dir {out}: its files are kept as release {adopted.name} in "
        f"{adopted.parent}, and {out} is now a link to the current release"
    )
    assert summary["leftovers_removed"] == [".staging-run-0"]
    assert summary["kept"] == ["analyst_notes.txt"]
    assert out.is_symlink() and adopted.is_dir() and (adopted / "analyst_notes.txt").is_file()
    assert (tmp_path / "out.releases/_kept" / adopted.name / "analyst_notes.txt").is_file()
    assert P.published_differences(out, con) == []


def test_an_empty_output_dir_is_adopted_with_one_line(con, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    summary = R.publish(con, out, "refresh-1")
    release = tmp_path / "out.releases" / summary["release_id"]
    assert (
        summary["adopted"] == f"adopted the empty output dir {out}: it is now a link to {release}"
    )
    assert os.readlink(out) == f"out.releases/{summary['release_id']}"


def _publish_as_another_user(con, out: Path) -> dict:
    """``publish`` in a forked child that may not write ``out`` (root drops to nobody)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                R.publish(con, out, "refresh-1")
                result = {"raised": None}
            except Exception as err:  # noqa: BLE001 - reported to the parent as it is
                result = {
                    "raised": type(err).__name__,
                    "message": str(err),
                    "chained": err.__cause__ is not None or not err.__suppress_context__,
                }
            os.write(write, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        result = json.loads(fh.read())
    os.waitpid(pid, 0)
    return result


def test_an_unwritable_output_dir_is_one_message_naming_the_path_that_failed(con):
    """The releases dir beside the output cannot be made (its folder is read-only, or cannot
    even be reached): one message naming the path that failed and what to make writable, no
    chained Errno. A file where the output dir belongs is named as such."""
    root = Path(tempfile.mkdtemp(prefix="scr-readonly-"))  # in /tmp: reachable by anyone
    try:
        (root / "a-file").write_bytes(b"")
        with pytest.raises(UnwritablePathError) as err:
            R.publish(con, root / "a-file", "refresh-1")
        assert str(err.value) == (
            f"{root}/a-file is a file where the output dir should be (SCR_OUTPUT_DIR); move it "
            "away and run `scr-pipeline refresh` again"
        )
        (root / "a-file").unlink()
        root.chmod(0o755)  # mkdtemp made it private
        ro = root / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        hidden = root / "private"
        hidden.mkdir()
        hidden.chmod(0o000)
        tail = (
            ": permission denied. Make the output dir {} writable for this user, then run "
            "`scr-pipeline refresh` again (it completes whatever the failed refresh left undone)"
        )
        assert _publish_as_another_user(con, ro / "out") == {
            "raised": UnwritablePathError.__name__,
            "message": f"cannot write {ro}/out.releases" + tail.format(ro / "out"),
            "chained": False,
        }
        assert _publish_as_another_user(con, hidden / "out") == {
            "raised": UnwritablePathError.__name__,
            "message": f"cannot write {hidden}/out" + tail.format(hidden / "out"),
            "chained": False,
        }
        assert _files(root) == []
    finally:
        for d in (root / "ro", root / "private"):
            d.chmod(0o755)
        shutil.rmtree(root)


# --- what the warehouse implies ----------------------------------------------------------------


def test_published_differences_names_each_kind_of_difference(con, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert P.published_differences(out, con) == [
        f"{MANIFEST}: missing or unreadable (nothing published yet, or wiped)"
    ]
    R.publish(con, out, "refresh-1")
    assert P.published_differences(out, con) == []
    (out / Q2).write_bytes(b"edited")
    con.execute("DELETE FROM category_measures WHERE fiscal_year = 2023")
    draw_sample(con, "2023-2024", 1, 11)
    new = "extra/nested/new_output.parquet"  # an output registered since, two folders deep
    monkeypatch.setitem(P.PUBLISHED_FILES, new, "SELECT 1 AS x")
    manifest = read_manifest(out)
    manifest["outputs"]["retired_output"] = "0" * 32
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert P.published_differences(out, con) == [
        f"{Q2}: content differs from the manifest (sha256)",
        "audit_sample/_worksheets/review_worksheet_sample_1.csv: implied by the warehouse but "
        "not published",
        "audit_sample/_worksheets/review_worksheet_sample_1.xlsx: implied by the warehouse but "
        "not published",
        "audit_sample/sample_id=1/cases.parquet: implied by the warehouse but not published",
        f"{new}: implied by the warehouse but not published",
        f"{CAT_Q4}: published but no longer implied by the warehouse",
        "audit_sample: the warehouse implies different content than was published",
        "category_measures: the warehouse implies different content than was published",
        f"{new}: the warehouse implies different content than was published",
        "oao_workbook: the warehouse implies different content than was published",
        "report: the warehouse implies different content than was published",
        "retired_output: the warehouse implies different content than was published",
    ]
    del manifest["outputs"]  # a manifest from before outputs were fingerprinted
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert len(P.published_differences(out, con)) == 1 + len(ONE_SAMPLE) + 1 + 1 + len(OUTPUTS) + 1
    summary = R.publish(con, out, "refresh-2")
    assert summary["kept"] == [Q2]  # changed after it was published
    assert (summary["written"], summary["removed"]) == (
        sorted([Q2, "report/index.html", *ONE_SAMPLE, new, WORKBOOK]),
        [CAT_Q4],
    )
    assert pq.read_table(out / new).to_pylist() == [{"x": 1}]
    assert P.published_differences(out, con) == []
    entries = read_manifest(out)["files"]
    assert entries[Q2]["refresh_id"] == "refresh-2"  # the edited file was put right now
    assert entries[PAGES[1]]["refresh_id"] == "refresh-1"


def test_plan_outputs_paths_and_fingerprints(con):
    plan = P.plan_outputs(con)
    pages = trace_html.vv_files(con)
    assert plan.paths == set(EVERY_FILE)
    assert plan.partitions == {t: YQ for t in P.PARTITIONED_TABLES}
    workbook = {WORKBOOK: oao_workbook.workbook_bytes(con, P.PUBLISHED_FILES)}
    assert plan.rendered == pages | workbook  # the report has a cheaper fingerprint: not rendered
    assert plan.queries == {n: P._sql_of(con, e) for n, e in P.PUBLISHED_FILES.items()}
    assert set(plan.fingerprints) == OUTPUTS
    for table in P.PARTITIONED_TABLES:
        assert plan.fingerprints[table] == P.query_fingerprint(con, f"SELECT * FROM {table}")
    for name, sql in plan.queries.items():
        assert plan.fingerprints[name] == P.query_fingerprint(con, sql)
    assert plan.fingerprints["report"] == P.report_fingerprint(con)
    assert plan.fingerprints["audit_sample"] == hashlib.sha256(b"").hexdigest()[:32]
    assert sorted(pages) == PAGES[1:]
    assert (
        plan.fingerprints["vv_pages"]
        == hashlib.sha256(
            "\x1f".join(f"{k}={hashlib.sha256(pages[k]).hexdigest()}" for k in PAGES[1:]).encode()
        ).hexdigest()[:32]
    )
    columns = (
        '"file_id", "extract_type", "source_file", "content_sha256", "size_bytes", "rows_read", '
        '"extra_columns", "ingested_at", "run_id", '
        '"records_in_file", "state", '
        '"landed_seq", "removed_at", "state_changed_at", "state_reason"'
    )  # every column but mtime_ns and the bookkeeping validated_rules, current_built
    assert plan.fingerprints["input:ingested_files"] == P.query_fingerprint(
        con, f'SELECT {columns} FROM "ingested_files"'
    )

    rendered = P.plan_outputs(con, render=True)
    assert rendered.paths == plan.paths and rendered.fingerprints == plan.fingerprints
    assert rendered.rendered == {
        "report/index.html": history.with_history_link(report.render_page(con)).encode("utf-8"),
        **pages,
        **workbook,
    }

    con.execute("UPDATE ingested_files SET mtime_ns = mtime_ns + 1")  # touched, not changed
    assert P.plan_outputs(con).fingerprints == plan.fingerprints
    con.execute("UPDATE ingested_files SET state_reason = 'x' WHERE file_id = 2")
    changed = P.plan_outputs(con).fingerprints
    assert {k for k in OUTPUTS if changed[k] != plan.fingerprints[k]} == {"input:ingested_files"}


def test_partitions_come_from_one_ordered_query_as_one_query_each_gives_them(con):
    """``partitions_rows`` (one streamed query per table, cut by the planned counts) hands out
    each asked-for partition with exactly the rows and order of its own query, for every
    table and for a subset of quarters (what a correction writes); a count that does not
    match the table stops it instead of shifting rows into the wrong quarter."""
    from assets.publish.export import partition_columns, partition_rows, partitions_rows

    plan = P.plan_outputs(con)
    for table in P.PARTITIONED_TABLES:
        cols = partition_columns(con, table)
        counts = plan.partition_counts[table]
        assert list(counts) == YQ
        for subset in (counts, {(2024, 1): counts[(2024, 1)]}):
            got = dict(partitions_rows(con, table, subset, cols))
            assert list(got) == list(subset), table
            for (fy, q), rows in got.items():
                assert rows.equals(partition_rows(con, table, fy, q, cols)), (table, fy, q)
                assert rows.num_rows == counts[(fy, q)] and rows.column_names == cols
    counts = plan.partition_counts["scr_determinations"]
    cols = partition_columns(con, "scr_determinations")
    for wrong in (-1, 1):
        bad = counts | {(2024, 1): counts[(2024, 1)] + wrong}
        with pytest.raises(RuntimeError, match="than counted"):
            list(partitions_rows(con, "scr_determinations", bad, cols))


def test_a_table_with_a_unique_key_is_ordered_as_by_every_column(con):
    """``UNIQUE_KEYS``: scr_determinations has one row per SCR, so ordering each partition by
    category and scr_id (the cheaper sort) gives exactly the rows, in the order, that ordering by
    category and then every column gives: the same bytes as before the shortcut."""
    from assets.publish.export import UNIQUE_KEYS, partition_columns, partition_rows

    assert UNIQUE_KEYS == {"scr_determinations": ("scr_id",)}
    assert con.execute(
        "SELECT count(*) = count(DISTINCT scr_id) AND count(*) > 0 FROM scr_determinations"
    ).fetchall() == [(True,)]
    cols = partition_columns(con, "scr_determinations")
    every = ", ".join(["criminal_category"] + [c for c in cols if c != "criminal_category"])
    for fy, q in YQ:
        full = con.sql(
            f"SELECT {', '.join(cols)} FROM scr_determinations WHERE fiscal_year = ? "
            f"AND fiscal_quarter = ? ORDER BY {every}",
            params=[fy, q],
        ).to_arrow_table()
        assert partition_rows(con, "scr_determinations", fy, q, cols).equals(full), (fy, q)


def test_plan_outputs_leaves_out_what_is_not_built(con):
    con.execute("DROP TABLE quarterly_measures")  # the report reads it: no report either
    plan = P.plan_outputs(con)
    assert plan.paths == {p for p in EVERY_FILE if not p.startswith("quarterly_measures/")} - {
        "report/index.html"
    }
    assert set(plan.fingerprints) == OUTPUTS - {"quarterly_measures", "report"}
    assert set(plan.partitions) == {"category_measures", "scr_determinations"}
    rendered = P.plan_outputs(con, render=True)
    assert sorted(rendered.rendered) == sorted([*PAGES[1:], WORKBOOK])
    assert set(rendered.fingerprints) == set(plan.fingerprints)

    with duckdb.connect() as empty:  # nothing built at all
        nothing = P.plan_outputs(empty, render=True)
    assert (nothing.paths, nothing.rendered, nothing.queries, nothing.partitions) == (
        set(),
        {},
        {},
        {},
    )
    empty_output = hashlib.sha256(b"").hexdigest()[:32]  # a rendered output with no file
    assert nothing.fingerprints == {"audit_sample": empty_output, "oao_workbook": empty_output}


def test_audit_samples_are_published_per_sample(con):
    assert P.audit_sample_files(con) == {}
    assert draw_sample(con, "2024", 2, 7)["sample_id"] == 1
    assert draw_sample(con, "2023-2024", 1, 11)["sample_id"] == 2
    files = P.audit_sample_files(con)
    assert list(files) == [
        "audit_sample/sample_id=1/cases.parquet",
        "audit_sample/_worksheets/review_worksheet_sample_1.csv",
        "audit_sample/_worksheets/review_worksheet_sample_1.xlsx",
        "audit_sample/sample_id=2/cases.parquet",
        "audit_sample/_worksheets/review_worksheet_sample_2.csv",
        "audit_sample/_worksheets/review_worksheet_sample_2.xlsx",
    ]
    assert files["audit_sample/_worksheets/review_worksheet_sample_2.csv"] == (
        b"draw_order,case_number,criminal_category,field_office,scr_count,scrs,reviewed_on,"
        b"association_of_individuals,crosses_international_border,notes\r\n"
        b"1,C800,National Security,SAC Houston,1,A9 INITIAL approved 2023-10-20,,,,\r\n"
    )
    for sid, rows in ((1, 2), (2, 1)):
        cases = pa.BufferReader(files[f"audit_sample/sample_id={sid}/cases.parquet"])
        assert pq.read_table(cases).equals(sample_cases(con, sid))
        assert pq.read_table(cases).num_rows == rows
        assert {pq.ParquetFile(cases).metadata.row_group(0).column(0).compression} == {"ZSTD"}
        sheet = f"audit_sample/_worksheets/review_worksheet_sample_{sid}.csv"
        assert files[sheet] == worksheet_csv(con, sid)
        assert files[sheet.replace(".csv", ".xlsx")] == worksheet_xlsx(con, sid)
    plan = P.plan_outputs(con)
    workbook = {WORKBOOK: oao_workbook.workbook_bytes(con, P.PUBLISHED_FILES)}
    assert plan.rendered == {**files, **trace_html.vv_files(con), **workbook}
    assert plan.paths == {*EVERY_FILE, *files}
    assert (
        plan.fingerprints["audit_sample"]
        == hashlib.sha256(
            "\x1f".join(
                f"{k}={hashlib.sha256(files[k]).hexdigest()}" for k in sorted(files)
            ).encode()
        ).hexdigest()[:32]
    )


# --- fingerprints -------------------------------------------------------------------------------


def test_stable_text_and_digest():
    value = {"b": [1, (2, "x")], "a": {10, 9}, "c": frozenset({"z"}), "d": None}
    assert P._stable(value) == "{'a':{10,9},'b':[1,[2,'x']],'c':{'z'},'d':None}"
    assert P._stable({}) == "{}" and P._stable(set()) == "{}" and P._stable([]) == "[]"
    assert P._digest("a", 1, None) == hashlib.sha256(b"a\x1f1\x1fNone").hexdigest()[:32]
    assert P._digest() == hashlib.sha256(b"").hexdigest()[:32]


def test_query_fingerprint_is_of_the_rows_not_their_order(con):
    con.execute("CREATE TABLE t (k INTEGER, s VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    sql = "SELECT * FROM t"
    fp = P.query_fingerprint(con, sql)
    n, xor, total = con.execute(
        "SELECT count(*), bit_xor(hash(q)), sum(hash(q)::HUGEINT) FROM (SELECT * FROM t) q"
    ).fetchall()[0]
    assert n == 2
    assert fp == hashlib.sha256(f"{sql}\x1f2\x1f{xor}\x1f{total}".encode()).hexdigest()[:32]
    con.execute("DELETE FROM t")
    con.execute("INSERT INTO t VALUES (2, 'b'), (1, 'a')")
    assert P.query_fingerprint(con, sql) == fp  # another physical order: the same rows
    con.execute("INSERT INTO t VALUES (1, 'a'), (1, 'a')")  # bit_xor alone cannot see a pair
    assert P.query_fingerprint(con, sql) not in (fp, None)
    assert P.query_fingerprint(con, "SELECT * FROM not_built_yet") is None
    with pytest.raises(duckdb.ParserException):
        P.query_fingerprint(con, "SELEC 1")


def test_report_fingerprint_is_of_its_inputs_and_code(con):
    here = Path(report.__file__).parent
    # every module of the report folder (the trace pages included), then the templates
    code = [here / f for f in ("__init__.py", "accuracy.py", "build.py", "charts.py")]
    code += [here / "closeout.py", here / "headline.py", here / "history.py", here / "html.py"]
    code += [here / "sections.py"]
    code += [here / "trace.py", here / "templates/report.css", here / "templates/report.html"]
    # the report's code version reads every one of them (and what they import)
    assert {p.resolve() for p in code} <= set(code_files(report, history))
    parts = [P._stable(report.gather(con)), str(report.data_time(con))]
    parts += [code_version_of(report, history)]
    expected = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    assert P.report_fingerprint(con) == expected
    con.execute("UPDATE quarterly_measures SET dd_total = 99 WHERE fiscal_year = 2023")
    assert P.report_fingerprint(con) != expected


# --- the manifest functions on small hand-made dirs ----------------------------------------------


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


def test_release_manifest_names_who_wrote_each_file(tmp_path):
    files = {"q/a.parquet": b"a", "b.csv": b"bb"}
    r1 = release_manifest(_write(tmp_path / "s1", files), "id1", "r1", {}, None)
    assert {k: r1[k] for k in ("written", "removed", "files")} == {
        "written": ["b.csv", "q/a.parquet"],
        "removed": [],
        "files": 2,
    }
    m1 = r1["manifest"]
    assert m1["files"]["q/a.parquet"] == {
        "sha256": hashlib.sha256(b"a").hexdigest(),
        "size": 1,
        "refresh_id": "r1",
        "written_at": m1["published_at"],
    }
    # the same bytes again: nothing written, every entry still names the first refresh
    r2 = release_manifest(_write(tmp_path / "s2", files), "id2", "r2", {"x": "1"}, m1)
    assert (r2["written"], r2["manifest"]["files"]) == ([], m1["files"])
    assert r2["manifest"]["outputs"] == {"x": "1"} and r2["manifest"]["release_id"] == "id2"
    # a file the previous release had edited by hand: written again now, and named so
    stage = _write(tmp_path / "s3", files | {"report/history/x.html": b"old"})
    r3 = release_manifest(
        stage, "id3", "r3", {}, m1, carried={"report/history/x.html": {"published_at": "t"}},
        repaired=frozenset({"q/a.parquet"}),
    )  # fmt: skip
    assert r3["written"] == ["q/a.parquet"] and r3["files"] == 2
    assert r3["manifest"]["files"]["q/a.parquet"]["refresh_id"] == "r3"
    assert r3["manifest"]["files"]["b.csv"] == m1["files"]["b.csv"]
    assert r3["manifest"]["carried"] == {
        "report/history/x.html": {
            "published_at": "t", "sha256": hashlib.sha256(b"old").hexdigest(), "size": 3
        }
    }  # fmt: skip


def test_read_manifest_accepts_only_an_object_with_a_files_object(tmp_path):
    assert read_manifest(tmp_path) is None
    for text in ("not json", "[1]", '{"files": []}', '{"outputs": {}}'):
        (tmp_path / MANIFEST).write_text(text, encoding="utf-8")
        assert read_manifest(tmp_path) is None, text
    (tmp_path / MANIFEST).write_text('{"files": {}, "refresh_id": "r"}', encoding="utf-8")
    assert read_manifest(tmp_path) == {"files": {}, "refresh_id": "r"}


def test_compare_output_dirs_goes_on_after_an_equal_file(tmp_path):
    a, b = tmp_path / "published", tmp_path / "rebuilt"
    same = {"a.csv": b"same", "b.csv": b"one", "c.bin": b"x"}
    _write(a, same)
    _write(b, {**same, "b.csv": b"two"})
    for root, keys in ((a, [1, 2, 3]), (b, [1, 2])):  # one row more in the published file
        pq.write_table(pa.table({"k": keys}), root / "d.parquet")
    assert compare_output_dirs(a, b) == [
        "b.csv: bytes differ",
        "d.parquet: 1 row(s) only in the published file, 0 only in the rebuild",
    ]
    assert normalized_report(
        "at 2026-12-01 11:33 UTC and 2026-12-01T11:33:28.5, on 2026-12-01"
    ) == ("at <time> and <time>, on 2026-12-01")


def test_a_published_partition_is_reused_only_while_its_rows_columns_and_bytes_hold(
    con, tmp_path, monkeypatch
):
    """A publish skips (does not query or write) a partition whose rows and columns, and the
    code and pyarrow that write it, have the fingerprint its manifest entry records and whose
    file still has the recorded sha256; any other partition is written again, and the result is
    what a publish from scratch gives."""
    out, rebuilt = tmp_path / "out", tmp_path / "rebuilt"
    q4 = "quarterly_measures/fiscal_year=2023/fiscal_quarter=4/data.parquet"
    cat_q1 = "category_measures/fiscal_year=2024/fiscal_quarter=1/data.parquet"
    det_q2 = "scr_determinations/fiscal_year=2024/fiscal_quarter=2/data.parquet"
    R.publish(con, out, "refresh-1")
    (out / q4).write_bytes(b"tampered")  # no longer the manifest's bytes
    (out / cat_q1).unlink()  # gone
    manifest = read_manifest(out)
    del manifest["files"][det_q2]["fingerprint"]  # an entry written before fingerprints
    (out / MANIFEST).write_text(json.dumps(manifest))
    summary = R.publish(con, out, "refresh-2")
    assert summary["partitions_reused"] == 6  # 9 less the three above
    assert summary["written"] == [cat_q1, q4]  # det_q2 staged again, same bytes: not "written"
    R.publish(con, rebuilt, "refresh-x")
    for rel in PARTS:
        assert (out / rel).read_bytes() == (rebuilt / rel).read_bytes(), rel
    fingerprint_of = {d: read_manifest(d)["files"][det_q2]["fingerprint"] for d in (out, rebuilt)}
    assert fingerprint_of[out] == fingerprint_of[rebuilt]
    assert P.published_differences(out, con) == []

    # same values under a renamed column: that table's partitions are written again
    con.execute("ALTER TABLE quarterly_measures RENAME COLUMN fytd_initial_tco TO fytd_tco_initial")
    summary = R.publish(con, out, "refresh-3")
    assert summary["partitions_reused"] == 6
    assert [r for r in summary["written"] if "fiscal_year=" in r] == sorted(
        r for r in PARTS if r.startswith("quarterly_measures/")
    )
    assert "fytd_tco_initial" in pq.read_table(out / q4).column_names

    # the code or pyarrow that writes partitions changed: every partition is written once more
    monkeypatch.setattr(P, "partition_writer", lambda: "another writer")
    assert R.publish(con, out, "refresh-4")["partitions_reused"] == 0
    assert R.publish(con, out, "refresh-5")["partitions_reused"] == 9


def test_the_partition_export_runs_under_the_export_memory_cap_and_gives_the_limit_back(
    con, tmp_path, monkeypatch
):
    """The ordered export of every partition row spills instead of holding its sort beside
    Python's heap (``release.EXPORT_MEMORY_LIMIT``); the connection's own limit is set back after,
    the files are the same bytes as an export without the cap."""
    from assets.publish import release

    seen = []
    real = release.partitions_rows

    def recording(*args, **kwargs):  # the real export, noting the limit it ran under
        for item in real(*args, **kwargs):
            seen.append(
                con.cursor().execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
            )
            yield item

    con.execute("SET memory_limit = '3GB'")
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    monkeypatch.setattr(release, "partitions_rows", recording)
    (tmp_path / "capped").mkdir()
    release.stage_outputs(con, tmp_path / "capped", memory_limit="3GB")
    assert seen and set(seen) == {"488.2 MiB"}  # 512MB as DuckDB shows it
    assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] == before
    monkeypatch.setattr(release, "EXPORT_MEMORY_LIMIT", "4GB")  # above the limit: no cap
    seen.clear()
    (tmp_path / "uncapped").mkdir()
    release.stage_outputs(con, tmp_path / "uncapped", memory_limit="3GB")
    assert set(seen) == {before}
    capped = sorted(
        p.relative_to(tmp_path / "capped") for p in (tmp_path / "capped").rglob("*.parquet")
    )
    assert capped and capped == sorted(
        p.relative_to(tmp_path / "uncapped") for p in (tmp_path / "uncapped").rglob("*.parquet")
    )
    for rel in capped:
        assert (tmp_path / "capped" / rel).read_bytes() == (
            tmp_path / "uncapped" / rel
        ).read_bytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512MB", 512_000_000), ("2GB", 2_000_000_000), ("1.5 GiB", 1_610_612_736),
     ("2 gb", 2_000_000_000), ("1KiB", 1024), ("100", 100), ("lots", None), ("", None)],
)  # fmt: skip
def test_memory_sizes_read_as_duckdb_reads_them(text, expected):
    from assets._shared.resources import size_bytes

    assert size_bytes(text) == expected


def test_an_export_that_fails_midway_keeps_its_message_and_gives_the_limit_back(tmp_path):
    """A stream stopped by an error while its result is still open on the connection: the
    error reaches the caller as raised (not a DuckDB 'open result' error from setting the limit
    back), and the configured limit is set back."""
    import duckdb

    from assets._shared.resources import memory_capped

    con = duckdb.connect(str(tmp_path / "w.duckdb"), config={"memory_limit": "2GB"})
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(3000000)")
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    with pytest.raises(RuntimeError, match="fewer rows than counted"):
        with memory_capped(con, "512MB", "2GB"):
            reader = con.sql("SELECT x FROM t ORDER BY x DESC").to_arrow_reader()
            reader.read_next_batch()  # the result stays open on con
            raise RuntimeError("t: fewer rows than counted per partition")
    setting = con.cursor().execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    assert setting == before
    con.close()
