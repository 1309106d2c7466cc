"""The refresh plan: the three stages of a refresh and what runs after what.

1. ``ingest``: every unpartitioned asset upstream of the partitioned measures (read files,
   validate, current records, which quarters changed).
2. ``measures``: the partitioned assets, one run per block of neighbouring changed quarters;
   they update warehouse tables only.
3. ``publish``: everything else (annual table, reconciliation and its blocking check, ...) and
   last ``published_outputs``, the only step that writes under SCR_OUTPUT_DIR.

The plan stops at the first failure. The CLI (``pipelines/refresh.py``, in-process) walks it with
``refresh_plan``; the daemon (``plan_after_ingest`` sensor, after the schedule or the landing
sensor started an ingest run) walks the same plan one finished run at a time with
``next_plans``: publish only once every measures run planned after the ingest run succeeded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import dagster as dg

from assets._shared.partitions import FISCAL_QUARTERS, contiguous_blocks
from assets._shared.settings import path_from_env, settle_seconds
from assets.landing.scan import is_ignored, is_unsettled
from schemas.extracts import spec_for

JOB_NAME = "scr_refresh"
INGEST, MEASURES, PUBLISH = "ingest", "measures", "publish"
STAGE_TAG = "scr/stage"
PLAN_ASSET = dg.AssetKey("changed_quarters")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
AFTER_TAG = "scr/after_run"  # on measures/publish runs: the ingest run they follow
PLANNED_TAG = "scr/measures_runs"  # on measures runs: how many the plan has after that ingest
LANDING_TAG = "scr/landing_fingerprint"  # on ingest runs: the landing dir they started from
REFRESH_TAG = "scr/refresh_id"
# the weekly rebuild-and-compare: its own job (pipelines/verify.py), never part of a refresh stage
VERIFY_CHECK = dg.AssetCheckKey(dg.AssetKey("published_outputs"), "reproducible_from_archive")


def stage_keys(asset_graph, stage: str) -> list[dg.AssetKey]:
    """Asset keys of a stage, derived from the graph (new assets fall into place by themselves)."""
    all_keys = set(asset_graph.materializable_asset_keys)
    partitioned = {k for k in all_keys if asset_graph.get(k).partitions_def is not None}
    ingest = set(asset_graph.get_ancestor_asset_keys(PLAN_ASSET)) | {PLAN_ASSET}
    # assets computed together with an ingest asset (the landing multi-asset) run with it
    ingest |= {s for k in list(ingest) for s in asset_graph.get(k).execution_set_asset_keys}
    by_stage = {
        INGEST: ingest,
        MEASURES: partitioned,
        PUBLISH: all_keys - ingest - partitioned,
    }
    return sorted(by_stage[stage], key=lambda k: k.to_user_string())


def stage_check_keys(asset_graph, stage: str) -> list[dg.AssetCheckKey]:
    """The checks a stage runs: those of its assets, except the weekly verify (which rebuilds
    everything and takes the refresh lock itself). Dagster would otherwise add every check of a
    selected asset to the run."""
    keys = set(stage_keys(asset_graph, stage))
    return sorted(
        (c for c in asset_graph.asset_check_keys if c.asset_key in keys and c != VERIFY_CHECK),
        key=lambda c: c.to_user_string(),
    )


@dataclass(frozen=True)
class RunPlan:
    stage: str
    partition_range: tuple[str, str] | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def run_tags(self) -> dict[str, str]:
        tags = {STAGE_TAG: self.stage, **self.tags}
        if self.partition_range:
            tags[RANGE_START], tags[RANGE_END] = self.partition_range
        return tags


def refresh_plan(changed: list[str], keys_in_order: list[str], publish_due: bool) -> list[RunPlan]:
    """After an ingest run: one measures run per block of changed quarters, then publish (when
    anything was measured, or ``publish_due``: new files or published outputs that differ)."""
    measures = [
        RunPlan(MEASURES, block) for block in contiguous_blocks(keys_in_order, set(changed))
    ]
    return measures + ([RunPlan(PUBLISH)] if measures or publish_due else [])


def _runs_after(instance: dg.DagsterInstance, ingest_run_id: str, stage: str) -> list:
    return instance.get_runs(
        filters=dg.RunsFilter(tags={AFTER_TAG: ingest_run_id, STAGE_TAG: stage})
    )


def next_plans(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[RunPlan]:
    """What the daemon launches after ``run`` succeeded (tags tie the runs of one refresh).

    After an ingest run: its measures runs, or publish at once when none is needed. After a
    measures run: publish only when every measures run planned after the same ingest run
    has succeeded in its latest run (a failed one stops the refresh: nothing is published,
    until a re-execution of it succeeds)."""
    stage = run.tags.get(STAGE_TAG)
    if run.tags.get("scr/trigger") == "cli":
        return []  # the CLI walks its own plan, in-process
    if stage == INGEST:
        changed = changed_quarters_of_run(instance, run.run_id) or []
        keys = instance.get_dynamic_partitions(FISCAL_QUARTERS.name)
        plans = refresh_plan(changed, keys, publish_due=True)
        n = sum(p.stage == MEASURES for p in plans)
        return [
            RunPlan(p.stage, p.partition_range, {AFTER_TAG: run.run_id, PLANNED_TAG: str(n)})
            for p in plans
            if p.stage == MEASURES or n == 0
        ]
    if stage == MEASURES and AFTER_TAG in run.tags:
        ingest_id = run.tags[AFTER_TAG]
        latest: dict[tuple, dg.DagsterRun] = {}
        for r in _runs_after(instance, ingest_id, MEASURES):  # newest first
            latest.setdefault((r.tags.get(RANGE_START), r.tags.get(RANGE_END)), r)
        planned = int(run.tags.get(PLANNED_TAG, "1"))
        if len(latest) == planned and all(
            r.status == dg.DagsterRunStatus.SUCCESS for r in latest.values()
        ):
            return [RunPlan(PUBLISH, tags={AFTER_TAG: ingest_id})]
    return []


def landing_fingerprint() -> tuple[str, list[str]]:
    """A cheap fingerprint (name, size, mtime) of the settled extract files in the landing dir.

    A file still being written (changed less than SCR_SETTLE_SECONDS ago), a hidden or partial
    file or a symlink is left out, so a later tick sees it once it has settled."""
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


def last_ingested_fingerprint(instance: dg.DagsterInstance) -> str | None:
    """The landing fingerprint the last successful ingest run (CLI or daemon) started from."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(tags={STAGE_TAG: INGEST}, statuses=[dg.DagsterRunStatus.SUCCESS]),
        limit=1,
    )
    return runs[0].tags.get(LANDING_TAG) if runs else None


def changed_quarters_of_run(instance: dg.DagsterInstance, run_id: str) -> list[str] | None:
    """The ``changed_quarters`` list recorded by an ingest run (None if it recorded none)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PLAN_ASSET, storage_ids=None), limit=5
    ).records
    for rec in records:
        if rec.run_id == run_id:
            return list(rec.asset_materialization.metadata["changed_quarters"].value)
    return None
