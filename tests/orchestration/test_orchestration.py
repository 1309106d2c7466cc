"""The schedule and the sensors decide what the daemon runs: evaluated here against a real
instance and real runs (the daemon end to end is in tests/ops/test_ops_*.py). The daemon walks the
same refresh plan as the CLI: an ingest run, then one run that measures the changed quarters and
publishes; at most two runs per refresh either way (counted on the instance)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest
from support.extracts import FILE_A, write_csv

from pipelines.orchestration.definitions import defs
from pipelines.orchestration.refresh_plan import (
    AFTER_TAG,
    INGEST,
    MEASURES,
    PUBLISH,
    RANGE_END,
    RANGE_START,
    STAGE_TAG,
    RunPlan,
    stage_check_keys,
    stage_keys,
)
from pipelines.orchestration.schedules import quarterly_refresh
from pipelines.orchestration.sensors import landing_sensor, plan_after_ingest

REPO = defs.get_repository_def()
RUN_SUCCESS, RUN_FAILURE = dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE


def test_landing_sensor_requests_ingest_once_per_change(project):
    ctx = dg.build_sensor_context(instance=project.instance, repository_def=REPO)
    assert isinstance(landing_sensor(ctx), dg.SkipReason)  # empty landing dir
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    req = landing_sensor(ctx)
    assert isinstance(req, dg.RunRequest)
    assert req.tags[STAGE_TAG] == INGEST
    assert set(req.asset_selection) == set(stage_keys(REPO, INGEST))
    again = dg.build_sensor_context(
        instance=project.instance, repository_def=REPO, cursor=ctx.cursor
    )
    assert isinstance(landing_sensor(again), dg.SkipReason)
    (project.landing / "notes.txt").write_text("ignored by the sensor: not an extract name")
    assert isinstance(landing_sensor(again), dg.SkipReason)


def test_schedule_requests_the_quarter_that_closed(project):
    ctx = dg.build_schedule_context(
        instance=project.instance,
        scheduled_execution_time=dt.datetime(2024, 1, 15, 6, 0),
        repository_def=REPO,
    )
    req = quarterly_refresh(ctx)
    assert req.run_key == "quarterly-FY2024-Q1"
    assert req.tags[STAGE_TAG] == INGEST and req.tags["scr/closed_quarter"] == "FY2024-Q1"


def _run(project, stage: str, tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    """A real run of one stage of the refresh job on the project's instance and warehouse."""
    return defs.get_job_def("scr_refresh").execute_in_process(
        instance=project.instance,
        asset_selection=stage_keys(REPO, stage),
        tags=tags,
        raise_on_error=False,
    )


