"""A change to one stage's code re-runs that stage and nothing else (issue 31 item 2).

Each test refreshes the A+B extracts (2 files, 17 rows, 14 SCRs; 9 published partitions: three
tables x three quarters), then changes one stage's code the way the pipeline sees it, refreshes
again without a new file, and checks what the second refresh did, from Dagster's own
materializations of its runs and the published files:

- a stage whose decision reads the asset's ``code_version`` (re-validate, rebuild
  ``scr_current``): the definitions are given another code version for that asset
  (``Definitions.map_resolved_asset_specs``), what a changed file gives (tests/versions/test_code_version.py
  pins that link);
- the measures: their changed SQL (``quarter_rows``) gives other rows for a quarter;
- the publish step's two code versions (the partition writer's and the report's).
"""

from __future__ import annotations

import dagster as dg
import pytest
from support.extracts import FILES_A_B, write_csv
from support.project import output_hashes

from assets.publish import outputs
from pipelines.cli.refresh import run_refresh
from pipelines.orchestration.definitions import defs as DEFS

PARTITIONS = 9  # quarterly, category, determinations x FY2024 Q1, Q2 and FY2023 Q4
REPORT = "report/index.html"


def changed(*asset_names: str) -> dg.Definitions:
    """The definitions as they load after an edit to the code of ``asset_names``."""
    return DEFS.map_resolved_asset_specs(
        func=lambda spec: spec.replace_attributes(code_version=f"{spec.code_version}+edited"),
        selection=[dg.AssetKey(n) for n in asset_names],
    )


