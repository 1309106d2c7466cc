"""The schedule and the sensors decide what the daemon runs: evaluated here against a real
instance and a real ingest run (the daemon end to end is in tests/test_ops_*.py)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
from conftest import write_scr_csv
from fixtures_scr import FILE_A

from pipelines.definitions import defs
from pipelines.schedules import quarterly_refresh
from pipelines.sensors import landing_sensor, plan_after_ingest
from pipelines.stages import (
    INGEST,
    MEASURES,
    PUBLISH,
    RANGE_END,
    RANGE_START,
    STAGE_TAG,
    stage_keys,
)

REPO = defs.get_repository_def()


def test_landing_sensor_requests_ingest_once_per_change(project):
    ctx = dg.build_sensor_context(instance=project.instance, repository_def=REPO)
    assert isinstance(landing_sensor(ctx), dg.SkipReason)  # empty landing dir
    write_scr_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
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


def test_plan_after_ingest_requests_changed_quarters_then_publish(project):
    write_scr_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    job = defs.resolve_job_def("scr_refresh")
    result = job.execute_in_process(
        instance=project.instance,
        asset_selection=stage_keys(REPO.asset_graph, INGEST),
        tags={STAGE_TAG: INGEST},
    )
    assert result.success
    run = project.instance.get_run_by_id(result.run_id)
    success_event = next(
        e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS
    )
    ctx = dg.build_run_status_sensor_context(
        sensor_name="plan_after_ingest",
        dagster_event=success_event,
        dagster_instance=project.instance,
        dagster_run=run,
        repository_def=REPO,
    )
    requests = list(plan_after_ingest(ctx))
    # FILE_A alone: FY2023 Q4, FY2024 Q1 and Q2 are neighbours -> one range run, then publish
    assert [
        (r.tags[STAGE_TAG], r.tags.get(RANGE_START), r.tags.get(RANGE_END)) for r in requests
    ] == [
        (MEASURES, "2023-Q4", "2024-Q2"),
        (PUBLISH, None, None),
    ]
    assert set(requests[0].asset_selection) == set(stage_keys(REPO.asset_graph, MEASURES))
