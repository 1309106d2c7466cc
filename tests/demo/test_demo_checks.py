"""Checks fail only when someone must act (issue 30): on the healthy demo's extracts refreshed
alone (``scr-pipeline demo --no-review``) every asset check passes, with its counts kept as
metadata, except ``validation_sample_due``, which asks for the year's validation sample
(recommendation 2) until one is drawn and reviewed (the demo's own loop does that:
test_demo_validation_loop.py). A threshold of
zero (schemas/reference/check_thresholds.csv) makes the same data fail: the thresholds, not
luck, decide."""

from __future__ import annotations

import dagster as dg
import pytest
from support.project import Project

from schemas import reference

EXPECTED_FAILING = {("annual_measures", "validation_sample_due")}


def _evaluations(project: Project) -> dict[tuple[str, str], tuple[bool, dict]]:
    records = project.instance.get_event_records(
        dg.EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=1000
    )
    out = {}
    for rec in records:  # newest first: keep each check's latest evaluation
        data = rec.event_log_entry.dagster_event.event_specific_data
        key = (data.asset_key.to_user_string(), data.check_name)
        out.setdefault(key, (data.passed, {k: v.value for k, v in data.metadata.items()}))
    return out


@pytest.fixture(scope="module")
def demo(module_project: Project) -> Project:
    from pipelines.demo.extracts import write_demo_extracts

    write_demo_extracts(module_project.landing, seed=7, scale=0.05)
    module_project.refresh()
    return module_project


def test_on_the_healthy_demo_only_the_due_validation_sample_fails(demo):
    checks = _evaluations(demo)
    failing = {key for key, (passed, _) in checks.items() if not passed}
    assert failing == EXPECTED_FAILING
    passed, meta = checks[("scr_current", "schema_validity")]
    assert passed and meta["quarantined"] >= 4  # the planted bad rows: counted, below 1%
    assert meta["share"] == round(meta["quarantined"] / meta["current_scrs"], 6) <= 0.01
    passed, meta = checks[("scr_current", "tco_indicator_conflicts")]
    assert passed and meta["conflicts"] >= 2 and meta["max_share"] == 0.02


def test_a_zero_threshold_fails_the_same_data(demo, monkeypatch):
    zero = {
        key: t.__class__(t.check, t.asset, 0.0, t.of_what, t.why)
        for key, t in reference.check_thresholds().items()
    }
    monkeypatch.setattr(reference, "check_thresholds", lambda: zero)
    ok, figures = reference.within(1, 1000, "scr_current", "schema_validity")
    assert (ok, figures) == (False, {"share": 0.001, "max_share": 0.0})
    quarantined = demo.query("SELECT count(*) FROM scr_current WHERE quarantined")[0][0]
    assert not reference.within(quarantined, 10_000, "scr_current", "schema_validity")[0]


def test_every_threshold_is_documented_with_why():
    table = reference.check_thresholds()
    assert set(table) == {
        ("scr_current", "schema_validity"),
        ("scr_current", "tco_indicator_complete"),
        ("scr_current", "tco_indicator_conflicts"),
        ("resource_request_current", "schema_validity"),
    }
    assert all(t.why and t.of_what and 0 < t.max_share < 1 for t in table.values())


def test_a_missing_target_for_the_latest_year_is_one_clear_warning(demo):
    """The demo ends with FY2026, for which no target is recorded (FY2023 on are not public)."""
    logs = [
        e.user_message
        for rec in demo.instance.get_records_for_run(
            demo.instance.get_runs(limit=1)[0].run_id
        ).records
        if (e := rec.event_log_entry) and not e.is_dagster_event and "no target" in e.user_message
    ]
    assert logs == [
        "no target recorded for FY2026: add its row to schemas/reference/annual_targets.csv "
        "(docs/REPORT.md, Targets)"
    ]


HEADER = "fiscal_year,measure_type,target,reported_result,reported_dd,audit_non_tco_dd_min\n"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("20x3,count,600,,,", "row 3, column fiscal_year: '20x3' is not a year"),
        ("2017,count,600,,,", "row 3, column fiscal_year: FY2017 is listed twice"),
        ("2023,counts,600,,,", "row 3, column measure_type: 'counts' is not percent or count"),
        ("2023,count,,,,", "row 3, column target: a number is required"),
        (
            "2023,percent,15.8,,,",
            "row 3, column target: '15.8' must be a fraction between 0 and 1 (0.158 = 15.8%)",
        ),
        ("2023,count,-5,,,", "row 3, column target: '-5' must be a count above 0"),
        ("2023,count,600,many,,", "row 3, column reported_result: 'many' is not a number"),
    ],
)
def test_targets_are_checked_on_load_naming_row_and_column(tmp_path, row, message):
    path = tmp_path / "annual_targets.csv"
    path.write_text(HEADER + "2017,percent,0.158,0.229,420,13\n" + row + "\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        reference.annual_targets(path)
    assert str(err.value) == f"annual_targets.csv {message}"


def test_adding_a_year_is_one_row(tmp_path):
    path = tmp_path / "annual_targets.csv"
    path.write_text(HEADER + "2026,count,1200,,,\n", encoding="utf-8")
    assert reference.annual_targets(path) == {
        2026: {"measure_type": "count", "target": 1200.0, "reported_result": None}
    }
