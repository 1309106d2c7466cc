"""The Dagster assets that decide the number, one at a time, on a small hand-made warehouse.

``scr_current``, ``changed_quarters``, ``quarterly_measures`` and ``category_measures`` run by
``dagster.materialize`` (real Dagster, real DuckDB file, an ephemeral instance); no refresh, no
ingest or validation: the raw rows and their error findings are written by hand
(``test_mutants_sql.Warehouse``). The tables, the metadata an operator reads in the Dagster UI,
the asset checks, the per-quarter observations and the log line are asserted exactly; every
number is worked out in the comments.

The warehouse (one file, ``scr_extract_a.csv``, every SCR created 2023-06-01 unless said):

    scr_id  type           approved    checkbox  subjects/countries  -> determination
    T1      DISRUPTION     2023-11-15  -         3 / US;MX            TCO (definition)
    T2      DISMANTLEMENT  2024-01-10  Y         -                    TCO (checkbox)
    T3      INITIAL        2023-11-20  Y         -                    TCO
    T4      INITIAL        2024-02-01  -         3 / US;MX            TCO
    N1      DISRUPTION     2023-12-01  N         3 / US;MX            NON_TCO indicator_no, conflict
    P1      DISRUPTION     (PENDING)   N         -                    NON_TCO indicator_no, not counted
    U1      DISMANTLEMENT  2024-01-20  -         -                    UNDETERMINED
    Q1, Q2  DISRUPTION     2023-11-15  -         -                    quarantined (an error finding)
    M1      DISRUPTION     2023-11-15  -  (created 2023-08-01)       quarantined: no checkbox

Fiscal 2024 Q1 is Oct-Dec 2023, Q2 Jan-Mar 2024.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest
from test_mutants_sql import TCO, Warehouse, row

from assets._shared.partitions import covering_range
from assets._shared.resources import WarehouseResource
from assets.measures.determinations import replace_quarters
from assets.measures.quarterly import (
    category_measures,
    category_rows,
    changed_quarter_keys,
    changed_quarters,
    ensure_tables,
    quarter_rows,
    quarterly_measures,
    rebuild_quarters,
)
from assets.measures.scr_determinations import scr_determinations
from assets.scr.determine import build_current, scr_current

ROWS = [
    row("T1", **TCO),
    row("T2", typ="DISMANTLEMENT", approved="2024-01-10", tco_involvement="Y"),
    row("T3", typ="INITIAL", approved="2023-11-20", tco_involvement="Y"),
    row("T4", typ="INITIAL", approved="2024-02-01", **TCO),
    row("N1", approved="2023-12-01", tco_involvement="N", **TCO),
    row("P1", approved="", tco_involvement="N"),
    row("U1", typ="DISMANTLEMENT", approved="2024-01-20"),
    row("Q1", subject_count="0"),
    row("Q2", status="OPEN"),
    row("M1", created_at="2023-08-01T09:00:00", submitted_date="2023-08-01"),
]
ERRORS = {
    8: ["scr.subject_count.min"],
    9: ["scr.status.enum", "scr.approved_date.only_when_approved"],
    10: ["scr.tco_involvement.required_from_2023_07_18"],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The warehouse after scr_current and changed_quarters (one ephemeral instance)."""
    path = tmp_path_factory.mktemp("assets") / "w.duckdb"
    wh = Warehouse(path)
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    wh.close()
    instance = dg.DagsterInstance.ephemeral()
    resources = {"warehouse": WarehouseResource(path=str(path))}
    current = dg.materialize([scr_current], resources=resources, instance=instance)
    changed = dg.materialize([changed_quarters], resources=resources, instance=instance)
    return {
        "path": path,
        "instance": instance,
        "resources": resources,
        "current": current,
        "changed": changed,
    }


def _meta(result, node: str, partitions: tuple[str, ...] = (None,)) -> dict:
    """The metadata of the materialization(s); a range run carries one dict for every key."""
    mats = result.asset_materializations_for_node(node)
    assert tuple(sorted(m.partition or "" for m in mats)) == tuple(p or "" for p in partitions)
    metas = [{k: v.value for k, v in m.metadata.items()} for m in mats]
    assert all(m == metas[0] for m in metas)
    return metas[0]


def _logs(instance, result, prefix: str) -> list[str]:
    return [
        e.user_message
        for e in instance.all_logs(result.run_id)
        if e.user_message.startswith(prefix)
    ]


