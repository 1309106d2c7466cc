"""One writer at a time: two warehouse-writing runs launched at once through the running daemon
are queued and executed one after the other (the run queue's limits in dagster.yaml), so they
never meet on DuckDB's single-writer lock, and both succeed."""

from __future__ import annotations

import pytest
from support.ops import launch_stage_run, shared_server, wait_for_runs, wait_until_idle

from assets._shared.tags import WRITER_TAG
from pipelines.orchestration.refresh_plan import MEASURES, RANGE_END, RANGE_START


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return shared_server(request.config, tmp_path_factory.mktemp("ops_server"))


def _one_quarter(key: str) -> dict[str, str]:
    return {RANGE_START: key, RANGE_END: key, "scr/trigger": "concurrency-test"}


def test_two_writer_runs_launched_at_once_never_overlap(server) -> None:
    server, _ = server
    first = launch_stage_run(server, MEASURES, _one_quarter("FY2024-Q1"))
    second = launch_stage_run(server, MEASURES, _one_quarter("FY2024-Q2"))
    mine = wait_for_runs(server, [first, second], timeout=200)
    assert {r["status"] for r in mine.values()} == {"SUCCESS"}, server.tail()
    assert all(r["tags"].items() >= WRITER_TAG.items() for r in mine.values())
    # both were waiting together: each was created before either had finished
    assert max(r["creationTime"] for r in mine.values()) < min(r["endTime"] for r in mine.values())
    a, b = sorted(mine.values(), key=lambda r: r["startTime"])
    assert b["startTime"] >= a["endTime"], (a, b)

    # and across everything this instance ran (sensor runs included), windows never overlap
    history = sorted(
        (r for r in wait_until_idle(server, timeout=120) if r["startTime"]),
        key=lambda r: r["startTime"],
    )
    assert len(history) >= 4  # the sensors' ingest and publish runs, and these two
    for earlier, later in zip(history, history[1:], strict=False):
        assert later["startTime"] >= earlier["endTime"], (earlier["runId"], later["runId"])


def test_cli_refresh_waits_behind_the_daemons_runs(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """`scr-pipeline refresh` runs in-process, outside the queue: it defers to the daemon's runs."""
    import dagster as dg
    from support.ops import project_env

    from pipelines.cli.main import EXIT_BUSY, main
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.instance import get_instance

    for name, value in project_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    with get_instance() as instance:
        running = instance.create_run_for_job(
            defs.resolve_job_def("scr_refresh"),
            status=dg.DagsterRunStatus.STARTED,
            tags={**WRITER_TAG, "scr/trigger": "landing_sensor"},
        )
    with pytest.raises(SystemExit) as exc:
        main(["refresh"])
    assert exc.value.code == EXIT_BUSY
    assert running.run_id in capsys.readouterr().err
    with get_instance() as instance:
        instance.report_run_failed(running)
    with pytest.raises(SystemExit) as exc:
        main(["refresh"])
    assert exc.value.code == 0
