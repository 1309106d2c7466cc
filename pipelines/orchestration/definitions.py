"""The Dagster code location: assembles assets, checks, the job, schedule, sensors and resources.

Assets are collected from the domain folders of the ``assets`` package, each folder one group in
the UI, so a new module in a folder needs no edit here (a new folder is one line in DOMAINS).
Importing this module has no side effects (no environment variable set, no folder created):
resources, sensors, the schedule and alerts read their settings through
``assets._shared.settings`` when they run; the CLI's entry point applies the defaults for its
own process.
"""

from __future__ import annotations

import dagster as dg

from assets import audit, landing, measures, publish, resource_requests, scr
from assets.audit.sample import AUDIT_SAMPLES, audit_draw_job
from pipelines.orchestration.alerts import (
    alert_on_run_failure,
    measure_freshness,
    record_step_failure,
)
from pipelines.orchestration.jobs import STAGE_JOBS, refresh_job
from pipelines.orchestration.refresh_plan import with_stage_tags
from pipelines.orchestration.schedules import quarterly_refresh
from pipelines.orchestration.sensors import landing_sensor, plan_after_ingest
from pipelines.orchestration.verify import verify_check, verify_job, weekly_verify
from pipelines.orchestration.warehouse import location_resources

# the data flow, left to right: files land, SCRs are validated and determined, measures are
# computed, resource requests and the audit toolkit sit beside them, outputs are published
DOMAINS = (landing, scr, measures, resource_requests, audit, publish)

# the weekly rebuild-and-compare refreshes this location: it is handed the location (read when
# the check runs), so verify.py never imports this module
reproducible_from_archive = verify_check(lambda: defs)

defs = dg.Definitions(
    assets=with_stage_tags(
        [
            *(
                a
                for d in DOMAINS
                for a in dg.load_assets_from_package_module(d, group_name=d.__name__.split(".")[-1])
            ),
            AUDIT_SAMPLES,
        ]
    ),
    asset_checks=[
        *(c for d in DOMAINS for c in dg.load_asset_checks_from_package_module(d)),
        reproducible_from_archive,
    ],
    # every job records a failed step's typed error for the failure alert (alerts.py)
    jobs=[refresh_job, *STAGE_JOBS, audit_draw_job.with_hooks({record_step_failure}), verify_job],
    schedules=[quarterly_refresh, weekly_verify],
    sensors=[landing_sensor, plan_after_ingest, alert_on_run_failure, measure_freshness],
    resources=location_resources(),
    # one process per run: steps share DuckDB's single-writer lock instead of racing for it
    executor=dg.in_process_executor,
)