def _query(path, sql: str) -> list[tuple]:
    with WarehouseResource(path=str(path)).connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def test_scr_current_metadata_checks_and_log(built):
    result = built["current"]
    assert result.success
    meta = _meta(result, "scr_current")
    assert meta["scrs_rebuilt"] == 10  # a first build: every SCR
    assert meta["counted"] == 6  # T1-T4, N1, U1: approved and not quarantined
    assert meta["quarantined"] == 3  # Q1, Q2, M1
    assert meta["indicator_conflicts"] == 1  # N1: checkbox N, definition says TCO
    assert meta["dagster/row_count"] == 10
    assert meta["determinations"] == (
        "| determination | non_tco_reason | scrs |\n"
        "|---|---|---|\n"
        "| TCO |  | 4 |\n"
        "| QUARANTINED |  | 3 |\n"
        "| NON_TCO | indicator_no | 2 |\n"
        "| UNDETERMINED |  | 1 |"
    )
    checks = {
        e.check_name: (e.passed, e.severity, {k: v.value for k, v in e.metadata.items()})
        for e in result.get_asset_check_evaluations()
    }
    warn = dg.AssetCheckSeverity.WARN
    assert checks == {
        # M1 is the one SCR created on or after 2023-07-18, and it has no checkbox
        # each over its threshold (schemas/reference/check_thresholds.csv): 1 of 1, 1 of the 4
        # with a checkbox (T2, T3, N1, P1; N1 conflicts), 3 of 10
        "tco_indicator_complete": (
            False,
            warn,
            {"created_from_2023_07_18": 1, "missing_checkbox": 1, "share": 1.0, "max_share": 0.01},
        ),
        "tco_indicator_conflicts": (
            False,
            warn,
            {"conflicts": 1, "with_checkbox": 4, "share": 0.25, "max_share": 0.02},
        ),
        "schema_validity": (
            False,
            warn,
            {"current_scrs": 10, "quarantined": 3, "share": 0.3, "max_share": 0.01},
        ),
    }
    # found under the names as written (information_schema compares names as strings)
    assert _query(
        built["path"],
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name IN ('build_state', 'scr_current') ORDER BY 1",
    ) == [("build_state",), ("scr_current",)]
    assert _logs(built["instance"], result, "10 SCRs") == [
        "10 SCRs (10 rebuilt): 6 approved and counted, 3 quarantined, 1 indicator conflicts"
    ]


