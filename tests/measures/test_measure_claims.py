"""Hand-computed fixtures for the claims that decide the number: the current-record tie-break
(across files, within a file, an undatable version sorting latest), an UNDETERMINED INITIAL,
a category-only correction, a quarter emptied by a correction, an earlier quarter arriving after
later ones, and ``dd_total = dd_tco + dd_non_tco + dd_undetermined`` on every output row.

Each named test kills a mutant of the SQL that the mutation harness (``make mutation``) must
see killed; docs/TESTING.md lists which. Every scenario runs the real refresh once (or twice)
in a fixture that snapshots warehouse and published Parquet, so the tests only read.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.extracts import CYBER, GANGS, NATSEC, scr, write_csv
from support.project import Project

QUARTERLY = "read_parquet('{out}/quarterly_measures/**/*.parquet', hive_partitioning = true)"
CATEGORY = "read_parquet('{out}/category_measures/**/*.parquet', hive_partitioning = true)"
MEASURE_COLUMNS = (
    "initial_approved, disruptions, dismantlements, dd_total, dd_tco, dd_non_tco, "
    "dd_undetermined, initial_tco, fytd_initial_approved, fytd_dd_total, fytd_dd_tco, "
    "fytd_initial_tco, pct_all, pct_tco"
)
TCO = {"subjects": "3", "countries": "US;MX"}


def _snapshot(p: Project) -> dict:
    """Everything the tests assert on, read back from the warehouse and the published files."""
    quarterly = {
        (r[0], r[1]): r[2:]
        for r in p.read_output(
            f"SELECT fiscal_year, fiscal_quarter, {MEASURE_COLUMNS} FROM {QUARTERLY} ORDER BY 1, 2"
        )
    }
    category = {
        (r[0], r[1], r[2]): r[3:]
        for r in p.read_output(
            "SELECT fiscal_year, fiscal_quarter, criminal_category, dd_total, dd_tco, dd_non_tco, "
            'no_association, no_border_crossing, "both", indicator_no, dd_undetermined '
            f"FROM {CATEGORY}"
        )
    }
    current = {
        r[0]: r[1:]
        for r in p.query(
            "SELECT scr_id, source_file, source_row, quarantined, quarantine_rules, determination, "
            "counted, fiscal_year, fiscal_quarter FROM scr_current"
        )
    }
    stored = p.query("SELECT fiscal_year, fiscal_quarter FROM quarterly_measures ORDER BY ALL")
    history = p.query(
        "SELECT fiscal_year, fiscal_quarter, fytd_dd_total, dd_total FROM "
        "quarterly_measures_history ORDER BY ALL"
    )
    files = sorted(str(f.relative_to(p.output)) for f in p.output.rglob("*") if f.is_file())
    return dict(
        quarterly=quarterly,
        category=category,
        current=current,
        stored=stored,
        history=history,
        files=files,
    )


def _run(tmp: Path, batches: list[dict[str, list[dict]]]) -> list[dict]:
    """One project; each batch lands its files and refreshes; a snapshot after each refresh."""
    mp = pytest.MonkeyPatch()
    p = Project(tmp, mp)
    try:
        snaps = []
        for files in batches:
            for name, rows in files.items():
                write_csv(p.landing / name, rows)
            p.refresh()
            snaps.append(_snapshot(p))
        return snaps
    finally:
        p.instance.dispose()
        mp.undo()


# --- scenario 1: tie-breaks and determination, one refresh ----------------------------------
F1, F2 = "scr_extract_2024-01-10.csv", "scr_extract_2024-02-01.csv"
TIES = {
    F1: [
        # T1 in the earlier file: same last_modified_at as its F2 version -> loses to the later file
        scr("T1", "C1", "DISRUPTION", GANGS, "2024-01-10", modified="2024-02-01T12:00:00", **TCO),
        # T3: an undatable version sorts as the latest (NULLS FIRST): it quarantines T3 even
        # though the valid F2 version carries a readable, later-looking timestamp
        scr("T3", "C3", "DISRUPTION", GANGS, "2023-11-15", modified="not-a-time", **TCO),
        # U1: an approved INITIAL created before the checkbox with no data -> UNDETERMINED
        scr("U1", "C4", "INITIAL", NATSEC, "2023-11-01"),
        # U2: a DISMANTLEMENT, likewise UNDETERMINED: the only dd_undetermined of FY2024 Q1
        scr("U2", "C5", "DISMANTLEMENT", NATSEC, "2023-11-02"),
        # U3: one subject, US only -> NON_TCO (both)
        scr("U3", "C6", "DISRUPTION", CYBER, "2023-11-03", subjects="1", countries="US"),
    ],
    F2: [
        scr("T1", "C1", "DISRUPTION", GANGS, "2023-12-01", modified="2024-02-01T12:00:00", **TCO),
        # T2: two versions in one file with the same last_modified_at -> the later row wins
        scr("T2", "C2", "DISRUPTION", GANGS, "", status="PENDING", modified="2024-01-05T09:00:00"),
        scr("T2", "C2", "DISRUPTION", GANGS, "2023-10-20", modified="2024-01-05T09:00:00", **TCO),
        scr("T3", "C3", "DISRUPTION", GANGS, "2023-11-15", modified="2023-11-15T12:00:00", **TCO),
    ],
}


@pytest.fixture(scope="module")
def ties(tmp_path_factory) -> dict:
    return _run(tmp_path_factory.mktemp("ties"), [TIES])[0]


def test_tie_across_files_the_later_file_wins(ties):
    """Kills `source_file DESC` -> `ASC` (and `file_id DESC` -> `ASC` when names tie)."""
    assert ties["current"]["T1"][:2] == (F2, 1)
    assert ties["current"]["T1"][-2:] == (2024, 1)  # from F2's approved_date 2023-12-01


def test_tie_within_a_file_the_later_row_wins(ties):
    """Kills `source_row DESC` -> `ASC`: the PENDING first row would win and T2 not count."""
    assert ties["current"]["T2"][:2] == (F2, 3)
    assert ties["current"]["T2"][5] is True


def test_undatable_version_sorts_latest_and_quarantines(ties):
    """Kills `NULLS FIRST` -> `NULLS LAST` deterministically (not by a lucky fuzz draw)."""
    t3 = ties["current"]["T3"]
    assert t3[:4] == (F1, 2, True, "scr.last_modified_at.format")
    assert t3[4:6] == (None, False)


def test_undetermined_initial_is_not_a_dd_undetermined(ties):
    """Kills dropping `is_dd` from `dd_undetermined`: U1 (INITIAL) is UNDETERMINED but not a D/D."""
    assert ties["current"]["U1"][4] == "UNDETERMINED"
    # FY2024 Q1: U1 INITIAL; T1, T2 disruptions (TCO), U3 disruption (NON_TCO both),
    # U2 dismantlement (UNDETERMINED). T3 is quarantined. Nothing else counts.
    assert ties["quarterly"] == {
        (2024, 1): (1, 3, 1, 4, 2, 1, 1, 0, 1, 4, 2, 0, 4.0, None),
    }
    assert ties["category"][(2024, 1, GANGS)] == (2, 2, 0, 0, 0, 0, 0, 0)
    assert ties["category"][(2024, 1, CYBER)] == (1, 0, 1, 0, 0, 1, 0, 0)
    assert ties["category"][(2024, 1, NATSEC)] == (1, 0, 0, 0, 0, 0, 0, 1)


# --- scenario 2: corrections that arrive later, two refreshes --------------------------------
G1, G2 = "scr_extract_2024-05-01.csv", "scr_extract_2024-06-01.csv"
EARLY = "2023-04-01T09:00:00"
CORRECTIONS = [
    {
        G1: [
            # K1 is alone in FY2023: its correction changes only the category split
            scr("K1", "C10", "DISRUPTION", GANGS, "2023-04-15", created=EARLY, **TCO),
            scr("I1", "C11", "INITIAL", GANGS, "2024-01-20", **TCO),  # FY2024 Q2
            scr("K2", "C12", "DISRUPTION", GANGS, "2024-01-15", **TCO),  # FY2024 Q2
            scr("E1", "C13", "DISMANTLEMENT", CYBER, "2024-04-10", **TCO),  # FY2024 Q3
        ]
    },
    {
        G2: [
            scr(
                "K1",
                "C10",
                "DISRUPTION",
                CYBER,
                "2023-04-15",
                created=EARLY,
                modified="2024-05-02T12:00:00",
                **TCO,
            ),  # fmt: skip
            # E1 withdrawn: FY2024 Q3 has nothing left to count
            scr(
                "E1",
                "C13",
                "DISMANTLEMENT",
                CYBER,
                "",
                status="WITHDRAWN",
                modified="2024-05-02T12:00:00",
                **TCO,
            ),  # fmt: skip
            # X1 lands after FY2024 Q2/Q3 were published, in the earlier FY2024 Q1 (checkbox N)
            scr(
                "X1",
                "C14",
                "DISRUPTION",
                NATSEC,
                "2023-11-01",
                created="2023-08-01T10:00:00",
                tco="N",
                modified="2024-05-02T12:00:00",
                **TCO,
            ),  # fmt: skip
        ]
    },
]


@pytest.fixture(scope="module")
def corrections(tmp_path_factory) -> list[dict]:
    return _run(tmp_path_factory.mktemp("corrections"), CORRECTIONS)


def test_category_only_correction_restates_table2(corrections):
    """Kills removing the category comparison from ``changed_quarter_keys``: K1's quarterly row
    is unchanged by the correction, so only the category rows say FY2023 Q3 must be rebuilt."""
    before, after = corrections
    assert before["quarterly"][(2023, 3)] == after["quarterly"][(2023, 3)]
    assert before["category"][(2023, 3, GANGS)][:2] == (1, 1)
    assert after["category"][(2023, 3, GANGS)] == (0, 0, 0, 0, 0, 0, 0, 0)
    assert after["category"][(2023, 3, CYBER)] == (1, 1, 0, 0, 0, 0, 0, 0)


def test_quarter_emptied_by_a_correction_is_unpublished(corrections):
    before, after = corrections
    assert (2024, 3) in before["quarterly"] and (2024, 3, CYBER) in before["category"]
    assert (2024, 3) not in after["quarterly"]
    assert not [k for k in after["category"] if k[:2] == (2024, 3)]
    assert (2024, 3) not in after["stored"]
    assert not [f for f in after["files"] if "fiscal_year=2024/fiscal_quarter=3" in f]
    # what was published before the restatement is kept
    assert (2024, 3, 2, 1) in after["history"]


def test_earlier_quarter_arriving_later_restates_fiscal_year_to_date(corrections):
    before, after = corrections
    assert (2024, 1) not in before["quarterly"]
    assert after["quarterly"][(2024, 1)] == (0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, None, None)
    assert before["quarterly"][(2024, 2)] == (1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1.0, 1.0)
    assert after["quarterly"][(2024, 2)] == (1, 1, 0, 1, 1, 0, 0, 1, 1, 2, 1, 1, 2.0, 1.0)
    assert after["category"][(2024, 1, NATSEC)] == (1, 0, 1, 0, 0, 0, 1, 0)
    assert (2024, 2, 2, 1) not in after["history"]  # history holds the old row: fytd 1
    assert (2024, 2, 1, 1) in after["history"]


def test_dd_total_splits_exactly_on_every_output_row(ties, corrections):
    """dd_total = dd_tco + dd_non_tco + dd_undetermined, and the non-TCO reasons add up, on
    every published quarterly and category row of both scenarios."""
    snaps = [ties, *corrections]
    quarterly = [r for s in snaps for r in s["quarterly"].values()]
    category = [r for s in snaps for r in s["category"].values()]
    assert len(quarterly) == 7 and len(category) == 56
    for r in quarterly:
        assert r[3] == r[4] + r[5] + r[6] == r[1] + r[2], r
    for r in category:
        assert r[0] == r[1] + r[2] + r[7], r
        assert r[2] == r[3] + r[4] + r[5] + r[6], r
