"""The refresh plan, one for every driver: at most two Dagster runs per refresh.

Read top to bottom:

1. **Stages, from the graph** (``stage_keys``; shown on every asset as the tag ``scr/stage``):
   ``ingest`` is ``changed_quarters`` and its ancestors (read files, validate, current records,
   which quarters changed); ``measures`` the partitioned assets, updating warehouse tables only;
   ``publish`` everything else (annual table, reconciliation and its blocking check, ...) and
   last ``published_outputs``, the only step that writes under SCR_OUTPUT_DIR.
2. **Two runs** (``refresh_plan``): the ingest run, then one publish run that also measures the
   range of fiscal quarters covering every changed one (run tags
   ``dagster/asset_partition_range_start``/``_end``; the measures come before publish in the
   run's step order). No quarter changed: the publish run alone, when new files or differing
   outputs make it due; else nothing. A failed run stops the refresh.
3. **Who walks it**: the CLI (``pipelines/cli/refresh.py``, in-process) and the daemon
   (``plan_after_ingest`` sensor, after the schedule or the landing sensor started an ingest
   run) both call ``refresh_plan`` on what the ingest run recorded (``next_plans``).
4. **When a refresh is due** (``landing_fingerprint``, ``last_ingested_fingerprint``): the
   settled landing files against what the last successful ingest run started from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import dagster as dg

from assets._shared.partitions import covering_range
from assets._shared.settings import path_from_env, settle_seconds
from assets.landing.scan import is_ignored, is_unsettled
from schemas.extracts import spec_for

JOB_NAME = "scr_refresh"
INGEST, MEASURES, PUBLISH = "ingest", "measures", "publish"
STAGE_TAG = "scr/stage"
PLAN_ASSET = dg.AssetKey("changed_quarters")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
AFTER_TAG = "scr/after_run"  # on publish runs: the ingest run they follow
LANDING_TAG = "scr/landing_fingerprint"  # on ingest runs: the landing dir they started from
REFRESH_TAG = "scr/refresh_id"
# the weekly rebuild-and-compare: its own job (pipelines/orchestration/verify.py), never part of a refresh stage
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


def with_stage_tags(assets: list, resources: dict) -> list:
    """The assets, each tagged ``scr/stage`` with the stage the graph puts it in (the UI shows
    and filters by it); a stage is never read from a group or a hand-kept list."""
    graph = dg.Definitions(assets=assets, resources=resources).resolve_asset_graph()
    stage_of = {k: s for s in (INGEST, MEASURES, PUBLISH) for k in stage_keys(graph, s)}
    return dg.map_asset_specs(
        lambda spec: (
            spec.merge_attributes(tags={STAGE_TAG: stage_of[spec.key]})
            if spec.key in stage_of
            else spec
        ),
        assets,
    )


# the asset stages a run of each kind selects: a publish run with a partition range measures too
STAGES_OF_RUN = {INGEST: (INGEST,), MEASURES: (MEASURES,), PUBLISH: (PUBLISH,)}


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

    def stages(self) -> tuple[str, ...]:
        """The asset stages this run materializes: a publish run over a partition range
        measures those quarters first."""
        if self.stage == PUBLISH and self.partition_range:
            return (MEASURES, PUBLISH)
        return STAGES_OF_RUN[self.stage]

    def asset_keys(self, asset_graph) -> list[dg.AssetKey]:
        return [k for s in self.stages() for k in stage_keys(asset_graph, s)]

    def check_keys(self, asset_graph) -> list[dg.AssetCheckKey]:
        return [k for s in self.stages() for k in stage_check_keys(asset_graph, s)]


def refresh_plan(changed: list[str], publish_due: bool) -> RunPlan | None:
    """After an ingest run: the one run that measures the quarters from the first to the last
    changed one (an unchanged quarter in between is measured again to the same rows) and
    publishes; publish alone when no quarter changed but ``publish_due`` (new files or published
    outputs that differ); else None."""
    span = covering_range(changed)
    return RunPlan(PUBLISH, span) if span or publish_due else None


def next_plans(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[RunPlan]:
    """What the daemon launches after ``run`` succeeded: after a daemon ingest run, the same plan
    the CLI walks (the publish run, tagged with the ingest run it follows); nothing after
    any other run, nor after a CLI run (the CLI walks its own plan, in-process)."""
    if run.tags.get("scr/trigger") == "cli" or run.tags.get(STAGE_TAG) != INGEST:
        return []
    plan = refresh_plan(changed_quarters_of_run(instance, run.run_id) or [], publish_due=True)
    return [RunPlan(plan.stage, plan.partition_range, {AFTER_TAG: run.run_id})]


def landing_fingerprint() -> tuple[str, list[str]]:
    """A cheap fingerprint (name, size, mtime in ns, as ingest compares) of the settled extract
    files in the landing dir.

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
                entries.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
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
