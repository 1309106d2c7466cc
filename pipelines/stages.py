"""The three stages of a refresh and how runs are planned from one to the next.

1. ``ingest``: every unpartitioned asset upstream of the partitioned measures (read files,
   validate, current records, which quarters changed).
2. ``measures``: the partitioned assets, one run per block of neighbouring changed quarters.
3. ``publish``: everything else (annual table, findings, reconciliation, report, ...).

The CLI (in-process), the schedule and the sensors all use these selections and this planner,
so every path runs the same Dagster job the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from pipelines.partitions import contiguous_blocks

JOB_NAME = "scr_refresh"
INGEST, MEASURES, PUBLISH = "ingest", "measures", "publish"
STAGE_TAG = "scr/stage"
PLAN_ASSET = dg.AssetKey("changed_quarters")
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def stage_keys(asset_graph, stage: str) -> list[dg.AssetKey]:
    """Asset keys of a stage, derived from the graph (new assets fall into place by themselves)."""
    all_keys = set(asset_graph.materializable_asset_keys)
    partitioned = {k for k in all_keys if asset_graph.get(k).partitions_def is not None}
    ingest = set(asset_graph.get_ancestor_asset_keys(PLAN_ASSET)) | {PLAN_ASSET}
    # assets computed together with an ingest asset (the landing multi-asset) run with it
    ingest |= {k for k in all_keys if asset_graph.get(k).group_name == INGEST}
    by_stage = {
        INGEST: ingest,
        MEASURES: partitioned,
        PUBLISH: all_keys - ingest - partitioned,
    }
    return sorted(by_stage[stage], key=lambda k: k.to_user_string())


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


def follow_up_plans(changed: list[str], keys_in_order: list[str]) -> list[RunPlan]:
    """After an ingest run: one measures run per block of changed quarters, then publish."""
    blocks = contiguous_blocks(keys_in_order, set(changed))
    return [RunPlan(MEASURES, block) for block in blocks] + [RunPlan(PUBLISH)]


def changed_quarters_of_run(instance: dg.DagsterInstance, run_id: str) -> list[str] | None:
    """The ``changed_quarters`` list recorded by an ingest run (None if it recorded none)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PLAN_ASSET, storage_ids=None), limit=5
    ).records
    for rec in records:
        if rec.run_id == run_id:
            return list(rec.asset_materialization.metadata["changed_quarters"].value)
    return None
