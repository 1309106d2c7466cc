"""The one job every path goes through: CLI, schedule and sensors select stages of it."""

from __future__ import annotations

import dagster as dg

from pipelines.stages import JOB_NAME

# Runs of this job write the DuckDB warehouse; the run queue admits one at a time (dagster.template.yaml).
WRITER_TAG = {"scr/warehouse-writer": "true"}

refresh_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Refresh the SCR measures: ingest new extracts, validate, determine, measure the "
    "changed fiscal quarters and publish. Launched by stage (see pipelines/stages.py).",
    tags=WRITER_TAG,
)
