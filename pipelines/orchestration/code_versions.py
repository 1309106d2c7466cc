"""Which stages run code that changed since their assets were last materialized.

Why: Dagster records each materialization's code version (the asset's ``code_version``, from
assets/_shared/code_version.py); an asset whose definition now carries another one was last
built by other code. The one plan (refresh_plan.py) takes the stale stages as an input and runs
them; this module only answers the question, with public Dagster APIs
(``Definitions.resolve_all_asset_specs``, ``DagsterInstance.get_latest_materialization_code_versions``).
"""

from __future__ import annotations

import dagster as dg

from assets._shared.tags import STAGE_TAG  # on every asset (with_stage_tags)


def asset_specs(source) -> list[dg.AssetSpec]:
    """The asset specs of a code location (``Definitions``) or of a sensor's repository
    (``context.repository_def``), read through their public accessors."""
    if isinstance(source, dg.Definitions):
        return list(source.resolve_all_asset_specs())
    defs = {id(a): a for a in source.assets_defs_by_key.values()}.values()
    return [d.get_asset_spec(k) for d in defs for k in d.keys]


def stale_assets(source, instance: dg.DagsterInstance) -> set[dg.AssetKey]:
    """Assets whose code version differs from the one recorded with their latest
    materialization. Never-materialized assets are not stale by code (whether they are due is
    the plan's question of data: audit_samples, say, is drawn by a person, not a refresh)."""
    current = {
        spec.key: spec.code_version for spec in asset_specs(source) if spec.code_version is not None
    }
    recorded = instance.get_latest_materialization_code_versions(current)
    return {
        key
        for key, version in current.items()
        if recorded.get(key) is not None and recorded[key] != version
    }


def stale_stages(source, instance: dg.DagsterInstance) -> set[str]:
    """The stages (``ingest``, ``measures``, ``publish``: each asset's ``scr/stage`` tag) with
    at least one stale asset. An empty set: every materialized asset was built by this code."""
    keys = stale_assets(source, instance)
    return {
        spec.tags[STAGE_TAG]
        for spec in asset_specs(source)
        if spec.key in keys and STAGE_TAG in spec.tags
    }
