"""One plan, decided once: the CLI and the daemon launch the same run after the same ingest.

Each scenario starts from one saved state (warehouse, landing, archive, outputs); the CLI
refreshes it, the state is put back, and the daemon walks it (the quarterly schedule's ingest
run, then the ``plan_after_ingest`` sensor). Both must launch the same thing: the same stage,
partition range, assets and checks, or nothing at all. The stamp's "nothing new" and the
plan's are one rule (``nothing_new``), read on the same facts.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest
from support.extracts import FILE_A, GANGS, scr, write_csv

from pipelines.orchestration.definitions import defs
from pipelines.orchestration.refresh_plan import (
    INGEST,
    MEASURES,
    PUBLISH,
    RANGE_END,
    RANGE_START,
    STAGE_TAG,
    RefreshFacts,
    RunPlan,
    decide,
    nothing_new,
)
from pipelines.orchestration.refresh_stamp import facts_since_last_refresh
from pipelines.orchestration.schedules import quarterly_refresh
from pipelines.orchestration.sensors import plan_after_ingest

REPO = defs.get_repository_def()
STATE = ("warehouse.duckdb", "landing", "archive", "output", "output.releases")


def _save(root: Path, to: Path) -> None:
    to.mkdir()
    for name in STATE:
        src = root / name
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, to / name, symlinks=True)
        elif src.exists() or src.is_symlink():
            shutil.copy2(src, to / name, follow_symlinks=False)


def _restore(root: Path, saved: Path) -> None:
    for name in STATE:
        here = root / name
        if here.is_symlink() or here.is_file():
            here.unlink()
        elif here.is_dir():
            shutil.rmtree(here)
    for name in STATE:
        src = saved / name
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, root / name, symlinks=True)
        elif src.exists() or src.is_symlink():
            shutil.copy2(src, root / name, follow_symlinks=False)
    for stale in root.glob("warehouse.duckdb*"):
        if stale.name != "warehouse.duckdb" and not (saved / stale.name).exists():
            stale.unlink()


def _launch(project, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
    """What the daemon does with a request: a run of exactly its assets, checks and tags."""
    job = defs.resolve_job_def("scr_refresh").get_subset(
        asset_selection=set(request.asset_selection),
        asset_check_selection=set(request.asset_check_keys),
    )
    result = job.execute_in_process(instance=project.instance, tags=request.tags)
    assert result.success
    return result


def _what_cli_launched(project) -> tuple | None:
    """The run the CLI launched after its ingest run (stage, range, assets, checks), or None."""
    result = project.refresh()
    if len(result.run_ids) == 1:
        return None
    run = project.instance.get_run_by_id(result.run_ids[1])
    job = defs.get_job_def(run.job_name)
    checks = set(job.asset_layer.asset_graph.asset_check_keys)
    span = (run.tags[RANGE_START], run.tags[RANGE_END]) if RANGE_START in run.tags else None
    return run.tags[STAGE_TAG], span, set(job.asset_layer.selected_asset_keys), checks


def _what_daemon_launched(project) -> tuple | None:
    """The quarterly schedule's ingest run, then what plan_after_ingest requests after it."""
    ctx = dg.build_schedule_context(
        instance=project.instance,
        scheduled_execution_time=dt.datetime(2024, 4, 15, 6, 0),
        repository_def=REPO,
    )
    ingest = _launch(project, quarterly_refresh(ctx))
    run = project.instance.get_run_by_id(ingest.run_id)
    event = next(e for e in ingest.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    sensor_ctx = dg.build_run_status_sensor_context(
        sensor_name="plan_after_ingest",
        dagster_event=event,
        dagster_instance=project.instance,
        dagster_run=run,
        repository_def=REPO,
    )
    requests = [r for r in plan_after_ingest(sensor_ctx) if isinstance(r, dg.RunRequest)]
    if not requests:
        return None
    (req,) = requests
    _launch(project, req)  # the daemon's refresh completes, as the CLI's did
    span = (req.tags[RANGE_START], req.tags[RANGE_END]) if RANGE_START in req.tags else None
    return req.tags[STAGE_TAG], span, set(req.asset_selection), set(req.asset_check_keys)


def _correction(project) -> None:
    """A4 (FY2024-Q2) corrected late: another field office."""
    a4 = next(r for r in FILE_A if r["scr_id"] == "A4")
    fix = dict(a4, field_office="Elsewhere", last_modified_at="2024-03-01T09:00:00")
    write_csv(project.landing / "scr_extract_2024-03-02.csv", [fix])


def _tamper(project) -> None:
    (project.output / "annual_measures.parquet").write_bytes(b"not parquet")


def test_the_cli_and_the_daemon_launch_the_same_run_after_the_same_ingest(project, tmp_path):
    """First refresh, nothing new, a one-quarter correction, a tampered output: the same plan
    from both drivers (and the daemon publishes nothing when nothing is new)."""
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    scenarios = [
        ("first refresh", None, (PUBLISH, ("FY2023-Q4", "FY2024-Q2"))),
        ("nothing new", None, None),
        ("one-quarter correction", _correction, (PUBLISH, ("FY2024-Q2", "FY2024-Q2"))),
        ("tampered output", _tamper, (PUBLISH, None)),
    ]
    for i, (name, change, expected) in enumerate(scenarios):
        if change:
            change(project)
        saved = tmp_path / f"state-{i}"
        _save(project.root, saved)
        cli = _what_cli_launched(project)
        _restore(project.root, saved)
        daemon = _what_daemon_launched(project)
        assert cli == daemon, name
        assert (cli[:2] if cli else None) == expected, name
        if cli:
            assert cli[2] == set(RunPlan(cli[0], cli[1]).asset_keys(defs)), name
            assert cli[3] == set(RunPlan(cli[0], cli[1]).check_keys(defs)), name


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (RefreshFacts(), None),
        (RefreshFacts(changed_quarters=("FY2024-Q1", "FY2023-Q4")), ("FY2023-Q4", "FY2024-Q1")),
        (RefreshFacts(new_files=1), None),
        (RefreshFacts(differences=("annual_measures.parquet: content differs",)), None),
        (RefreshFacts(stale_stages=frozenset({PUBLISH})), None),
        (RefreshFacts(stale_stages=frozenset({INGEST})), None),
    ],
)
def test_decide_publishes_the_changed_span_or_nothing(facts: RefreshFacts, expected):
    plan = decide(facts)
    if nothing_new(facts):
        assert plan is None
    else:
        assert plan == RunPlan(PUBLISH, expected)


