"""The one change detector (assets/_shared/code_version.py): what a code version covers, that
an edited file changes exactly the versions that read it, that every asset carries one, and
that ``stale_stages`` names the stages whose code changed since they were materialized.

Files are edited in a copy of ``assets/`` and ``schemas/`` in a temp dir; the project's own
files are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets._shared.code_version import (
    PROJECT_ROOT,
    all_code_versions,
    asset_modules,
    code_files,
    code_version_of,
)

EXTRACT_MODULES = ("scr_extract", "resource_request", "case_review")


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the project's asset and schema code (no pipelines/: nothing below imports it)."""
    for top in ("assets", "schemas"):
        shutil.copytree(
            PROJECT_ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def versions(root: Path, *modules: str) -> dict[str, str]:
    return {m: code_version_of(root / (m.replace(".", "/") + ".py")) for m in modules}


def edit(path: Path, line: str = "# an edit") -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def relative(files: list[Path]) -> set[str]:
    return {f.relative_to(PROJECT_ROOT).as_posix() for f in files}


@pytest.mark.parametrize("module", EXTRACT_MODULES)
def test_an_extracts_rules_cover_the_shared_blocks_and_reference_data(module):
    files = relative(code_files(f"schemas.{module}"))
    assert {f"schemas/{module}.py", "schemas/rule_blocks.py", "schemas/extracts.py"} <= files
    assert f"schemas/reference/{module.replace('_extract', '')}_rules.csv" in files
    assert all(f.startswith("schemas/") for f in files)  # nothing of assets/ or third parties


def test_the_version_is_stable_and_independent_of_where_the_project_is(copy):
    mods = ("assets.scr.determine", "assets.publish.outputs", "assets.scr.validate")
    assert versions(copy, *mods) == {m: code_version_of(m) for m in mods}  # same files
    assert versions(copy, *mods) == versions(copy, *mods)


@pytest.mark.parametrize(
    ("edited", "changed", "unchanged"),
    [
        # a shared rule block: every extract's rules, and what reads them
        (
            "schemas/rule_blocks.py",
            {"assets.scr.validate", "assets.scr.determine", "assets.audit.case_reviews"},
            set(),
        ),
        # one extract's rules: not another extract's findings
        ("schemas/scr_extract.py", {"assets.scr.validate"}, {"assets.resource_requests.requests"}),
        # a rule catalogue (reference data beside schemas/reference.py)
        ("schemas/reference/scr_rules.csv", {"assets.scr.validate"}, set()),
        # a measure query: measures (and what reads them), not validation or determination
        (
            "assets/measures/quarterly.py",
            {"assets.measures.quarterly"},
            {"assets.scr.validate", "assets.scr.determine"},
        ),
        # the report template: the report and the publish step only
        (
            "assets/report/templates/report.html",
            {"assets.report.build", "assets.publish.outputs"},
            {"assets.scr.determine", "assets.measures.quarterly", "assets.scr.validate"},
        ),
        # plumbing that decides no result: nothing
        (
            "assets/_shared/resources.py",
            set(),
            {"assets.scr.validate", "assets.scr.determine", "assets.publish.outputs"},
        ),
        # the kept tables' DDL (every domain imports it): nothing re-runs
        (
            "assets/_shared/migrations.py",
            set(),
            {"assets.scr.validate", "assets.scr.determine", "assets.measures.quarterly"},
        ),
    ],
)
def test_an_edit_changes_exactly_the_versions_that_read_it(copy, edited, changed, unchanged):
    mods = sorted(changed | unchanged)
    before = versions(copy, *mods)
    edit(copy / edited, "# an edit" if edited.endswith(".py") else "")
    after = versions(copy, *mods)
    assert {m for m in mods if before[m] != after[m]} == changed


def test_the_partition_writer_version_reads_its_own_files_only(copy):
    """The writer's version (imports=False): a template edit leaves it, an edit to export.py
    does not."""
    files = (copy / "assets/publish/outputs.py", copy / "assets/publish/export.py")
    before = code_version_of(*files, imports=False)
    edit(copy / "assets/report/templates/report.css", "")
    assert code_version_of(*files, imports=False) == before
    edit(copy / "assets/publish/export.py")
    assert code_version_of(*files, imports=False) != before


def test_every_asset_carries_the_code_version_of_its_module():
    """Each asset's ``code_version`` is ``code_version_of`` its defining module (the findings
    assets: the extract's schema module and the validation machinery). External assets (the
    audit samples a person draws) are not materialized by a refresh and carry none."""
    from pipelines.orchestration.definitions import defs

    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    module_versions = set(all_code_versions().values())
    findings = {
        "scr_findings": "schemas.scr_extract",
        "resource_request_findings": "schemas.resource_request",
        "case_review_findings": "schemas.case_review",
    }
    for name, spec in specs.items():
        if name == "audit_samples":
            assert spec.code_version is None
        elif name in findings:
            assert spec.code_version == code_version_of(findings[name], "assets._shared.validation")
        else:
            assert spec.code_version in module_versions, name
    assert specs["scr_current"].code_version == code_version_of("assets.scr.determine")
    assert specs["published_outputs"].code_version == code_version_of(
        "assets.publish.published_outputs"
    )


def test_the_refresh_stamp_covers_every_file_an_asset_version_reads():
    """The stamp records the versions of every asset module: together they read every file any
    asset's version reads (the findings assets' included), so no code edit that changes an
    asset's version leaves the stamp as it was."""
    from pipelines.orchestration.refresh_stamp import code_fingerprint

    covered = set(code_files(*asset_modules()))
    for schema in ("schemas.scr_extract", "schemas.resource_request", "schemas.case_review"):
        assert set(code_files(schema, "assets._shared.validation")) <= covered
    assert code_fingerprint() == all_code_versions()


def test_stale_stages_names_the_stages_whose_code_changed(project):
    """After a refresh every materialized asset has this code's version: nothing is stale.
    Definitions with another version for one asset (what a code edit gives) make its stage
    stale, and only it."""
    from support.extracts import FILES_A_B, write_csv

    from pipelines.orchestration.code_versions import stale_assets, stale_stages
    from pipelines.orchestration.definitions import defs

    for name, rows in FILES_A_B.items():
        write_csv(project.landing / name, rows)
    project.refresh()
    assert stale_stages(defs, project.instance) == set()

    def edited(*names: str) -> dg.Definitions:
        return defs.map_resolved_asset_specs(
            func=lambda s: s.replace_attributes(code_version=f"{s.code_version}+edited"),
            selection=[dg.AssetKey(n) for n in names],
        )

    assert stale_stages(edited("scr_findings"), project.instance) == {"ingest"}
    assert stale_stages(edited("quarterly_measures"), project.instance) == {"measures"}
    assert stale_stages(edited("published_outputs"), project.instance) == {"publish"}
    assert stale_assets(edited("scr_current", "annual_measures"), project.instance) == {
        dg.AssetKey("scr_current"),
        dg.AssetKey("annual_measures"),
    }
    # never materialized by a refresh: not stale by code (audit samples are drawn by a person)
    assert dg.AssetKey("audit_samples") not in stale_assets(
        edited("audit_samples"), project.instance
    )


def test_build_state_holds_code_versions_and_drops_a_pre_version_table(tmp_path):
    """A warehouse from before code versions kept a hash of the determination SQL in
    ``build_state.fingerprint``: that is no code version, so the table is made anew (one full
    rebuild of scr_current follows) and holds code versions only."""
    import duckdb

    from assets.scr.determine import built_version

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("CREATE TABLE build_state (name VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
        con.execute("INSERT INTO build_state VALUES ('scr_current', 'a1b2c3d4e5f60718')")
        assert built_version(con, "scr_current") is None
        columns = con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'build_state' ORDER BY ordinal_position"
        ).fetchall()
        assert columns == [("name",), ("code_version",)]
        con.execute("INSERT INTO build_state VALUES ('scr_current', 'v1')")
        assert built_version(con, "scr_current") == "v1"


def test_the_one_plan_runs_the_stages_whose_code_changed(project):
    """The plan after an ingest (CLI and daemon alike) reads the stale stages itself: with the
    outputs equal to the warehouse, an edited publish-stage asset still gets a publish run and
    an edited measure every quarter re-measured; unedited code, nothing."""
    from support.extracts import FILES_A_B, write_csv

    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_plan import PUBLISH, decide_after_ingest

    for name, rows in FILES_A_B.items():
        write_csv(project.landing / name, rows)
    project.refresh()
    again = project.refresh()  # nothing new: the ingest run alone
    assert len(again.run_ids) == 1
    ingest_run = again.run_ids[0]

    def edited(*names: str) -> dg.Definitions:
        return defs.map_resolved_asset_specs(
            func=lambda s: s.replace_attributes(code_version=f"{s.code_version}+edited"),
            selection=[dg.AssetKey(n) for n in names],
        )

    def plan(source):
        return decide_after_ingest(project.instance, ingest_run, source, differences=list).plan

    assert plan(defs) is None
    published = plan(edited("annual_measures"))
    assert published is not None and published.stage == PUBLISH
    assert published.partition_range is None  # no quarter re-measured for an annual edit
    measured = plan(edited("quarterly_measures"))
    assert measured is not None and measured.partition_range is not None
