"""What the Dagster UI shows: descriptions, owners, check descriptions and run metadata.

Pins down: every asset of ``pipelines.orchestration.definitions.defs`` has a description and owners, every
check a description; after a real refresh every asset that builds a warehouse table reports
``dagster/row_count`` (equal to the table's row count), ``dagster/column_schema`` (equal to its
columns) and a markdown preview; the measure assets log per-quarter numbers (dd_total, dd_tco,
pct) as observations the UI plots across partitions.
"""

import dagster as dg
import duckdb
import pytest
from support.report import refreshed_once

from pipelines.orchestration.definitions import defs


def materializable_assets() -> list[dg.AssetsDefinition]:
    graph = defs.resolve_asset_graph()
    return [graph.get(k).assets_def for k in sorted(graph.materializable_asset_keys)]


def test_every_asset_has_a_description_and_owners():
    graph = defs.resolve_asset_graph()
    missing = [
        k.to_user_string()
        for k in graph.materializable_asset_keys
        if not (graph.get(k).description or "").strip() or not graph.get(k).owners
    ]
    assert missing == []
    assert len(graph.materializable_asset_keys) >= 12


def test_every_check_has_a_description():
    specs = [s for a in materializable_assets() for s in a.check_specs]
    specs += [s for c in defs.asset_checks or [] for s in c.check_specs]
    assert specs, "no checks found"
    assert [s.key.to_user_string() for s in specs if not (s.description or "").strip()] == []


@pytest.fixture(scope="module")
def instance_after_refresh():
    return refreshed_once()


def latest_materialization(instance: dg.DagsterInstance, key: dg.AssetKey):
    records = instance.fetch_materializations(key, limit=1).records
    assert records, f"{key.to_user_string()} was not materialized"
    return records[0].asset_materialization


def test_table_assets_report_row_count_schema_and_preview(instance_after_refresh):
    instance, paths = instance_after_refresh
    con = duckdb.connect(str(paths["warehouse"]), read_only=True)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    table_assets = [
        k for k in defs.resolve_asset_graph().materializable_asset_keys if k.path[-1] in tables
    ]
    assert {k.path[-1] for k in table_assets} >= {
        "raw_scr_versions", "scr_findings", "scr_current", "quarterly_measures",
        "category_measures", "annual_measures", "ingest_reconciliation",
    }  # fmt: skip
    for key in table_assets:
        name = key.path[-1]
        meta = latest_materialization(instance, key).metadata
        count = con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
        assert meta["dagster/row_count"].value == count, name
        columns = [c.name for c in meta["dagster/column_schema"].value.columns]
        expected = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
        assert columns == expected, name
        assert isinstance(meta["preview"], dg.MarkdownMetadataValue), name
        assert meta["preview"].value.startswith("|"), name  # a Markdown table of the first rows


def observations(instance: dg.DagsterInstance, asset: str) -> dict[str, dict]:
    records = instance.fetch_observations(dg.AssetKey(asset), limit=200).records
    return {
        r.event_log_entry.dagster_event.partition: {
            k: v.value for k, v in r.asset_observation.metadata.items()
        }
        for r in reversed(records)  # oldest first: the latest per partition wins
    }


def test_measure_assets_log_numbers_per_quarter(instance_after_refresh):
    instance, _ = instance_after_refresh
    quarterly = observations(instance, "quarterly_measures")
    assert sorted(quarterly) == [
        "FY2020-Q1",
        "FY2020-Q2",
        "FY2020-Q3",
        "FY2020-Q4",
        "FY2021-Q1",
        "FY2021-Q3",
    ]
    q = quarterly["FY2021-Q3"]
    assert (q["dd_total"], q["dd_tco"], q["dd_non_tco"], q["dd_undetermined"]) == (2, 0, 1, 1)
    assert "pct_tco" not in q  # FY2021 has no TCO initial investigation: no percent
    assert quarterly["FY2020-Q4"]["pct_all"] == pytest.approx(2 / 3)
    assert quarterly["FY2020-Q4"]["pct_tco"] == pytest.approx(1 / 2)
    assert all(isinstance(v, int | float) for obs in quarterly.values() for v in obs.values())
    category = observations(instance, "category_measures")
    assert category["FY2021-Q3"]["no_border_crossing"] == 1
    assert category["FY2020-Q4"]["no_association"] == 1
    run_meta = latest_materialization(instance, dg.AssetKey("quarterly_measures")).metadata
    assert "dd_total" not in run_meta  # range totals must not overwrite the per-quarter plot
    assert run_meta["run_dd_total"].value == 5


def test_report_materialization_points_at_the_file(instance_after_refresh):
    instance, paths = instance_after_refresh
    meta = latest_materialization(instance, dg.AssetKey("published_outputs")).metadata
    assert meta["path"].value == str(paths["output"] / "report" / "index.html")
    assert meta["charts"].value == 3
    assert meta["size_bytes"].value == (paths["output"] / "report" / "index.html").stat().st_size