def test_scr_current_checks_pass_on_a_clean_warehouse(tmp_path):
    """One valid TCO SCR created before 2023-07-18: every check passes, its metadata is zero."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.add_file("scr_extract_a.csv", [row("T1", **TCO)])
    wh.close()
    result = dg.materialize(
        [scr_current], resources={"warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb"))}
    )
    checks = {
        e.check_name: (e.passed, {k: v.value for k, v in e.metadata.items()})
        for e in result.get_asset_check_evaluations()
    }
    assert checks == {
        "tco_indicator_complete": (
            True,
            {"created_from_2023_07_18": 0, "missing_checkbox": 0, "share": 0.0, "max_share": 0.01},
        ),
        "tco_indicator_conflicts": (
            True,
            {"conflicts": 0, "with_checkbox": 0, "share": 0.0, "max_share": 0.02},
        ),
        "schema_validity": (
            True,
            {"current_scrs": 1, "quarantined": 0, "share": 0.0, "max_share": 0.01},
        ),
    }


def test_changed_quarters_names_the_keys(built):
    result = built["changed"]
    meta = _meta(result, "changed_quarters")
    # nothing was stored before: both quarters with counted SCRs changed
    assert meta == {
        "changed_quarters": ["FY2024-Q1", "FY2024-Q2"],
        "changed_count": 2,
        "quarters_present": 2,
    }
    assert not built["instance"].get_dynamic_partitions("fiscal_quarter")  # none to register
    assert _logs(built["instance"], result, "2 quarter") == [
        "2 quarter(s) changed: FY2024-Q1, FY2024-Q2"
    ]


def _run_range(built, asset, start: str, end: str):
    return dg.materialize(
        [asset],
        resources=built["resources"],
        instance=built["instance"],
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
        },
    )


def _observations(result) -> dict[str, dict]:
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_OBSERVATION":
            obs = e.event_specific_data.asset_observation
            out[obs.partition] = {k: (type(v).__name__, v.value) for k, v in obs.metadata.items()}
    return out


def test_quarterly_measures_over_a_range(built):
    result = _run_range(built, quarterly_measures, "FY2024-Q1", "FY2024-Q2")
    assert result.success
    meta = _meta(result, "quarterly_measures", ("FY2024-Q1", "FY2024-Q2"))
    assert {
        k: meta[k] for k in ("quarters", "quarters_with_data", "run_dd_total", "run_dd_tco")
    } == {
        "quarters": 2,
        "quarters_with_data": 2,
        "run_dd_total": 4,  # T1, N1 in Q1; T2, U1 in Q2
        "run_dd_tco": 2,  # T1, T2
    }
    assert meta["dagster/row_count"] == 2
    # the schema the UI shows is the table's (found under its name as written, lower case)
    assert [c.name for c in meta["dagster/column_schema"].columns] == [
        "fiscal_year",
        "fiscal_quarter",
        "quarter_start",
        "quarter_end",
        "initial_approved",
        "disruptions",
        "dismantlements",
        "dd_total",
        "dd_tco",
        "dd_non_tco",
        "dd_undetermined",
        "initial_tco",
        "fytd_initial_approved",
        "fytd_dd_total",
        "fytd_dd_tco",
        "fytd_initial_tco",
        "pct_all",
        "pct_tco",
    ]
    i, f = "IntMetadataValue", "FloatMetadataValue"
    assert _observations(result) == {
        # Q1: T3 initial (TCO); T1 (TCO) and N1 (NON_TCO) disruptions; FYTD 2/1 and 1/1
        "FY2024-Q1": {
            "dd_total": (i, 2),
            "dd_tco": (i, 1),
            "dd_non_tco": (i, 1),
            "dd_undetermined": (i, 0),
            "initial_approved": (i, 1),
            "pct_all": (f, 2.0),
            "pct_tco": (f, 1.0),
        },
        # Q2: T4 initial (TCO); T2 (TCO) and U1 (UNDETERMINED) dismantlements; FYTD 4/2 and 2/2
        "FY2024-Q2": {
            "dd_total": (i, 2),
            "dd_tco": (i, 1),
            "dd_non_tco": (i, 0),
            "dd_undetermined": (i, 1),
            "initial_approved": (i, 1),
            "pct_all": (f, 2.0),
            "pct_tco": (f, 1.0),
        },
    }
    assert _logs(built["instance"], result, "quarterly measures") == [
        "quarterly measures for 2 quarter(s): {'dd_total': 4, 'dd_tco': 2}"
    ]
    assert _query(
        built["path"],
        "SELECT fiscal_year, fiscal_quarter, dd_total, dd_tco, fytd_dd_total "
        "FROM quarterly_measures ORDER BY ALL",
    ) == [(2024, 1, 2, 1, 2), (2024, 2, 2, 1, 4)]


def test_category_measures_over_a_range(built):
    result = _run_range(built, category_measures, "FY2024-Q1", "FY2024-Q2")
    assert result.success
    meta = _meta(result, "category_measures", ("FY2024-Q1", "FY2024-Q2"))
    assert meta["quarters"] == 2
    assert meta["dagster/row_count"] == 16  # 2 quarters x 8 categories, zeros included
    assert [c.name for c in meta["dagster/column_schema"].columns] == [
        "fiscal_year",
        "fiscal_quarter",
        "criminal_category",
        "dd_total",
        "dd_tco",
        "dd_non_tco",
        "no_association",
        "no_border_crossing",
        "both",
        "indicator_no",
        "dd_undetermined",
    ]
    i = "IntMetadataValue"
    zero = {k: (i, 0) for k in ("no_association", "no_border_crossing", "both")}
    assert _observations(result) == {
        "FY2024-Q1": {
            **zero,
            "dd_total": (i, 2),
            "dd_tco": (i, 1),
            "dd_non_tco": (i, 1),
            "indicator_no": (i, 1),  # N1
            "dd_undetermined": (i, 0),
        },
        "FY2024-Q2": {
            **zero,
            "dd_total": (i, 2),
            "dd_tco": (i, 1),
            "dd_non_tco": (i, 0),
            "indicator_no": (i, 0),
            "dd_undetermined": (i, 1),  # U1
        },
    }


def test_a_correction_restates_one_quarter_and_keeps_the_old_row(tmp_path):
    """T2 (Q2) is corrected to checkbox N in a second file: scr_current rebuilds that one SCR,
    only FY2024-Q2 changes (Q1's rows and FYTD do not depend on Q2), and re-materializing Q2
    moves its old row to quarterly_measures_history under the run's id. (The first state,
    every table the plan compares, is built by the steps' functions directly, which is what
    the assets run; only the second state goes through Dagster.)"""
    path = tmp_path / "w.duckdb"
    wh = Warehouse(path)
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    wh.current()  # build_current
    keys = ["FY2024-Q1", "FY2024-Q2"]
    rebuild_quarters(wh.con, "quarterly_measures", quarter_rows, keys, "first-run")
    rebuild_quarters(wh.con, "category_measures", category_rows, keys, "first-run")
    replace_quarters(wh.con, keys)
    wh.close()
    instance = dg.DagsterInstance.ephemeral()
    built = {"resources": {"warehouse": WarehouseResource(path=str(path))}, "instance": instance}

    wh = Warehouse(path)
    wh.next_id = 2
    correction = row(
        "T2",
        typ="DISMANTLEMENT",
        approved="2024-01-10",
        tco_involvement="N",
        last_modified_at="2024-01-11T12:00:00",
    )
    wh.add_file("scr_extract_b.csv", [correction])
    wh.close()
    current = dg.materialize([scr_current], **built)
    meta = _meta(current, "scr_current")
    assert (meta["scrs_rebuilt"], meta["counted"], meta["indicator_conflicts"]) == (1, 6, 1)
    changed = dg.materialize([changed_quarters], **built)
    assert _meta(changed, "changed_quarters") == {
        "changed_quarters": ["FY2024-Q2"],
        "changed_count": 1,
        "quarters_present": 2,
    }
    result = dg.materialize([quarterly_measures], partition_key="FY2024-Q2", **built)
    meta = _meta(result, "quarterly_measures", ("FY2024-Q2",))
    assert {
        k: meta[k] for k in ("quarters", "quarters_with_data", "run_dd_total", "run_dd_tco")
    } == {
        "quarters": 1,
        "quarters_with_data": 1,
        "run_dd_total": 2,  # T2 and U1
        "run_dd_tco": 0,  # T2 is NON_TCO now
    }
    i, f = "IntMetadataValue", "FloatMetadataValue"
    assert _observations(result) == {
        "FY2024-Q2": {
            "dd_total": (i, 2),
            "dd_tco": (i, 0),
            "dd_non_tco": (i, 1),
            "dd_undetermined": (i, 1),
            "initial_approved": (i, 1),
            "pct_all": (f, 2.0),  # FYTD 4 / 2
            "pct_tco": (f, 0.5),  # FYTD (1 + 0) / (1 + 1)
        }
    }
    assert _query(
        path,
        "SELECT fiscal_year, fiscal_quarter, dd_total, dd_tco, dd_non_tco "
        "FROM quarterly_measures ORDER BY ALL",
    ) == [(2024, 1, 2, 1, 1), (2024, 2, 2, 0, 1)]
    # the row published before, kept with the id of the run that replaced it
    assert _query(
        path,
        "SELECT fiscal_year, fiscal_quarter, dd_total, dd_tco, dd_non_tco, run_id, "
        "superseded_at IS NOT NULL FROM quarterly_measures_history",
    ) == [(2024, 2, 2, 1, 0, result.run_id, True)]


MEASURED_TABLES = (
    "quarterly_measures",
    "category_measures",
    "quarterly_measures_history",
    "scr_determinations",
)


def test_measuring_unchanged_quarters_again_leaves_every_table_as_it_was(tmp_path):
    """The refresh measures the range from the first to the last changed quarter in one run, so
    a quarter in between that did not change (or holds no SCR) is measured again: its rows must
    come out the same and no history row may appear (idempotent per quarter)."""
    path = tmp_path / "w.duckdb"
    wh = Warehouse(path)
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    wh.current()
    keys = ["FY2024-Q1", "FY2024-Q2"]
    rebuild_quarters(wh.con, "quarterly_measures", quarter_rows, keys, "first-run")
    rebuild_quarters(wh.con, "category_measures", category_rows, keys, "first-run")
    replace_quarters(wh.con, keys)
    wh.close()
    before = {t: sorted(_query(path, f"SELECT * FROM {t}")) for t in MEASURED_TABLES}
    assert len(before["quarterly_measures"]) == 2 and not before["quarterly_measures_history"]
    # FY2023-Q3 and Q4 hold no SCR; the range covers them as a non-contiguous change would
    start, end = covering_range({"FY2023-Q3", "FY2024-Q2"})
    result = dg.materialize(
        [quarterly_measures, category_measures, scr_determinations],
        resources={"warehouse": WarehouseResource(path=str(path))},
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
        },
    )
    assert result.success
    partitions = {m.partition for m in result.asset_materializations_for_node("quarterly_measures")}
    assert partitions == {"FY2023-Q3", "FY2023-Q4", "FY2024-Q1", "FY2024-Q2"}
    assert {t: sorted(_query(path, f"SELECT * FROM {t}")) for t in MEASURED_TABLES} == before


def test_the_steps_leave_no_registered_relation_behind(tmp_path):
    """replace_partitions, ensure_tables and changed_quarter_keys register Arrow tables under
    fixed names (__rows, __empty, __q_new, __c_new) and unregister them: a name left behind
    would shadow the next caller's on the same connection."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    wh.current()
    rebuild_quarters(wh.con, "quarterly_measures", quarter_rows, ["FY2024-Q1"], "run")
    assert changed_quarter_keys(wh.con) == (["FY2024-Q1", "FY2024-Q2"], ["FY2024-Q1", "FY2024-Q2"])
    for name in ("__rows", "__empty", "__q_new", "__c_new"):
        with pytest.raises(duckdb.CatalogException):
            wh.con.execute(f"SELECT * FROM {name}")
    wh.close()


