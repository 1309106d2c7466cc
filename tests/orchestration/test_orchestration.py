"""The schedule and the sensors decide what the daemon runs: evaluated here against a real
instance and real runs (the daemon end to end is in tests/test_ops_*.py). The daemon walks the
same refresh plan as the CLI: no publish after a failed measures run."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
from support.extracts import FILE_A, write_csv

from pipelines.definitions import defs
from pipelines.schedules import quarterly_refresh
from pipelines.sensors import landing_sensor, plan_after_ingest
from pipelines.stages import (
    AFTER_TAG,
    INGEST,
    MEASURES,
    PUBLISH,
    RANGE_END,
    RANGE_START,
    STAGE_TAG,
    stage_keys,
)

REPO = defs.get_repository_def()
RUN_SUCCESS, RUN_FAILURE = dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE


def test_landing_sensor_requests_ingest_once_per_change(project):
    ctx = dg.build_sensor_context(instance=project.instance, repository_def=REPO)
    assert isinstance(landing_sensor(ctx), dg.SkipReason)  # empty landing dir
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    req = landing_sensor(ctx)
    assert isinstance(req, dg.RunRequest)
    assert req.tags[STAGE_TAG] == INGEST
    assert set(req.asset_selection) == set(stage_keys(REPO.asset_graph, INGEST))
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
    assert req.run_key == "quarterly-2024-Q1"
    assert req.tags[STAGE_TAG] == INGEST and req.tags["scr/closed_quarter"] == "2024-Q1"


def _run(project, stage: str, tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    """A real run of one stage of the refresh job on the project's instance and warehouse."""
    return defs.resolve_job_def("scr_refresh").execute_in_process(
        instance=project.instance,
        asset_selection=stage_keys(REPO.asset_graph, stage),
        tags=tags,
        raise_on_error=False,
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


def test_daemon_publishes_only_after_every_planned_measures_run_succeeded(project):
    """Ingest -> measures (fails) -> nothing; measures re-run succeeds -> publish, once."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    ingest = _run(project, INGEST, {STAGE_TAG: INGEST})
    assert ingest.success
    requests = _sensor(project, ingest)
    # FILE_A alone: FY2023 Q4, FY2024 Q1 and Q2 are neighbours -> one range run; publish waits
    assert [
        (r.tags[STAGE_TAG], r.tags.get(RANGE_START), r.tags.get(RANGE_END)) for r in requests
    ] == [(MEASURES, "2023-Q4", "2024-Q2")]
    (measures,) = requests
    assert set(measures.asset_selection) == set(stage_keys(REPO.asset_graph, MEASURES))
    assert measures.tags[AFTER_TAG] == ingest.run_id

    backup = project.warehouse.read_bytes()
    with duckdb.connect(str(project.warehouse)) as con:
        con.execute("DROP TABLE scr_current")  # the measures run now fails for real
    failed = _run(project, MEASURES, measures.tags)
    assert not failed.success
    assert _sensor(project, failed) == []  # no publish after a failed measures run
    assert not list(project.output.rglob("*"))  # and nothing was written

    project.warehouse.write_bytes(backup)
    again = _run(project, MEASURES, measures.tags)  # the operator re-executes it
    assert again.success
    (publish,) = _sensor(project, again)
    assert publish.tags[STAGE_TAG] == PUBLISH and publish.tags[AFTER_TAG] == ingest.run_id
    assert publish.run_key == f"{ingest.run_id}-publish"


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
