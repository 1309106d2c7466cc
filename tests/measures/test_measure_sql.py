"""The SQL that decides the number, run directly on a real warehouse: the current record and
determination (``build_current``), the quarterly and category rows, and the changed-quarter plan.

Each fixture warehouse is made once by a real refresh (ingest and validation included); every
test copies it, drops what the step under test builds and rebuilds it with the code as it is now,
so the mutation harness can re-run these in a second instead of a refresh per mutant. The
figures are the hand-computed ones of test_pipeline_numbers.py and test_measure_claims.py.
"""

from __future__ import annotations

import shutil

import pytest
from support.extracts import CYBER, FILES_A_B, GANGS, NATSEC
from support.project import refreshed_warehouse as _base
from test_measure_claims import TIES
from test_pipeline_numbers import EXPECTED_AFTER_A_AND_B

from assets._shared.resources import WarehouseResource
from assets.measures.quarterly import (
    category_rows,
    changed_quarter_keys,
    ensure_tables,
    quarter_rows,
)
from assets.scr.determine import build_current


@pytest.fixture
def rebuilt(tmp_path):
    """``rebuilt(name, files)``: a connection to a copy whose scr_current and measures are
    rebuilt now (full build) from the refreshed raw versions and findings."""
    opened = []

    def make(name: str, files: dict[str, list[dict]]):
        db = tmp_path / f"{name}.duckdb"
        shutil.copy(_base(name, files), db)
        cm = WarehouseResource(path=str(db)).connect()
        con = cm.__enter__()
        opened.append(cm)
        con.execute("DROP TABLE scr_current")
        # kept tables are emptied, not dropped: their DDL is a recorded migration step
        con.execute("DELETE FROM quarterly_measures")
        con.execute("DELETE FROM category_measures")
        con.execute("DELETE FROM build_state WHERE name = 'scr_current'")
        build_current(con)
        return con

    yield make
    for cm in opened:
        cm.__exit__(None, None, None)


def _current(con) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT scr_id, source_file, source_row, quarantined, determination, non_tco_reason, "
            "counted, fiscal_year, fiscal_quarter FROM scr_current"
        ).fetchall()
    }


def _categories(con, fy: int, q: int) -> dict[str, tuple]:
    rows = category_rows(con).to_pylist()
    cols = ("dd_total", "dd_tco", "dd_non_tco", "no_association", "no_border_crossing", "both",
            "indicator_no", "dd_undetermined")  # fmt: skip
    return {
        r["criminal_category"]: tuple(r[c] for c in cols)
        for r in rows
        if (r["fiscal_year"], r["fiscal_quarter"]) == (fy, q)
    }


def test_current_record_and_determination_sql(rebuilt):
    cur = _current(rebuilt("ab", FILES_A_B))
    assert cur["A2"][3:] == ("TCO", None, True, 2024, 1)
    assert cur["A3"][3:5] == ("NON_TCO", "no_association")
    assert cur["A4"][3:5] == ("NON_TCO", "no_border_crossing")
    assert cur["A5"][3:5] == ("NON_TCO", "both")
    assert cur["A6"][3:5] == ("NON_TCO", "indicator_no")
    assert cur["A7"][3:5] == ("TCO", None)
    assert cur["A8"][3:5] == ("UNDETERMINED", None)
    assert cur["A10"][3:6] == ("TCO", None, False)
    assert cur["A12"][:2] == ("scr_extract_2024-02-01.csv", 1)
    assert cur["A12"][-2:] == (2024, 2)
    assert cur["A14"][:2] == ("scr_extract_2024-02-01.csv", 3)
    assert cur["A15"][:4] == ("scr_extract_2024-02-01.csv", 4, True, None)
    assert cur["A11"][2:4] == (True, None)
    assert len(cur) == 14


def test_quarter_rows_sql(rebuilt):
    con = rebuilt("ab", FILES_A_B)
    rows = {(r["fiscal_year"], r["fiscal_quarter"]): r for r in quarter_rows(con).to_pylist()}
    assert sorted(rows) == sorted(EXPECTED_AFTER_A_AND_B)
    for key, expected in EXPECTED_AFTER_A_AND_B.items():
        got = {**rows[key], "quarter_start": str(rows[key]["quarter_start"]),
               "quarter_end": str(rows[key]["quarter_end"])}  # fmt: skip
        assert {k: got[k] for k in expected} == pytest.approx(expected), key
    only_2023 = quarter_rows(con, [2023]).to_pylist()
    assert [(r["fiscal_year"], r["fiscal_quarter"]) for r in only_2023] == [(2023, 4)]


