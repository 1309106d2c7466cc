"""Sensors: start a refresh when an extract lands, and chain the stages of a refresh."""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from assets.landing_scan import is_ignored, is_unsettled
from pipelines.jobs import refresh_job
from pipelines.partitions import FISCAL_QUARTERS
from pipelines.settings import path_from_env, settle_seconds
from pipelines.stages import (
    INGEST,
    STAGE_TAG,
    RunPlan,
    changed_quarters_of_run,
    follow_up_plans,
    stage_keys,
)
from schemas.extracts import spec_for


def landing_fingerprint() -> tuple[str, list[str]]:
    """A cheap fingerprint (name, size, mtime) of the settled extract files in the landing dir.

    A file still being written (changed less than SCR_SETTLE_SECONDS ago), a hidden or partial
    file is left out, so a later tick sees it once it has settled."""
    landing = path_from_env("SCR_LANDING_DIR")
    settle = settle_seconds()
    entries = []
    if landing.is_dir():
        for p in sorted(landing.iterdir()):
            if is_ignored(p.name) or p.is_symlink() or not p.is_file() or not spec_for(p.name):
                continue
            st = p.stat()
            if not is_unsettled(st, settle):
                entries.append(f"{p.name}:{st.st_size}:{int(st.st_mtime)}")
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16], entries


@dg.sensor(
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests an ingest run when a new or changed extract appears in SCR_LANDING_DIR.",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    fingerprint, entries = landing_fingerprint()
    if fingerprint == context.cursor or not entries:
        return dg.SkipReason(f"no new or changed extracts ({len(entries)} files)")
    context.update_cursor(fingerprint)
    return dg.RunRequest(
        run_key=f"landing-{fingerprint}",
        asset_selection=stage_keys(context.repository_def.asset_graph, INGEST),
        tags=RunPlan(INGEST, tags={"scr/trigger": "landing_sensor"}).run_tags(),
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    minimum_interval_seconds=10,  # the next stage follows an ingest run promptly
    monitored_jobs=[refresh_job],
    request_job=refresh_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After an ingest run succeeds: one measures run per block of changed fiscal "
    "quarters, then the publish stage.",
)
def plan_after_ingest(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    if run.tags.get(STAGE_TAG) != INGEST:
        return dg.SkipReason("not an ingest run")
    changed = changed_quarters_of_run(context.instance, run.run_id) or []
    keys = context.instance.get_dynamic_partitions(FISCAL_QUARTERS.name)
    graph = context.repository_def.asset_graph
    for i, plan in enumerate(follow_up_plans(changed, keys)):
        yield dg.RunRequest(
            run_key=f"{run.run_id}-{i}",
            asset_selection=stage_keys(graph, plan.stage),
            tags=plan.run_tags() | {"scr/after_run": run.run_id},
        )
