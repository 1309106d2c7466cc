"""The code location loads and validates the way the UI and the daemon load it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from pipelines.orchestration.definitions import defs
from pipelines.orchestration.refresh_plan import (
    INGEST,
    MEASURES,
    PUBLISH,
    VERIFY_CHECK,
    RunPlan,
    stage_keys,
)

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
    """The stages read back from the assets' tags are the graph's (computed here a second way,
    through Dagster's asset graph): ingest = changed_quarters, its ancestors and their
    multi-asset neighbours; measures = the partitioned assets; publish = the rest."""
    graph = defs.resolve_asset_graph()
    stages = {s: set(stage_keys(defs, s)) for s in (INGEST, MEASURES, PUBLISH)}
    everything = set(graph.materializable_asset_keys)
    assert stages[INGEST] | stages[MEASURES] | stages[PUBLISH] == everything
    plan = dg.AssetKey("changed_quarters")
    ingest = set(graph.get_ancestor_asset_keys(plan)) | {plan}
    ingest |= {s for k in list(ingest) for s in graph.get(k).execution_set_asset_keys}
    assert stages[INGEST] == ingest
    assert stages[MEASURES] == {k for k in everything if graph.get(k).partitions_def is not None}
    assert not (stages[INGEST] & stages[MEASURES]) and not (stages[MEASURES] & stages[PUBLISH])
    assert dg.AssetKey("quarterly_measures") in stages[MEASURES]
    assert dg.AssetKey("raw_resource_requests") in stages[INGEST]  # runs with its multi-asset


def test_every_asset_shows_its_stage_and_sits_in_its_folders_group():
    """The UI's ``scr/stage`` tag is the stage the graph gives (not a group); the group is the
    domain folder the asset's module lives in."""
    stage_of = {k: s for s in (INGEST, MEASURES, PUBLISH) for k in stage_keys(defs, s)}
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    assert {k: specs[k].tags.get("scr/stage") for k in stage_of} == stage_of
    assert stage_of[dg.AssetKey("changed_quarters")] == INGEST  # group measures, runs in ingest
    folders = {
        "raw_scr_versions": "landing",
        "ingest_reconciliation": "landing",
        "scr_findings": "scr",
        "scr_current": "scr",
        "changed_quarters": "measures",
        "annual_measures": "measures",
        "resource_request_findings": "resource_requests",
        "case_review_findings": "audit",
        "vv_statement": "audit",
        "published_outputs": "publish",
    }
    assert {k: specs[dg.AssetKey(k)].group_name for k in folders} == folders


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
    from pipelines.cli.explain import COLUMNS
    from schemas.counting import QUARTERLY_COLUMNS as MEASURE_FILTERS

    assert COLUMNS == tuple(MEASURE_FILTERS)


SKIP_DIRS = {".git", ".venv", ".tools", "__pycache__", ".pytest_cache", ".hypothesis", "mutants"}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` (not the environment or caches): mtime and size."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        # a test running beside this one in another process may use Dagster's own temp home
        # (.tmp_dagster_home_*) in the project dir: not this import's doing
        dirnames[:] = [
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".tmp_dagster_home_")
        ]
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            with contextlib.suppress(FileNotFoundError):
                st = path.lstat()
                out[str(path)] = (st.st_mtime_ns, st.st_size if path.is_file() else 0)
    return out


def test_importing_the_definitions_has_no_side_effects(tmp_path: Path):
    """A fresh interpreter with a clean environment imports the code location: no variable is
    set or changed, no folder (DAGSTER_HOME, data/) or file is created, nothing is printed."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
    script = (
        "import json, os\n"
        "before = dict(os.environ)\n"
        "import pipelines.orchestration.definitions\n"
        "print(json.dumps([before, dict(os.environ)]))\n"
    )
    trees = {ROOT: _tree(ROOT), home: _tree(home), cwd: _tree(cwd)}
    default_home = ROOT / ".dagster"
    home_existed = default_home.exists()
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, after = json.loads(proc.stdout)
    assert after == before
    assert "DAGSTER_HOME" not in after and "SCR_WAREHOUSE" not in after
    assert default_home.exists() == home_existed
    for root, tree in trees.items():
        now = _tree(root)
        assert set(now) - set(tree) == set(), f"created under {root}"
        changed = {p for p in tree if p in now and now[p] != tree[p] and Path(p).is_file()}
        assert changed == set(), f"changed under {root}"
    assert "configuration error" not in proc.stderr


FORBIDDEN = (  # undocumented Dagster APIs (issue 31): none may reach the control path
    "resolve_asset_graph", "execution_set_asset_keys", "get_subset", "step_failure_data",
    "step_materialization_data", "event_specific_data", "cls_name", "resolve_job_def",
)  # fmt: skip


def test_no_project_module_uses_an_undocumented_dagster_api():
    """Only APIs in Dagster's API docs in assets/, pipelines/ and schemas/ (tests may use more
    to check from a second side); errors are matched by type, never by class-name strings."""
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for top in ("assets", "pipelines", "schemas")
        for path in sorted((ROOT / top).rglob("*.py"))
        for name in FORBIDDEN
        if name in path.read_text()
    ]
    assert found == []


def test_no_project_module_imports_a_private_dagster_module():
    """``dagster._...`` can change in any release without notice: assets, pipelines and schemas
    use the public ``dagster`` namespace only (the YAML template names classes as data)."""
    import re

    private = re.compile(r"^\s*(from dagster\._|import dagster\._)", re.M)
    found = [
        str(path.relative_to(ROOT))
        for top in ("assets", "pipelines", "schemas")
        for path in sorted((ROOT / top).rglob("*.py"))
        if private.search(path.read_text())
    ]
    assert found == []


@pytest.mark.parametrize(
    "plan",
    [
        RunPlan(INGEST),
        RunPlan(MEASURES),
        RunPlan(PUBLISH),
        RunPlan(PUBLISH, ("FY2024-Q1", "FY2024-Q2")),
    ],
    ids=lambda p: p.job_name(),
)
def test_each_cli_run_s_job_selects_its_stages_and_never_the_weekly_verify(plan: RunPlan):
    """The CLI runs a plan's shape as a job of its own (``execute_in_process(asset_selection=)``
    would add the weekly verify back: it waits on the refresh lock the refresh holds); the job
    holds exactly the assets and checks the daemon's request for the same plan names."""
    job = defs.get_job_def(plan.job_name())
    assert set(job.asset_layer.selected_asset_keys) == set(plan.asset_keys(defs))
    checks = set(job.asset_layer.asset_graph.asset_check_keys)
    assert checks == set(plan.check_keys(defs)) and VERIFY_CHECK not in checks


def test_a_failed_blocking_check_is_named_with_what_it_verifies():
    """Dagster's error names blocking checks as 'asset: check1,check2' lines; the CLI's message
    gives each with its spec's description (public ``AssetsDefinition.check_specs``)."""
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_walk import check_descriptions, failed_checks_text

    described = check_descriptions(defs)
    assert described["ingest_reconciliation: rows_reconcile"].startswith("Per file: records in")
    assert all(described.values()), [k for k, v in described.items() if not v]
    text = (
        "2 blocking asset checks failed with ERROR severity:\n"
        "ingest_reconciliation: rows_reconcile,other\nquarterly_measures: unknown_check"
    )
    fake = {"ingest_reconciliation: rows_reconcile": "A", "ingest_reconciliation: other": "B"}
    assert failed_checks_text(text, fake) == (
        "2 blocking asset checks failed with ERROR severity: "
        "ingest_reconciliation: rows_reconcile (A); ingest_reconciliation: other (B); "
        "quarterly_measures: unknown_check"
    )
