"""Alerts: a real failed run is recorded (run id, step, assets, message) and POSTed to a local
webhook; the freshness rule flags a closed quarter with no published measure 45 days after it
ended, checked against the Parquet a real refresh published."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import time_machine
from support.ops import free_port, project_env

from assets._shared.resources import FilesResource
from pipelines.orchestration import alerts
from pipelines.orchestration.refresh_plan import INGEST, JOB_NAME, RunPlan, stage_keys


@contextlib.contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict]]]:
    """An http.server on 127.0.0.1 in a thread that keeps every JSON body it receives."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"content_type": self.headers["Content-Type"], **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = project_env(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    return values


def _read_alerts(env: dict[str, str]) -> list[dict]:
    path = Path(env["DAGSTER_HOME"]) / "alerts" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_failed_run_is_recorded_and_posted(env, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.orchestration.definitions import defs

    bad = Path(env["SCR_LANDING_DIR"]) / "scr_extract_2024-02-01.parquet"
    bad.write_text("not parquet")
    with dg.DagsterInstance.ephemeral() as instance, webhook_server() as (url, received):
        monkeypatch.setenv(alerts.WEBHOOK_ENV, url)
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(
            instance=instance,
            asset_selection=stage_keys(defs, INGEST),
            tags=RunPlan(INGEST).run_tags(),
            raise_on_error=False,
        )
        assert not result.success
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            repository_def=defs.get_repository_def(),
        ).for_run_failure()
        alerts.alert_on_run_failure(context)
    [record] = _read_alerts(env)
    assert record["kind"] == "run_failure"
    assert record["run_id"] == result.run_id
    assert (record["job"], record["stage"]) == ("scr_refresh", "ingest")
    assert [s["step"] for s in record["steps"]] == ["landing_extracts"]
    assert record["assets"] == ["raw_case_reviews", "raw_resource_requests", "raw_scr_versions"]
    assert record["message"].startswith("scr_extract_2024-02-01.parquet: cannot be read as Parquet")
    assert record["webhook"] == "delivered (200)"
    [posted] = received
    assert posted.pop("content_type") == "application/json"
    assert posted == {k: v for k, v in record.items() if k != "webhook"}


def test_unreachable_webhook_still_records_the_alert(env) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"
    record = alerts.deliver({"kind": "run_failure", "message": "boom"}, webhook_url=dead)
    assert record["webhook"].startswith("failed: ")
    assert _read_alerts(env) == [record]


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (dt.date(2025, 2, 14), (2024, 4)),  # FY2025-Q1 ended 2024-12-31: due through 14 Feb
        (dt.date(2025, 2, 15), (2025, 1)),
        (dt.date(2024, 11, 14), (2024, 3)),  # FY2024-Q4 ended 30 Sep: due through 14 Nov
        (dt.date(2024, 11, 15), (2024, 4)),
    ],
)
def test_due_quarter_boundaries(today: dt.date, due: tuple[int, int]) -> None:
    assert alerts.due_quarter(today) == due


def test_late_measure_against_a_real_refresh(env) -> None:
    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    with dg.DagsterInstance.ephemeral() as instance:
        run_refresh(defs, instance, progress=lambda s: None)
    out = Path(env["SCR_OUTPUT_DIR"])
    # fixture quarters FY2024-Q1 (due 14 Feb 2024) and FY2024-Q2 (due 15 May 2024) are published
    assert alerts.late_measure_alert(dt.date(2024, 5, 15), out) is None
    assert alerts.late_measure_alert(dt.date(2024, 8, 14), out) is None
    late = alerts.late_measure_alert(dt.date(2024, 8, 15), out)  # FY2024-Q3 ended 30 Jun
    assert late is not None
    assert (late["quarter"], late["due"], late["days_late"]) == ("FY2024-Q3", "2024-08-14", 1)


@time_machine.travel(dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC), tick=False)
def test_freshness_sensor_alerts_once_per_late_quarter(env) -> None:
    """On 2 Mar 2026 FY2026 Q1 (Oct-Dec 2025) is 61 days past its end: due, and unpublished."""
    files = FilesResource(landing_dir=env["SCR_LANDING_DIR"], output_dir=env["SCR_OUTPUT_DIR"])
    expected = "FY2026-Q1"
    first = dg.build_sensor_context(resources={"files": files})
    skip = alerts.measure_freshness(first)
    assert skip.skip_message.startswith("LATE, alert sent")
    assert first.cursor == expected
    second = dg.build_sensor_context(cursor=first.cursor, resources={"files": files})
    assert "alert already sent" in alerts.measure_freshness(second).skip_message
    [record] = _read_alerts(env)
    assert (record["kind"], record["quarter"]) == ("late_measure", expected)
