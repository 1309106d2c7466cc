"""The one job every path goes through: CLI, schedule and sensors select stages of it."""

from __future__ import annotations

import dagster as dg

from assets._shared.resources import WRITER_TAG
from pipelines.orchestration.refresh_plan import JOB_NAME, VERIFY_CHECK

refresh_job = dg.define_asset_job(
    JOB_NAME,
    # every asset and check except the weekly rebuild-and-compare (its own job, pipelines/orchestration/verify.py)
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(VERIFY_CHECK),
    description="Refresh the SCR measures: ingest new extracts, validate, determine, measure the "
    "changed fiscal quarters and publish. Launched by stage (see pipelines/orchestration/refresh_plan.py).",
    tags=WRITER_TAG,
)
