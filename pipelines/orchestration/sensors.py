"""Sensors: start a refresh when an extract lands, and walk the refresh plan run by run."""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.jobs import refresh_job
from pipelines.orchestration.refresh_plan import (
    AFTER_TAG,
    INGEST,
    LANDING_TAG,
    STAGE_TAG,
    TRIGGER_TAG,
    RunPlan,
    landing_fingerprint,
    last_ingested_fingerprint,
    next_plans,
    run_request,
)


@dg.sensor(
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests an ingest run when a new or changed extract appears in SCR_LANDING_DIR "
    "(compared with the landing dir the last successful ingest run, CLI or daemon, started from).",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    fingerprint, entries = landing_fingerprint()
    if not entries:
        return dg.SkipReason("no extract files in the landing dir")
    if fingerprint in (context.cursor, last_ingested_fingerprint(context.instance)):
        context.update_cursor(fingerprint)
        return dg.SkipReason(f"no new or changed extracts ({len(entries)} files, all ingested)")
    context.update_cursor(fingerprint)
    plan = RunPlan(INGEST, tags={TRIGGER_TAG: "landing_sensor", LANDING_TAG: fingerprint})
    return run_request(plan, context.repository_def, run_key=f"landing-{fingerprint}")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    minimum_interval_seconds=10,  # the next stage follows promptly
    monitored_jobs=[refresh_job],
    request_job=refresh_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Walks the refresh plan (pipelines/orchestration/refresh_plan.py): after an ingest "
    "run, the one run that measures the range of changed fiscal quarters and publishes, decided "
    "as the CLI decides (nothing when nothing is new; never after a failed ingest run).",
)
def plan_after_ingest(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    plans = next_plans(context.instance, run, context.repository_def)
    if not plans:
        yield dg.SkipReason(f"nothing to launch after this {run.tags.get(STAGE_TAG)} run")
        return
    for p in plans:
        parts = (p.tags.get(AFTER_TAG, run.run_id), p.stage, *(p.partition_range or ()))
        # one publish per ingest run, however often it is evaluated
        yield run_request(p, context.repository_def, run_key="-".join(parts))
