"""The instance configuration: SQLite under DAGSTER_HOME by default; with DAGSTER_PG_* set, a
refresh stores its runs, materializations and partitions in a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import dagster as dg
import pytest
import yaml
from support.ops import FIXTURE_QUARTERS, postgres_server, project_env

from assets._shared.errors import PipelineError
from pipelines.cli.main import main
from pipelines.orchestration import instance as inst

PG_ENV = {"DAGSTER_PG_HOST": "db.example", "DAGSTER_PG_USER": "dagster", "DAGSTER_PG_DB": "scr"}


def test_default_instance_is_the_template_and_valid(tmp_path: Path) -> None:
    path = inst.write_instance_yaml(tmp_path, env={})
    assert path.read_text() == inst.TEMPLATE.read_text()
    config = yaml.safe_load(path.read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(tmp_path))
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:  # Dagster accepts it
            assert instance.get_runs_count() == 0
            assert type(instance.compute_log_manager).__name__ == "NoOpComputeLogManager"
    # Dagster's own SQLite storage under DAGSTER_HOME (no storage class of ours)
    assert config["storage"] == {"sqlite": {"base_dir": {"env": "DAGSTER_HOME"}}}
    assert "custom" not in path.read_text()
    limits = config["run_queue"]["tag_concurrency_limits"]
    assert {"key": "scr/warehouse-writer", "value": "true", "limit": 1} in limits


def test_postgres_storage_reads_variables_and_never_writes_the_password(tmp_path: Path) -> None:
    env = PG_ENV | {"DAGSTER_PG_PORT": "6543", "DAGSTER_PG_PASSWORD": "s3cret"}
    text = inst.write_instance_yaml(tmp_path, env=env).read_text()
    assert "s3cret" not in text
    db = yaml.safe_load(text)["storage"]["postgres"]["postgres_db"]
    assert db == {
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "username": {"env": "DAGSTER_PG_USER"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "scheme": "postgresql+psycopg2",
    }
    assert yaml.safe_load(text)["run_queue"]["tag_concurrency_limits"][0]["limit"] == 1


def test_incomplete_postgres_settings_name_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="DAGSTER_PG_USER, DAGSTER_PG_DB not set"):
        inst.write_instance_yaml(tmp_path, env={"DAGSTER_PG_HOST": "db.example"})


def test_a_hand_written_instance_file_is_left_alone(tmp_path: Path) -> None:
    own = "telemetry:\n  enabled: true\n"
    (tmp_path / "dagster.yaml").write_text(own)
    inst.write_instance_yaml(tmp_path, env=PG_ENV)
    assert (tmp_path / "dagster.yaml").read_text() == own


def test_refresh_stores_runs_and_materializations_in_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with postgres_server(tmp_path) as pg:
        env = project_env(tmp_path) | pg.env()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit) as exc:
            main(["refresh"])
        assert exc.value.code == 0
        rows = _query_postgres(pg)
    home = Path(env["DAGSTER_HOME"])
    assert not (home / "history" / "runs.db").exists(), "run history went to SQLite"
    assert rows["runs"] == [
        # the CLI runs each shape of run as its own job (pipelines/orchestration/jobs.py)
        ("scr_refresh_ingest", "SUCCESS", "ingest"),
        ("scr_refresh_measures_publish", "SUCCESS", "publish"),  # measures, then publishes
    ]
    assert sorted(rows["quarterly_materializations"]) == FIXTURE_QUARTERS
    assert rows["partitions"] == []  # static fiscal-quarter keys: none registered
    assert {"quarterly_measures", "changed_quarters", "published_outputs"} <= rows["asset_keys"]


def _query_postgres(pg) -> dict:
    import psycopg2

    con = psycopg2.connect(host="127.0.0.1", port=pg.port, user=pg.user, dbname=pg.database)
    with contextlib.closing(con), con.cursor() as cur:
        cur.execute(
            "SELECT r.pipeline_name, r.status, t.value FROM runs r "
            "JOIN run_tags t ON t.run_id = r.run_id AND t.key = 'scr/stage' ORDER BY r.id"
        )
        runs = cur.fetchall()
        cur.execute(
            "SELECT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
            "AND asset_key = %s",
            (json.dumps(["quarterly_measures"]),),
        )
        quarterly = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = 'fiscal_quarter' "
            "ORDER BY id"
        )
        partitions = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT asset_key FROM asset_keys")
        keys = {json.loads(r[0])[0] for r in cur.fetchall()}
    return {"runs": runs, "quarterly_materializations": quarterly, "partitions": partitions,
            "asset_keys": keys}  # fmt: skip