def materialized(project, result) -> dict[str, dict]:
    """What each run of one refresh materialized: asset name -> its metadata values."""
    out = {}
    for run_id in result.run_ids:
        for record in project.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records:
            mat = record.event_log_entry.asset_materialization
            out[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return out


@pytest.fixture
def refreshed(project):
    """The A+B extracts refreshed once; the published files as they were."""
    for name, rows in FILES_A_B.items():
        write_csv(project.landing / name, rows)
    first = materialized(project, run_refresh(DEFS, project.instance, progress=lambda s: None))
    assert first["scr_findings"]["files_validated"] == 2
    assert first["scr_current"]["scrs_rebuilt"] == 14
    assert first["published_outputs"]["partitions_written"] == PARTITIONS
    return project, output_hashes(project.output)


def again(project, defs: dg.Definitions = DEFS):
    result = run_refresh(defs, project.instance, progress=lambda s: None)
    return result, materialized(project, result)


def test_nothing_changed_reruns_nothing(refreshed):
    project, before = refreshed
    result, done = again(project)
    assert len(result.run_ids) == 1  # the ingest run only: nothing to publish
    assert done["scr_findings"]["files_validated"] == 0
    assert done["scr_current"]["scrs_rebuilt"] == 0
    assert done["changed_quarters"]["changed_quarters"] == []
    assert output_hashes(project.output) == before


def test_changed_rules_revalidate_every_stored_file_and_publish_nothing(refreshed):
    """The findings come out the same: SCRs of re-validated files are rebuilt (a finding
    decides quarantine), no number changes, so nothing is published."""
    project, before = refreshed
    result, done = again(project, changed("scr_findings"))
    assert done["scr_findings"]["files_validated"] == 2
    assert done["scr_findings"]["rows_checked"] == 17
    assert done["scr_current"]["scrs_rebuilt"] == 14  # the SCRs of the two files, partial
    assert done["changed_quarters"]["changed_quarters"] == []
    assert len(result.run_ids) == 1
    assert output_hashes(project.output) == before
    # and once validated under the new code version, not again
    _, done = again(project, changed("scr_findings"))
    assert done["scr_findings"]["files_validated"] == 0


def test_changed_determination_rebuilds_scr_current_only(refreshed):
    project, before = refreshed
    result, done = again(project, changed("scr_current"))
    assert done["scr_findings"]["files_validated"] == 0
    assert done["scr_current"]["scrs_rebuilt"] == 14  # the whole table: another code version
    assert project.query("SELECT * FROM build_state") == [
        (
            "scr_current",
            changed("scr_current")
            .resolve_assets_def("scr_current")
            .get_asset_spec(dg.AssetKey("scr_current"))
            .code_version,
        )
    ]
    assert done["changed_quarters"]["changed_quarters"] == []
    assert len(result.run_ids) == 1
    assert output_hashes(project.output) == before
    _, done = again(project, changed("scr_current"))
    assert done["scr_current"]["scrs_rebuilt"] == 0


def test_changed_measure_sql_remeasures_the_quarters_it_changes(refreshed, monkeypatch):
    """The quarterly query edited to give pct_all in percent: it changes in FY2024 Q1 (6 counted
    D/D, A11 and A15 quarantined, per INITIAL A9: 6 -> 600) and Q2 (year to date 8 D/D with A4
    and A14, per A9 and A12: 4 -> 400), not in FY2023 Q4 (no D/D per INITIAL A1: 0 -> 0).
    Those two quarters are measured again and their two quarterly files rewritten; the other 7
    partitions (category and determinations rows did not change) are reused."""
    from assets.measures import quarterly

    project, before = refreshed
    pct = "fytd_dd_total / fytd_initial_approved END AS pct_all"
    assert quarterly.QUARTER_ROWS_SQL.count(pct) == 1
    monkeypatch.setattr(
        quarterly, "QUARTER_ROWS_SQL", quarterly.QUARTER_ROWS_SQL.replace(pct, "100 * " + pct)
    )
    result, done = again(project)
    assert done["scr_findings"]["files_validated"] == 0
    assert done["scr_current"]["scrs_rebuilt"] == 0
    assert done["changed_quarters"]["changed_quarters"] == ["FY2024-Q1", "FY2024-Q2"]
    assert done["quarterly_measures"]["quarters"] == 2
    assert project.query(
        "SELECT fiscal_year, fiscal_quarter, pct_all FROM quarterly_measures ORDER BY ALL"
    ) == [(2023, 4, 0.0), (2024, 1, 600.0), (2024, 2, 400.0)]
    pub = done["published_outputs"]
    assert (pub["partitions_written"], pub["partitions_reused"]) == (2, PARTITIONS - 2)
    after = output_hashes(project.output)
    rewritten = {p for p in after if "fiscal_year=" in p and after[p] != before.get(p)}
    assert rewritten == {
        "quarterly_measures/fiscal_year=2024/fiscal_quarter=1/data.parquet",
        "quarterly_measures/fiscal_year=2024/fiscal_quarter=2/data.parquet",
    }


def test_changed_report_code_rerenders_the_report_and_reuses_every_partition(
    refreshed, monkeypatch
):
    """A template edit, as the publish step sees it: the report renders differently and its code
    version changed. The rendering alone, without the version, re-renders nothing: the version
    is what reaches the report."""
    from assets.report import build

    project, before = refreshed
    render = build.render_page
    monkeypatch.setattr(build, "render_page", lambda con: render(con) + "<!-- edited -->")
    result, done = again(project)
    assert len(result.run_ids) == 1 and output_hashes(project.output) == before

    monkeypatch.setattr(outputs, "REPORT_CODE_VERSION", outputs.REPORT_CODE_VERSION + "+edited")
    result, done = again(project)
    assert done["scr_findings"]["files_validated"] == 0
    assert done["scr_current"]["scrs_rebuilt"] == 0
    assert done["changed_quarters"]["changed_quarters"] == []
    assert "quarterly_measures" not in done  # no quarter measured again
    pub = done["published_outputs"]
    assert (pub["partitions_written"], pub["partitions_reused"]) == (0, PARTITIONS)
    assert pub["written"] == [REPORT]
    after = output_hashes(project.output)
    assert {p for p in after if after[p] != before.get(p)} == {REPORT, "_manifest.json"}


def test_changed_partition_writer_rewrites_every_partition_and_nothing_else(refreshed, monkeypatch):
    """Another partition writer (its code version or pyarrow's): every partition is queried and
    written again, once (same rows and, here, the same bytes); the report is not re-rendered."""
    project, before = refreshed
    writer = outputs.partition_writer()
    monkeypatch.setattr(outputs, "partition_writer", lambda: writer + "+edited")
    result, done = again(project)
    assert len(result.run_ids) == 2  # the publish run: partitions differ from what is published
    assert done["scr_findings"]["files_validated"] == 0
    assert done["scr_current"]["scrs_rebuilt"] == 0
    assert "quarterly_measures" not in done
    pub = done["published_outputs"]
    assert pub["partitions_reused"] == 0
    assert REPORT not in pub["written"]
    assert output_hashes(project.output).keys() == before.keys()
    # written under the new writer: the next refresh has nothing to do
    result, done = again(project)
    assert len(result.run_ids) == 1