def _launch(project, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """What the daemon does with a sensor's request: a run of exactly its selection and tags."""
    job = defs.resolve_job_def("scr_refresh").get_subset(
        asset_selection=set(request.asset_selection),
        asset_check_selection=set(request.asset_check_keys),
    )
    return job.execute_in_process(
        instance=project.instance, tags=request.tags, raise_on_error=False
    )


def _sensor(project, result: dg.ExecuteInProcessResult) -> list:
    """Evaluate plan_after_ingest for a finished run, as the daemon would."""
    run = project.instance.get_run_by_id(result.run_id)
    event = next(e for e in result.all_events if e.event_type in (RUN_SUCCESS, RUN_FAILURE))
    ctx = dg.build_run_status_sensor_context(
        sensor_name="plan_after_ingest",
        dagster_event=event,
        dagster_instance=project.instance,
        dagster_run=run,
        repository_def=REPO,
    )
    return [r for r in plan_after_ingest(ctx) if isinstance(r, dg.RunRequest)]


def test_daemon_refresh_is_two_runs_and_publishes_nothing_after_a_failed_one(project):
    """Ingest -> one run measuring the changed quarters and publishing (fails: nothing written,
    nothing launched) -> the operator re-executes it: published; two runs per attempt."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    ingest = _run(project, INGEST, {STAGE_TAG: INGEST})
    assert ingest.success
    (request,) = _sensor(project, ingest)
    # FILE_A: FY2023-Q4, FY2024-Q1 and Q2 changed -> one range from the first to the last
    tags = request.tags
    assert (tags[STAGE_TAG], tags[RANGE_START], tags[RANGE_END]) == (
        PUBLISH, "FY2023-Q4", "FY2024-Q2",
    )  # fmt: skip
    assert (
        tags[AFTER_TAG] == ingest.run_id
        and request.run_key == f"{ingest.run_id}-publish-FY2023-Q4-FY2024-Q2"
    )
    graph = REPO
    assert set(request.asset_selection) == set(
        stage_keys(graph, MEASURES) + stage_keys(graph, PUBLISH)
    )
    assert set(request.asset_check_keys) == set(
        stage_check_keys(graph, MEASURES) + stage_check_keys(graph, PUBLISH)
    )

    backup = project.warehouse.read_bytes()
    with duckdb.connect(str(project.warehouse)) as con:
        con.execute("DROP TABLE scr_current")  # the measures step now fails for real
    failed = _launch(project, request)
    assert not failed.success
    assert _sensor(project, failed) == []  # nothing launched after it
    assert not list(project.output.rglob("*"))  # and nothing was written
    assert project.instance.get_runs_count() == 2

    project.warehouse.write_bytes(backup)
    again = _launch(project, request)  # the operator re-executes it
    assert again.success and _sensor(project, again) == []
    assert (project.output / "_manifest.json").exists()
    partitions = {m.partition for m in again.asset_materializations_for_node("quarterly_measures")}
    assert partitions == {"FY2023-Q4", "FY2024-Q1", "FY2024-Q2"}
    assert project.instance.get_runs_count() == 3


@pytest.mark.cli_instance
def test_a_first_refresh_and_a_one_quarter_correction_take_two_runs_each(project):
    """The CLI's plan (in-process, the instance the CLI uses) and the daemon's requests agree:
    the same stage, range and selection after the same ingest."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    first = project.refresh()
    assert len(first.run_ids) == 2 and project.instance.get_runs_count() == 2
    assert first.changed_quarters == ["FY2023-Q4", "FY2024-Q1", "FY2024-Q2"]
    publish = project.instance.get_run_by_id(first.run_ids[1])
    assert (publish.tags[STAGE_TAG], publish.tags[RANGE_START], publish.tags[RANGE_END]) == (
        PUBLISH, "FY2023-Q4", "FY2024-Q2",
    )  # fmt: skip
    materialized = {
        e.dagster_event.asset_key
        for e in project.instance.all_logs(
            publish.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        )
    }
    assert materialized == set(RunPlan(PUBLISH, ("FY2023-Q4", "FY2024-Q2")).asset_keys(REPO))
    # a late correction of A4, approved 2024-01-01 (FY2024-Q2): another field office
    a4 = next(r for r in FILE_A if r["scr_id"] == "A4")
    fix = dict(a4, field_office="Elsewhere", last_modified_at="2024-03-01T09:00:00")
    write_csv(project.landing / "scr_extract_2024-03-02.csv", [fix])
    again = project.refresh()
    assert again.changed_quarters == ["FY2024-Q2"]
    assert len(again.run_ids) == 2 and project.instance.get_runs_count() == 4
    publish = project.instance.get_run_by_id(again.run_ids[1])
    assert (publish.tags[RANGE_START], publish.tags[RANGE_END]) == ("FY2024-Q2", "FY2024-Q2")
    assert len(project.refresh().run_ids) == 1  # nothing new: the ingest run alone
    assert project.instance.get_runs_count() == 5


def test_cli_runs_are_not_chained_by_the_daemon(project):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    ingest = _run(project, INGEST, {STAGE_TAG: INGEST, "scr/trigger": "cli"})
    assert ingest.success and _sensor(project, ingest) == []


def test_landing_sensor_after_a_cli_refresh_launches_nothing(project):
    """A fresh sensor (no cursor, e.g. the UI started after a CLI refresh) sees it all ingested."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    ctx = dg.build_sensor_context(instance=project.instance, repository_def=REPO)
    assert isinstance(landing_sensor(ctx), dg.SkipReason)
    write_csv(project.landing / "scr_extract_2024-02-01.csv", FILE_A[:1])
    assert isinstance(landing_sensor(ctx), dg.RunRequest)


OLD_INSTANCE_YAML = """# Dagster instance settings: the template pipelines/orchestration/instance.py writes into DAGSTER_HOME.
storage:
  custom:
    module: pipelines.sqlite_storage
    class: PooledSqliteStorage
    config:
      base_dir:
        env: DAGSTER_HOME
"""


@pytest.mark.cli_instance
def test_a_dagster_home_from_before_the_fiscal_keys_refreshes_and_keeps_its_history(project):
    """docs/RUNBOOK.md, "Upgrading a Dagster home": the managed dagster.yaml that named the
    removed storage class is rewritten from the template; the runs and the materializations
    recorded under the old dynamic keys (``2024-Q1``) stay readable; the refresh measures
    under ``FY2024-Q1`` keys in the same files."""
    from support.project import run_cli

    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    old = project.instance
    old.add_dynamic_partitions("fiscal_quarter", ["2024-Q1", "2024-Q2"])
    old.report_runless_asset_event(
        dg.AssetMaterialization(asset_key="quarterly_measures", partition="2024-Q1")
    )
    (project.home / "dagster.yaml").write_text(OLD_INSTANCE_YAML)

    proc = run_cli(project.root, "refresh")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    from pipelines.orchestration.instance import TEMPLATE

    assert (project.home / "dagster.yaml").read_text() == TEMPLATE.read_text()
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        assert instance.get_runs_count() == 2  # the refresh's two runs, beside the old event
        assert instance.get_dynamic_partitions("fiscal_quarter") == ["2024-Q1", "2024-Q2"]

        def partitions(keys: list[str]) -> list[str]:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey("quarterly_measures"), asset_partitions=keys
                ),
                limit=10,
            ).records
            return sorted(r.partition_key for r in records)

        assert partitions(["2024-Q1"]) == ["2024-Q1"]  # the old history is still there
        assert partitions(["FY2023-Q4", "FY2024-Q1", "FY2024-Q2"]) == [
            "FY2023-Q4", "FY2024-Q1", "FY2024-Q2",
        ]  # fmt: skip
