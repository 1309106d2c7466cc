"""Run-tag names, one home for the code that sets them (pipelines) and the assets that read them.

Why here, below ``pipelines``: an asset that reads a run tag (``published_outputs`` names its
release after the refresh) must not spell the pipelines layer's tag as a literal.
"""

from __future__ import annotations

REFRESH_TAG = "scr/refresh_id"  # every run of one refresh (CLI or daemon) shares it
STAGE_TAG = "scr/stage"  # on runs and on every asset: ingest, measures or publish
TRIGGER_TAG = "scr/trigger"  # who started the run: cli, schedule, landing_sensor, ...
AFTER_TAG = "scr/after_run"  # on publish runs: the ingest run they follow
LANDING_TAG = "scr/landing_fingerprint"  # on ingest runs: the landing dir they started from
CLOSED_QUARTER_TAG = "scr/closed_quarter"  # on scheduled ingest runs: the quarter that closed
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# Runs that write the DuckDB warehouse carry this tag; the run queue admits one at a time
# (dagster.template.yaml).
WRITER_TAG = {"scr/warehouse-writer": "true"}
