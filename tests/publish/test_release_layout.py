"""The release layout as a reader and an operator see it, after real refreshes.

``SCR_OUTPUT_DIR`` is a symlink to ``<output>.releases/<id>/``; the contract's reads work on it
(DuckDB and pyarrow); a whole-dir glob finds only published files; a plain dir is adopted with
one line; a file nobody published is named and kept; ``scr-pipeline releases`` lists the
releases; the worksheets to fill are in ``SCR_WORKSHEET_DIR`` and never overwritten.
"""

from __future__ import annotations

import json
import stat

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from support.extracts import FILE_A, FILE_B, write_csv
from support.project import run_cli

from assets.publish.manifest import check_manifest, read_manifest

SHEET = "review_worksheet_sample_1"


@pytest.fixture
def published(project):
    """FILE_A and FILE_B refreshed once into an empty plain output dir (adopted)."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_B)
    project.refresh()
    return project


def test_the_contract_reads_work_on_the_current_release(published):
    out = published.output
    assert out.is_symlink()
    with duckdb.connect() as con:
        quarters = con.execute(
            "SELECT fiscal_year, fiscal_quarter, dd_total FROM read_parquet($p, "
            "hive_partitioning = true) ORDER BY ALL",
            {"p": f"{out}/quarterly_measures/**/*.parquet"},
        ).fetchall()
        annual = con.execute(
            "SELECT fiscal_year, dd_total FROM read_parquet($p) ORDER BY 1",
            {"p": f"{out}/annual_measures.parquet"},
        ).fetchall()
        # a glob over the whole dir finds exactly the published Parquet files, nothing staged
        files = {
            r[0].removeprefix(f"{out}/")
            for r in con.execute(
                "SELECT file FROM glob($p)", {"p": f"{out}/**/*.parquet"}
            ).fetchall()
        }
        # ... but reading them as one hive dataset mixes tables of different shapes (the
        # contract says it is not a supported read): DuckDB refuses it, naming the cause
        with pytest.raises(duckdb.BinderException, match="Hive partition mismatch"):
            con.execute(
                "SELECT count(*) FROM read_parquet($p, hive_partitioning = true)",
                {"p": f"{out}/**/*.parquet"},
            )
    assert quarters == [(2023, 4, 0), (2024, 1, 6), (2024, 2, 2)]
    assert annual == [(2023, 0), (2024, 8)]
    table = ds.dataset(out / "quarterly_measures", partitioning="hive").to_table()
    columns = (table.column(c).to_pylist() for c in ("fiscal_year", "fiscal_quarter", "dd_total"))
    assert sorted(zip(*columns, strict=True)) == quarters
    assert pq.read_table(out / "annual_measures.parquet").num_rows == 2
    listed = read_manifest(out)["files"]
    assert files == {f for f in listed if f.endswith(".parquet")}
    assert check_manifest(out) == []


def test_adoption_and_a_file_nobody_published_are_said_and_kept(project):
    (project.output / "analyst_notes.txt").write_text("FY2024 Q2 looks low")
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    releases = project.root / "output.releases"
    adopted = [p.name for p in releases.iterdir() if p.name.endswith("-adopted")]
    assert len(adopted) == 1
    assert (
        f"[publish] adopted the output dir {project.output}: its files are kept as release "
        f"{adopted[0]} in {releases}, and {project.output} is now a link to the current release"
    ) in project.messages
    kept = releases / "_kept" / adopted[0]
    assert (
        f"[publish] kept 1 file(s) the pipeline did not write: analyst_notes.txt (copied to {kept})"
    ) in project.messages
    assert (kept / "analyst_notes.txt").read_text() == "FY2024 Q2 looks low"
    # saved into the current release: a file nobody published is a difference, so the next
    # refresh publishes a release without it, keeping it first
    first = project.output.resolve().name
    (project.output / "analyst_notes.txt").write_text("v2")
    project.messages.clear()
    project.refresh()
    assert [m for m in project.messages if m.startswith(("[publish] kept", "[repair]"))] == [
        "[repair] published outputs differ from the warehouse: analyst_notes.txt: not in the "
        "manifest",
        "[publish] kept 1 file(s) the pipeline did not write: analyst_notes.txt "
        f"(copied to {releases / '_kept' / first})",
    ]
    assert not (project.output / "analyst_notes.txt").exists()
    assert (releases / "_kept" / first / "analyst_notes.txt").read_text() == "v2"
    assert project.verify() == []


def test_scr_pipeline_releases_lists_them_oldest_first(published):
    write_csv(published.landing / "scr_extract_2024-03-01.csv", FILE_B[:1])
    published.refresh()
    proc = run_cli(published.root, "releases", "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    dirs = sorted(p for p in (published.root / "output.releases").iterdir() if p.name[0].isdigit())
    assert [r["id"] for r in got] == [p.name for p in dirs]  # the empty dir was adopted: removed
    assert [r["current"] for r in got] == [False, True]
    assert got[-1]["path"] == str(published.output.resolve())
    manifest = read_manifest(published.output)
    assert got[-1] | {"path": None} == {
        "id": published.output.resolve().name,
        "published_at": manifest["published_at"],
        "refresh_id": manifest["refresh_id"],
        "files": len(manifest["files"]),
        "current": True,
        "path": None,
    }
    text = run_cli(published.root, "releases")
    assert text.returncode == 0 and f"* current: {published.output} -> " in text.stdout


def test_worksheets_to_fill_are_never_overwritten_and_survive_refreshes(published, capsys):
    from pipelines.cli.main import main

    sheets = published.worksheets
    sheets.mkdir()
    (sheets / f"{SHEET}.csv").write_text("a filled worksheet of an earlier sample 1")
    with pytest.raises(SystemExit) as exc:
        main(["audit", "draw", "--fiscal-years", "2024", "--size", "2", "--seed", "5", "--json"])
    assert exc.value.code == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["worksheet"] == str(sheets / f"{SHEET}-2.csv")  # the taken name is left alone
    assert res["worksheet_xlsx"] == str(sheets / f"{SHEET}.xlsx")
    assert (sheets / f"{SHEET}.csv").read_text() == "a filled worksheet of an earlier sample 1"
    copy = published.output / "audit_sample" / "_worksheets" / f"{SHEET}.csv"
    assert copy.read_bytes() == (sheets / f"{SHEET}-2.csv").read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444  # the release's copy is read-only
    (sheets / f"{SHEET}-2.csv").write_text("filled in place")
    write_csv(published.landing / "scr_extract_2024-03-01.csv", FILE_B[:1])
    published.refresh()
    assert (sheets / f"{SHEET}-2.csv").read_text() == "filled in place"
    assert sorted(p.name for p in sheets.iterdir()) == [
        f"{SHEET}-2.csv",
        f"{SHEET}.csv",
        f"{SHEET}.xlsx",
    ]
