"""The Dagster code location: assembles assets, checks, the job, schedule, sensors and resources.

Assets are collected from the ``assets`` package, so a new stage module needs no edit here.
Importing this module has no side effects (no environment variable set, no folder created):
resources, sensors, the schedule and alerts read their settings through ``pipelines.settings``
when they run; the CLI's entry point applies the defaults for its own process.
"""

from __future__ import annotations

import dagster as dg

import assets
from assets.audit_sample import AUDIT_SAMPLES, audit_draw_job
from pipelines.alerts import alert_on_run_failure, measure_freshness
from pipelines.jobs import refresh_job
from pipelines.resources import default_resources
from pipelines.schedules import quarterly_refresh
from pipelines.sensors import landing_sensor, plan_after_ingest
from pipelines.verify import reproducible_from_archive, verify_job, weekly_verify

defs = dg.Definitions(
    assets=[*dg.load_assets_from_package_module(assets), AUDIT_SAMPLES],
    asset_checks=[*dg.load_asset_checks_from_package_module(assets), reproducible_from_archive],
    jobs=[refresh_job, audit_draw_job, verify_job],
    schedules=[quarterly_refresh, weekly_verify],
    sensors=[landing_sensor, plan_after_ingest, alert_on_run_failure, measure_freshness],
    resources=default_resources(),
    # one process per run: steps share DuckDB's single-writer lock instead of racing for it
    executor=dg.in_process_executor,
)