def test_category_rows_sql(rebuilt):
    con = rebuilt("ab", FILES_A_B)
    q1 = _categories(con, 2024, 1)
    assert len(q1) == 8
    assert q1["Transnational Gangs"] == (1, 1, 0, 0, 0, 0, 0, 0)
    assert q1["Cyber-Enabled Crime"] == (1, 0, 1, 1, 0, 0, 0, 0)
    assert q1["Illicit Trade, Travel, and Finance (Drug-Related)"] == (1, 0, 1, 0, 0, 1, 0, 0)
    assert q1["Transnational Crimes Against Children"] == (1, 0, 1, 0, 0, 0, 1, 0)
    assert q1["Counter-Proliferation"] == (1, 1, 0, 0, 0, 0, 0, 0)
    assert q1["Worksite Enforcement/Labor Exploitation"] == (1, 0, 0, 0, 0, 0, 0, 1)
    assert q1["National Security"] == (0, 0, 0, 0, 0, 0, 0, 0)
    assert _categories(con, 2024, 2)["National Security"] == (1, 0, 1, 0, 1, 0, 0, 0)
    assert set(_categories(con, 2023, 4).values()) == {(0, 0, 0, 0, 0, 0, 0, 0)}
    assert len(category_rows(con, [2023]).to_pylist()) == 8


def test_tie_breaks_and_undetermined_initial_sql(rebuilt):
    con = rebuilt("ties", TIES)
    cur = _current(con)
    assert cur["T1"][:2] == ("scr_extract_2024-02-01.csv", 1)  # later file
    assert cur["T2"][:2] == ("scr_extract_2024-02-01.csv", 3)  # later row
    assert cur["T3"][:3] == ("scr_extract_2024-01-10.csv", 2, True)  # undatable sorts latest
    assert cur["U1"][3] == "UNDETERMINED"
    (row,) = quarter_rows(con).to_pylist()
    assert (row["initial_approved"], row["dd_total"], row["dd_tco"], row["dd_non_tco"],
            row["dd_undetermined"], row["initial_tco"]) == (1, 4, 2, 1, 1, 0)  # fmt: skip
    cats = _categories(con, 2024, 1)
    assert cats[GANGS] == (2, 2, 0, 0, 0, 0, 0, 0)
    assert cats[CYBER] == (1, 0, 1, 0, 0, 1, 0, 0)
    assert cats[NATSEC] == (1, 0, 0, 0, 0, 0, 0, 1)


def test_changed_quarter_keys_sees_category_only_and_quarterly_changes(rebuilt):
    con = rebuilt("ties", TIES)
    ensure_tables(con)
    con.register("__q", quarter_rows(con))
    con.register("__c", category_rows(con))
    con.execute("INSERT INTO quarterly_measures SELECT * FROM __q")
    con.execute("INSERT INTO category_measures SELECT * FROM __c")
    assert changed_quarter_keys(con) == (["FY2024-Q1"], [])
    # a category-only correction: T1 moves from Gangs to Cyber, no quarterly number changes
    con.execute("UPDATE scr_current SET criminal_category = ? WHERE scr_id = 'T1'", [CYBER])
    assert changed_quarter_keys(con) == (["FY2024-Q1"], ["FY2024-Q1"])
    con.execute("UPDATE scr_current SET criminal_category = ? WHERE scr_id = 'T1'", [GANGS])
    # a quarterly-only change: U1 (an INITIAL, in no category row) stops counting
    con.execute("UPDATE scr_current SET counted = false WHERE scr_id = 'U1'")
    assert changed_quarter_keys(con) == (["FY2024-Q1"], ["FY2024-Q1"])
    # a quarter emptied: nothing counts any more, the stored quarter is still listed
    con.execute("UPDATE scr_current SET counted = false")
    assert changed_quarter_keys(con) == (["FY2024-Q1"], ["FY2024-Q1"])
