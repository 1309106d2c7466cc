"""The UI and the daemon end to end: `dagster dev` on a loopback port, the landing sensor and
the run-status sensor refresh a freshly landed extract by themselves, the GraphQL API shows the
assets, checks, fiscal-quarter partitions, schedule and sensors, and a one-quarter run launched
through GraphQL re-materializes exactly that quarter and, published last, rewrites no Parquet."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.ops import (
    FIXTURE_QUARTERS,
    launch_stage_run,
    quarter_parquet,
    repository_selector,
    shared_server,
    stop_shared_server,
    wait_for_runs,
)

from assets._shared.partitions import FISCAL_QUARTERS
from pipelines.orchestration.refresh_plan import MEASURES, RANGE_END, RANGE_START

ASSETS_QUERY = """
{ assetNodes { assetKey { path } isPartitioned partitionKeys
               assetPartitionStatuses { ... on DefaultPartitionStatuses { materializedPartitions } }
               assetChecksOrError { ... on AssetChecks { checks { name } } } } }"""

INSTIGATORS_QUERY = """
query Instigators($selector: RepositorySelector!) {
  repositoryOrError(repositorySelector: $selector) {
    ... on Repository {
      schedules { name cronSchedule scheduleState { status } }
      sensors { name sensorState { status } }
    }
  }
}"""

RUN_MATERIALIZATIONS_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run { assetMaterializations { assetKey { path } partition } }
  }
}"""


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The server test_ops_concurrency.py may have started; stopped when this module ends."""
    yield shared_server(request.config, tmp_path_factory.mktemp("ops_server"))
    stop_shared_server()


def test_ui_and_daemon_end_to_end(server) -> None:
    """The shared server's sensors already refreshed the fixture extract (see shared_server)."""
    from pipelines.orchestration.definitions import defs

    server, env = server
    nodes = {"/".join(n["assetKey"]["path"]): n for n in server.graphql(ASSETS_QUERY)["assetNodes"]}
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.materializable_asset_keys} <= set(nodes)
    assert nodes["quarterly_measures"]["isPartitioned"]
    # every fiscal-quarter key of the definition (FY2011-Q1 .. the current FY + 1), the fixture's
    # quarters materialized and no other (docs/REFERENCE.md: a quarter with no SCR shows as
    # never materialized)
    assert nodes["quarterly_measures"]["partitionKeys"] == FISCAL_QUARTERS.get_partition_keys()
    statuses = nodes["quarterly_measures"]["assetPartitionStatuses"]
    assert sorted(statuses["materializedPartitions"]) == FIXTURE_QUARTERS
    ui_checks = {
        (key, c["name"])
        for key, n in nodes.items()
        for c in n["assetChecksOrError"].get("checks", [])
    }
    declared = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert declared and ui_checks == declared

    repo = server.graphql(INSTIGATORS_QUERY, {"selector": repository_selector(server)})
    repo = repo["repositoryOrError"]
    schedules = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    assert schedules["quarterly_refresh"] == "RUNNING"
    assert schedules["weekly_verify"] == "RUNNING"  # the reproducibility check (docs/RUNBOOK.md)
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    for name in (
        "landing_sensor",
        "plan_after_ingest",
        "alert_on_run_failure",
        "measure_freshness",
    ):
        assert sensors.get(name) == "RUNNING", sensors

    out = Path(env["SCR_OUTPUT_DIR"])
    before = {q: quarter_parquet(out, q).read_bytes() for q in FIXTURE_QUARTERS}
    run_id = launch_stage_run(
        server, MEASURES, {RANGE_START: "FY2024-Q1", RANGE_END: "FY2024-Q1", "scr/trigger": "test"}
    )
    [run] = wait_for_runs(server, [run_id], timeout=150).values()
    assert run["status"] == "SUCCESS", server.tail()
    found = server.graphql(RUN_MATERIALIZATIONS_QUERY, {"runId": run_id})["runOrError"]
    partitions = {
        ("/".join(m["assetKey"]["path"]), m["partition"]) for m in found["assetMaterializations"]
    }
    assert ("quarterly_measures", "FY2024-Q1") in partitions
    assert {p for _, p in partitions} - {None} == {"FY2024-Q1"}  # only the selected quarter
    # the measures stage writes warehouse tables only: published files change in publish
    after = {q: quarter_parquet(out, q).read_bytes() for q in FIXTURE_QUARTERS}
    assert after == before
