"""The benchmark's framework floor is our graph's shape with empty bodies, walked the same way,
and the fixed/marginal split is the arithmetic the benchmark README states."""

from __future__ import annotations

import dagster as dg
import pytest
from support.project import refresh_in_process, use_env

from benchmarks.framework_floor import (
    hollow_definitions,
    quarter_keys_between,
    run_floor,
    write_tiny_extract,
)
from benchmarks.report import cost_split


def _shape(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    keys = set(graph.materializable_asset_keys)
    return {
        "assets": keys,
        "partitioned": {k for k in keys if graph.get(k).partitions_def is not None},
        "deps": {k: set(graph.get(k).parent_keys) for k in keys},
        "checks": set(graph.asset_check_keys),
        "blocking": {c for c in graph.asset_check_keys if graph.get_check_spec(c).blocking},
    }


def test_the_hollow_graph_has_our_graphs_shape():
    from pipelines.orchestration.definitions import defs

    ours, hollow = _shape(defs), _shape(hollow_definitions(defs))
    assert len(ours["assets"]) >= 20 and len(ours["partitioned"]) == 3
    assert hollow == ours


def test_the_framework_floor_makes_the_two_runs_of_a_refresh(tmp_path, monkeypatch):
    use_env(monkeypatch, tmp_path)
    run_ids = run_floor("FY2024-Q1", "FY2024-Q4")
    assert len(run_ids) == 2
    with dg.DagsterInstance.get() as inst:
        assert inst.get_runs_count() == 2
        quarterly = inst.fetch_materializations(dg.AssetKey("quarterly_measures"), limit=50)
        keys = {r.partition_key for r in quarterly.records}
    assert keys == {"FY2024-Q1", "FY2024-Q2", "FY2024-Q3", "FY2024-Q4"}


def test_the_framework_floor_with_events_logs_and_observes_as_ours_do(tmp_path, monkeypatch):
    """--with-events: one observation per quarter of each OBSERVED asset (as
    ``_partition_observations`` makes them), one log line per asset step; the graph is the
    same."""
    from pipelines.orchestration.definitions import defs

    assert _shape(hollow_definitions(defs, events=True)) == _shape(defs)
    use_env(monkeypatch, tmp_path)
    run_ids = run_floor("FY2024-Q1", "FY2024-Q4", events=True)
    with dg.DagsterInstance.get() as inst:
        observed = {
            key: sorted(
                r.partition_key for r in inst.fetch_observations(dg.AssetKey(key), limit=50).records
            )
            for key in ("quarterly_measures", "category_measures", "scr_determinations")
        }
        steps = [  # the asset steps (a standalone check's step logs nothing)
            s.step_key
            for r in run_ids
            for s in inst.get_run_step_stats(r)
            if s.step_key.startswith("hollow_")
        ]
        logs = [
            e
            for r in run_ids
            for e in inst.all_logs(r)
            if e.dagster_event is None and "nothing done (framework floor)" in e.user_message
        ]
    quarters = ["FY2024-Q1", "FY2024-Q2", "FY2024-Q3", "FY2024-Q4"]
    assert observed == {
        "quarterly_measures": quarters,
        "category_measures": quarters,
        "scr_determinations": [],
    }
    assert sorted(e.step_key for e in logs) == sorted(steps) and len(steps) >= 20


def test_the_tiny_extract_puts_one_counted_scr_in_every_quarter(tmp_path, monkeypatch):
    use_env(monkeypatch, tmp_path)
    write_tiny_extract(tmp_path / "landing", "FY2023-Q3", "FY2024-Q2")
    refresh_in_process(tmp_path)
    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT fiscal_year, fiscal_quarter, count(*) FROM scr_current WHERE counted "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    assert rows == [(2023, 3, 1), (2023, 4, 1), (2024, 1, 1), (2024, 2, 1)]


def test_quarter_keys_between_crosses_fiscal_years():
    assert quarter_keys_between("FY2023-Q4", "FY2024-Q2") == ["FY2023-Q4", "FY2024-Q1", "FY2024-Q2"]


def test_cost_split_by_hand():
    runs = {
        "pipeline_full": {"wall_s": 20.0},
        "pipeline_tiny": {"wall_s": 8.0},
        "framework_floor": {"wall_s": 6.4},
        "floor": {"wall_s": 9.0},
        "floor_tiny": {"wall_s": 1.0},
    }
    split = cost_split(runs)
    assert split["fixed"] == pytest.approx(1.25)  # 8 / 6.4
    assert split["pipeline_marginal"] == pytest.approx(12.0)
    assert split["floor_marginal"] == pytest.approx(8.0)
    assert split["marginal"] == pytest.approx(1.5)  # 12 / 8
    assert cost_split({k: v for k, v in runs.items() if k != "floor_tiny"}) is None