def test_stale_measures_re_measure_every_quarter():
    """A change to the measures' code (h-version's stale stages) re-measures every quarter."""
    from assets._shared.partitions import FISCAL_QUARTERS

    keys = FISCAL_QUARTERS.get_partition_keys()
    plan = decide(RefreshFacts(stale_stages=frozenset({MEASURES})))
    assert plan == RunPlan(PUBLISH, (keys[0], keys[-1]))
    assert plan.stages() == (MEASURES, PUBLISH)


def test_the_stamp_and_the_plan_say_nothing_new_by_the_same_rule(project):
    """After a refresh both say nothing new; after a new file, a tampered output or a write to
    the warehouse both say there is something to do (the stamp by its facts, the plan by the
    ingest run's facts and the published outputs)."""
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_plan import decide_after_ingest

    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()
    stamp = facts_since_last_refresh()
    assert stamp == RefreshFacts() and nothing_new(stamp)
    again = project.refresh()
    assert len(again.run_ids) == 1  # the plan: nothing new either
    assert nothing_new(decide_after_ingest(project.instance, again.run_ids[0], defs).facts)

    write_csv(
        project.landing / "scr_extract_2024-03-02.csv",
        [scr("N1", "C900", "DISRUPTION", GANGS, "2024-02-01")],
    )
    stamp = facts_since_last_refresh()
    assert stamp is not None and stamp.new_files == 1 and not nothing_new(stamp)
    done = project.refresh()
    assert len(done.run_ids) == 2  # the plan agrees: a new file
    assert nothing_new(facts_since_last_refresh())

    (project.output / "annual_measures.parquet").write_bytes(b"not parquet")
    stamp = facts_since_last_refresh()
    assert stamp is not None and stamp.differences and not nothing_new(stamp)
    fixed = project.refresh()
    assert len(fixed.run_ids) == 2 and fixed.differences  # the plan agrees: repair
