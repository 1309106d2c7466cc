"""The refresh plan, one for every driver: at most two Dagster runs per refresh.

Read top to bottom:

1. **Stages, from the graph** (``stages_of``; shown on every asset as the tag ``scr/stage``):
   ``ingest`` is ``changed_quarters`` and its ancestors (read files, validate, current records,
   which quarters changed); ``measures`` the partitioned assets, updating warehouse tables only;
   ``publish`` everything else (annual table, reconciliation and its blocking check, ...) and
   last ``published_outputs``, the only step that writes under SCR_OUTPUT_DIR.
2. **Two runs**: the ingest run, then (``decide``) one publish run that also measures the range
   of fiscal quarters covering every changed one (run tags
   ``dagster/asset_partition_range_start``/``_end``; the measures come before publish in the
   run's step order). No quarter changed: the publish run alone, when new files, a stale stage
   or differing outputs make it due; else nothing (``nothing_new``, the same rule the CLI's
   stamp answers by). A failed run stops the refresh.
3. **Who walks it**: the CLI (``pipelines/orchestration/refresh_walk.py``, in-process) and the daemon (the
   ``plan_after_ingest`` sensor, after the schedule or the landing sensor started an ingest
   run) both call ``decide_after_ingest`` on what the ingest run recorded, and launch what it
   returns (the daemon through ``run_request``, the one RunRequest builder).
4. **When a refresh is due** (``landing_fingerprint``, ``last_ingested_fingerprint``): the
   settled landing files against what the last successful ingest run started from.

Only Dagster APIs in its API docs: the stages come from the AssetsDefinitions' ``keys``,
``asset_deps``, ``partitions_def`` and ``can_subset`` and are read back from the asset specs'
tags (``Definitions.resolve_all_asset_specs``, ``RepositoryDefinition.assets_defs_by_key``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets._shared.errors import PipelineError
from assets._shared.partitions import FISCAL_QUARTERS, covering_range
from assets._shared.tags import (
    AFTER_TAG,
    CLOSED_QUARTER_TAG,
    LANDING_TAG,
    RANGE_END,
    RANGE_START,
    REFRESH_TAG,
    STAGE_TAG,
    TRIGGER_TAG,
)
from pipelines.orchestration.code_versions import asset_specs, stale_stages
from pipelines.orchestration.refresh_stamp import RefreshFacts, landing_fingerprint, nothing_new

__all__ = [  # the tag names are re-exported: the drivers import them from here
    "AFTER_TAG", "CLOSED_QUARTER_TAG", "LANDING_TAG", "RANGE_END", "RANGE_START", "REFRESH_TAG", "STAGE_TAG",
    "TRIGGER_TAG", "RefreshFacts", "landing_fingerprint", "nothing_new",
]  # fmt: skip

JOB_NAME = "scr_refresh"
INGEST, MEASURES, PUBLISH = "ingest", "measures", "publish"
PLAN_ASSET = dg.AssetKey("changed_quarters")
# the weekly rebuild-and-compare: its own job (pipelines/orchestration/verify.py), never part of a refresh stage
VERIFY_CHECK = dg.AssetCheckKey(dg.AssetKey("published_outputs"), "reproducible_from_archive")


def stages_of(assets: Iterable) -> dict[dg.AssetKey, str]:
    """The stage of every asset key, derived from the graph (new assets fall into place)."""
    defs = [a for a in assets if isinstance(a, dg.AssetsDefinition)]
    deps = {k: set(d.asset_deps.get(k, ())) for d in defs for k in d.keys}
    ingest, todo = set(), [PLAN_ASSET]
    while todo:  # changed_quarters and its ancestors
        key = todo.pop()
        if key in deps and key not in ingest:
            ingest.add(key)
            todo.extend(deps[key])
    # assets computed together with an ingest asset (the landing multi-asset) run with it
    ingest |= {k for d in defs if not d.can_subset and ingest & set(d.keys) for k in d.keys}
    partitioned = {k for d in defs if d.partitions_def is not None for k in d.keys}
    return {k: INGEST if k in ingest else MEASURES if k in partitioned else PUBLISH for k in deps}


def with_stage_tags(assets: list) -> list:
    """The assets, each tagged ``scr/stage`` with the stage the graph puts it in (the UI shows
    and filters by it; the drivers select by it); a stage is never a hand-kept list."""
    stage_of = stages_of(assets)
    return dg.map_asset_specs(
        lambda spec: (
            spec.merge_attributes(tags={STAGE_TAG: stage_of[spec.key]})
            if spec.key in stage_of
            else spec
        ),
        assets,
    )


def _assets_defs(source) -> list[dg.AssetsDefinition]:
    """The AssetsDefinitions of a code location (Definitions) or of a sensor's repository."""
    if isinstance(source, dg.Definitions):
        return [a for a in (*(source.assets or ()), *(source.asset_checks or ()))
                if isinstance(a, dg.AssetsDefinition)]  # fmt: skip
    return list({id(a): a for a in source.assets_defs_by_key.values()}.values()) + list(
        {id(c): c for c in source.asset_checks_defs_by_key.values()}.values()
    )


