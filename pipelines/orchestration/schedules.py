"""Quarterly refresh: on the 15th day after each fiscal quarter closes (extracts have landed)."""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.jobs import refresh_job
from pipelines.orchestration.refresh_plan import (
    CLOSED_QUARTER_TAG,
    INGEST,
    TRIGGER_TAG,
    RunPlan,
    run_request,
)
from schemas.fiscal import last_closed_quarter, quarter_key


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 6 15 1,4,7,10 *",
    execution_timezone="America/New_York",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Each quarter, 15 days after the fiscal quarter closes: ingest whatever has "
    "landed and re-measure the quarters that changed (the run-status sensor plans the rest).",
)
def quarterly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    fy, q = last_closed_quarter(context.scheduled_execution_time.date())
    quarter = quarter_key(fy, q)
    plan = RunPlan(INGEST, tags={TRIGGER_TAG: "schedule", CLOSED_QUARTER_TAG: quarter})
    return run_request(plan, context.repository_def, run_key=f"quarterly-{quarter}")