def test_ensure_tables_makes_empty_tables_named_as_written(tmp_path):
    """On a warehouse whose scr_current already has counted SCRs, the measure tables are made
    empty (their shape only) and found under their lower-case names; the history table has the
    quarterly columns plus superseded_at and run_id."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    wh.current()
    ensure_tables(wh.con)
    tables = ("quarterly_measures", "category_measures", "quarterly_measures_history")
    counts = {t: wh.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables}
    assert counts == dict.fromkeys(tables, 0)
    columns = {
        t: [
            r[0]
            for r in wh.con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [t],
            ).fetchall()
        ]
        for t in tables
    }
    assert columns["quarterly_measures_history"] == [
        *columns["quarterly_measures"],
        "superseded_at",
        "run_id",
    ]
    assert len(columns["quarterly_measures"]) == 18
    assert len(columns["category_measures"]) == 11
    wh.close()


def test_a_changed_determination_logic_or_a_lost_table_rebuilds_everything(tmp_path):
    """build_current rebuilds every SCR when the stored code version of scr_current
    differs (a new version of the logic) or scr_current is gone, even with no new file; with
    neither, a build without new files rebuilds nothing."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    assert build_current(wh.con) == {"scrs_rebuilt": 10}  # new table: all ten SCRs
    assert build_current(wh.con) == {"scrs_rebuilt": 0}  # nothing new
    wh.con.execute("UPDATE build_state SET code_version = 'an older logic'")
    assert build_current(wh.con) == {"scrs_rebuilt": 10}
    wh.con.execute("DROP TABLE scr_current")
    assert build_current(wh.con) == {"scrs_rebuilt": 10}
    assert wh.con.execute("SELECT count(*) FROM scr_current").fetchall() == [(10,)]
    wh.close()


def test_a_changed_counting_macro_rebuilds_every_scr(tmp_path):
    """``counted`` and ``is_dd`` of scr_current are the macros of schemas/counting.py, so the
    macros are part of scr_current's code version (the one change detector), and another code
    version rebuilds every SCR."""
    from assets._shared.code_version import code_files
    from assets.scr import determine

    assert any(
        p.name == "counting.py" and p.parent.name == "schemas"
        for p in code_files(determine.__name__)
    )
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.add_file("scr_extract_a.csv", ROWS, ERRORS)
    assert build_current(wh.con, "v1") == {"scrs_rebuilt": 10}
    assert build_current(wh.con, "v1") == {"scrs_rebuilt": 0}
    assert build_current(wh.con, "v2") == {"scrs_rebuilt": 10}  # e.g. a new version of a macro
    wh.close()