def stage_keys(source, stage: str) -> list[dg.AssetKey]:
    """Asset keys of a stage, read from the ``scr/stage`` tag of the specs of ``source``
    (the Definitions, or a sensor's ``context.repository_def``)."""
    keys = {s.key for s in asset_specs(source) if s.tags.get(STAGE_TAG) == stage}
    return sorted(keys, key=lambda k: k.to_user_string())


def stage_check_keys(source, stage: str) -> list[dg.AssetCheckKey]:
    """The checks a stage runs: those of its assets, except the weekly verify (which rebuilds
    everything and takes the refresh lock itself; the refresh job leaves it out too)."""
    keys = set(stage_keys(source, stage))
    checks = {s.key for d in _assets_defs(source) for s in d.check_specs}
    return sorted(
        (c for c in checks if c.asset_key in keys and c != VERIFY_CHECK),
        key=lambda c: c.to_user_string(),
    )


def stage_job_name(stages: tuple[str, ...]) -> str:
    """The job that runs exactly these stages (pipelines/orchestration/jobs.py)."""
    return "_".join((JOB_NAME, *stages))


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

    def job_name(self) -> str:
        return stage_job_name(self.stages())

    def asset_keys(self, source) -> list[dg.AssetKey]:
        return [k for s in self.stages() for k in stage_keys(source, s)]

    def check_keys(self, source) -> list[dg.AssetCheckKey]:
        return [k for s in self.stages() for k in stage_check_keys(source, s)]


def run_request(
    plan: RunPlan | None, source, run_key: str, tags: dict[str, str] | None = None
) -> dg.RunRequest:
    """The one RunRequest builder (landing sensor, schedules, plan_after_ingest sensor): exactly
    the plan's assets, their checks and its tags; no plan: the whole job (the weekly verify)."""
    if plan is None:
        return dg.RunRequest(run_key=run_key, tags=tags or {})
    return dg.RunRequest(
        run_key=run_key,
        asset_selection=plan.asset_keys(source),
        asset_check_keys=plan.check_keys(source),
        tags=plan.run_tags() | (tags or {}),
    )


# --- the decision after an ingest run ---------------------------------------------------------


def decide(facts: RefreshFacts) -> RunPlan | None:
    """The one run after an ingest: measure the quarters from the first to the last changed one
    (an unchanged quarter in between is measured again to the same rows; every quarter when the
    measures' code is stale) and publish; publish alone when no quarter changed but new files, a
    stale stage or differing outputs make it due; None when ``nothing_new``."""
    if nothing_new(facts):
        return None
    wanted = set(facts.changed_quarters)
    if MEASURES in facts.stale_stages:
        wanted |= set(FISCAL_QUARTERS.get_partition_keys())
    return RunPlan(PUBLISH, covering_range(wanted))


@dataclass(frozen=True)
class Decision:
    """The plan after an ingest run, with the facts it was decided from (the CLI reports them)."""

    facts: RefreshFacts
    plan: RunPlan | None


