"""The code location loads and validates the way the UI and the daemon load it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipelines.definitions import defs
from pipelines.stages import INGEST, MEASURES, PUBLISH, stage_keys

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_with_job_schedule_sensors_and_checks():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("scr_refresh") is not None
    assert {s.name for s in defs.schedules} >= {"quarterly_refresh"}
    assert {s.name for s in defs.sensors} >= {"landing_sensor", "plan_after_ingest"}
    checks = {k.name for k in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "schema_validity",
        "tco_indicator_complete",
        "tco_indicator_conflicts",
        "rows_reconcile",
    } <= checks


def test_stages_partition_the_graph():
    graph = defs.resolve_asset_graph()
    stages = {s: set(stage_keys(graph, s)) for s in (INGEST, MEASURES, PUBLISH)}
    everything = set(graph.materializable_asset_keys)
    assert stages[INGEST] | stages[MEASURES] | stages[PUBLISH] == everything
    assert not (stages[INGEST] & stages[MEASURES]) and not (stages[MEASURES] & stages[PUBLISH])
    assert dg.AssetKey("quarterly_measures") in stages[MEASURES]
    assert dg.AssetKey("raw_resource_requests") in stages[INGEST]  # runs with its multi-asset


def test_dagster_cli_validates_workspace():
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("dagster")),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_explain_columns_are_the_measure_filters():
    """The explain command's --column choices (kept import-free) name every filtered column."""
    from assets.measures.determinations import MEASURE_FILTERS
    from pipelines.cli_explain import COLUMNS

    assert COLUMNS == tuple(MEASURE_FILTERS)