def decide_after_ingest(
    instance: dg.DagsterInstance,
    ingest_run_id: str,
    source,
    differences: Callable[[], list[str]] | None = None,
) -> Decision:
    """What the refresh does after ``ingest_run_id`` succeeded, from what it recorded (changed
    quarters, new or changed files, landing events), the stages whose code changed since their
    assets were materialized (``code_versions.stale_stages`` over ``source``: the Definitions or
    a sensor's repository) and, only when those say nothing, the published outputs compared with
    the warehouse (read-only)."""
    recorded = ingest_facts(instance, ingest_run_id)
    facts = RefreshFacts(
        changed_quarters=recorded.changed_quarters,
        new_files=recorded.new_files,
        stale_stages=frozenset(stale_stages(source, instance)),
    )
    if nothing_new(facts):
        check = current_differences if differences is None else differences
        facts = RefreshFacts(**{**facts.__dict__, "differences": tuple(check())})
    return Decision(facts, decide(facts))


def ingest_facts(instance: dg.DagsterInstance, run_id: str) -> RefreshFacts:
    """The changed quarters and the new files + landing events an ingest run recorded (its
    materializations of ``changed_quarters`` and of the raw tables)."""
    from schemas.extracts import EXTRACTS

    changed = metadata_of_run(instance, PLAN_ASSET, run_id).get("changed_quarters", [])
    new = 0
    for spec in EXTRACTS:
        meta = metadata_of_run(instance, dg.AssetKey(spec.raw_table), run_id)
        new += meta.get("new_files", 0) + meta.get("lifecycle_events", 0)
    return RefreshFacts(changed_quarters=tuple(changed or ()), new_files=new)


def metadata_of_run(instance: dg.DagsterInstance, key: dg.AssetKey, run_id: str) -> dict:
    """The metadata values of the newest materialization of ``key`` by ``run_id`` ({} if none)."""
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=5)
    for rec in records.records:
        if rec.run_id == run_id:
            meta = rec.asset_materialization.metadata
            return {k: getattr(v, "value", v) for k, v in meta.items()}
    return {}


def changed_quarters_of_run(instance: dg.DagsterInstance, run_id: str) -> list[str] | None:
    """The ``changed_quarters`` list recorded by an ingest run (None if it recorded none)."""
    meta = metadata_of_run(instance, PLAN_ASSET, run_id)
    return list(meta["changed_quarters"]) if "changed_quarters" in meta else None


def current_differences(warehouse=None) -> list[str]:
    """Read-only: what the published outputs lack compared with what the warehouse implies (a
    warehouse another run holds counts as a difference: the publish run, queued, repairs).
    ``warehouse``: the WarehouseResource to read through (the CLI's, held open)."""
    from assets._shared.resources import WarehouseResource
    from assets._shared.settings import path_from_env
    from assets.publish.outputs import published_differences

    if warehouse is None:
        warehouse = WarehouseResource(path=str(path_from_env("SCR_WAREHOUSE")))
    if not Path(warehouse.database).exists():
        return ["the warehouse does not exist yet"]
    try:
        with warehouse.connect(read_only=True) as con:
            return published_differences(path_from_env("SCR_OUTPUT_DIR"), con)
    except PipelineError as err:
        return [f"could not compare the published outputs: {err}"]


def next_plans(instance: dg.DagsterInstance, run: dg.DagsterRun, source) -> list[RunPlan]:
    """What the daemon launches after ``run`` succeeded: after a daemon ingest run, the plan
    the CLI would walk (the publish run, tagged with the ingest run it follows; nothing when
    nothing is new); nothing after any other run, nor after a CLI run (the CLI walks its own
    plan, in-process)."""
    if run.tags.get(TRIGGER_TAG) == "cli" or run.tags.get(STAGE_TAG) != INGEST:
        return []
    plan = decide_after_ingest(instance, run.run_id, source).plan
    if plan is None:
        return []
    return [RunPlan(plan.stage, plan.partition_range, {AFTER_TAG: run.run_id})]


def last_ingested_fingerprint(instance: dg.DagsterInstance) -> str | None:
    """The landing fingerprint the last successful ingest run (CLI or daemon) started from."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(tags={STAGE_TAG: INGEST}, statuses=[dg.DagsterRunStatus.SUCCESS]),
        limit=1,
    )
    return runs[0].tags.get(LANDING_TAG) if runs else None
