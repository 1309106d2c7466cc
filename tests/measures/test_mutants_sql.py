"""Small hand-made warehouses for the SQL that decides the number, fast enough to run once per
SQL mutant (``make mutation``). No refresh: the raw tables are created with the ingest DDL, a
handful of raw SCR rows and error findings are inserted by hand, and the step under test
(``build_current``, ``quarter_rows``, ``category_rows``, ``changed_quarter_keys``, the annual
SQL) runs on a real DuckDB file. Every expected number below is worked out in the comments.

Which mutant each test is there for is named in its docstring; docs/TESTING.md has the list.
SQL constants are read through their module (``annual.ANNUAL_SQL``), never imported by name: the
mutation harness patches the module attribute, and a copy taken at import would hide the mutant.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from assets._shared.migrations import FINDINGS_COLUMNS
from assets._shared.resources import WarehouseResource
from assets.landing import ingest
from assets.measures import annual
from assets.measures.determinations import replace_quarters
from assets.measures.quarterly import (
    category_rows,
    changed_quarter_keys,
    ensure_tables,
    quarter_rows,
)
from assets.scr.determine import build_current
from schemas import scr_extract
from schemas.extracts import SCR

GANGS = "Transnational Gangs"
CYBER = "Cyber-Enabled Crime"
NATSEC = "National Security"
INGESTED = dt.datetime(2024, 6, 1, 12, 0)
TCO = {"subject_count": "3", "countries": "US;MX"}  # association and a border crossing


def row(scr_id: str, typ: str = "DISRUPTION", approved: str = "2023-11-15", **kw: str) -> dict:
    """A raw SCR row (strings, as landed); created before the checkbox became mandatory."""
    base = {
        "scr_id": scr_id,
        "case_number": "C-" + scr_id,
        "scr_type": typ,
        "criminal_category": GANGS,
        "subcategory": "",
        "field_office": "SAC Houston",
        "status": "APPROVED" if approved else "PENDING",
        "created_at": "2023-06-01T09:00:00",
        "submitted_date": "2023-06-01",
        "approved_date": approved,
        "tco_involvement": "",
        "subject_count": "",
        "countries": "",
        "last_modified_at": f"{approved or '2023-06-01'}T12:00:00",
    }
    base.update(kw)
    return base


class Warehouse:
    """A DuckDB file with the ingest tables; ``add_file`` lands rows as one active file."""

    def __init__(self, path: Path) -> None:
        self._cm = WarehouseResource(path=str(path)).connect()
        self.con = self._cm.__enter__()
        ingest.ensure_tables(self.con)
        self.con.execute(f"CREATE TABLE IF NOT EXISTS scr_findings ({FINDINGS_COLUMNS})")
        self.next_id = 1

    def add_file(self, name: str, rows: list[dict], errors: dict[int, list[str]] | None = None):
        """Rows are source rows 1..n; ``errors``: source_row -> error rule_ids (quarantine)."""
        fid, self.next_id = self.next_id, self.next_id + 1
        self.con.execute(
            "INSERT INTO ingested_files (file_id, extract_type, source_file, content_sha256, "
            "ingested_at, state, landed_seq) VALUES (?, 'scr_extract', ?, ?, ?, 'active', ?)",
            [fid, name, f"sha-{fid}", INGESTED, fid],
        )
        cols = list(SCR.columns)
        for n, r in enumerate(rows, start=1):
            self.con.execute(
                f"INSERT INTO raw_scr_versions (file_id, source_file, source_row, ingested_at, "
                f"{', '.join(cols)}) VALUES (?, ?, ?, ?, {', '.join('?' * len(cols))})",
                [fid, name, n, INGESTED, *[r[c] or None for c in cols]],
            )
        for n, rules in (errors or {}).items():
            for rule in rules:
                self.con.execute(
                    "INSERT INTO scr_findings (file_id, source_file, source_row, rule_id, severity)"
                    " VALUES (?, ?, ?, ?, 'error')",
                    [fid, name, n, rule],
                )
        return fid

    def current(self) -> dict[str, dict]:
        build_current(self.con)
        rel = self.con.sql("SELECT * FROM scr_current")
        return {r["scr_id"]: r for r in rel.to_arrow_table().to_pylist()}

    def close(self) -> None:
        self._cm.__exit__(None, None, None)


@pytest.fixture
def wh(tmp_path):
    w = Warehouse(tmp_path / "w.duckdb")
    yield w
    w.close()


# --- the current record ------------------------------------------------------------------------
def test_current_record_tie_breaks(wh):
    """Kills every item of the ranking's ORDER BY: `last_modified_ts DESC` -> ASC, `NULLS
    FIRST` -> LAST, `source_file DESC` -> ASC, `file_id DESC` -> ASC, `source_row DESC` -> ASC
    (and dropping any of them), and dropping `PARTITION BY scr_id` / `rn = 1` -> `rn <> 1`."""
    same = "2023-12-01T12:00:00"
    wh.add_file(
        "b.csv",
        [
            row("LATE", modified="", last_modified_at="2023-12-02T12:00:00"),  # 1: later time wins
            row("NAME", field_office="SAC b"),  # 2: same time in a.csv; b.csv is the later name
            row("ROW", field_office="SAC row 3", last_modified_at=same),  # 3: loses to row 4
            row("ROW", field_office="SAC row 4", last_modified_at=same),  # 4: later row wins
            row("NULL", last_modified_at="yesterday"),  # 5: undatable sorts as the latest
            row("INGEST", field_office="SAC first ingest", last_modified_at=same),  # 6
        ],
    )
    # a.csv is ingested after b.csv (higher file_id) but its name sorts first
    wh.add_file(
        "a.csv",
        [
            row("LATE", last_modified_at="2023-12-01T12:00:00", field_office="SAC early"),
            row("NAME", field_office="SAC a"),
            row("NULL", last_modified_at="2023-12-09T12:00:00", field_office="SAC dated"),
        ],
    )
    # the same file name ingested again (a later ingest of b.csv; both active here): file_id
    # decides between the two ingests of one name
    wh.add_file("b.csv", [row("INGEST", field_office="SAC second ingest", last_modified_at=same)])
    cur = wh.current()
    assert cur["LATE"]["last_modified_at"] == dt.datetime(2023, 12, 2, 12, 0)
    assert cur["LATE"]["versions"] == 2
    assert cur["NAME"]["field_office"] == "SAC b"  # same time: later file name
    assert cur["ROW"]["field_office"] == "SAC row 4" and cur["ROW"]["source_row"] == 4
    assert cur["ROW"]["versions"] == 2
    assert cur["NULL"]["last_modified_at"] is None and cur["NULL"]["source_file"] == "b.csv"
    assert cur["INGEST"]["field_office"] == "SAC second ingest"  # same name and time: later ingest
    assert cur["INGEST"]["versions"] == 2
    assert sorted(cur) == ["INGEST", "LATE", "NAME", "NULL", "ROW"]
    assert {k: v["versions"] for k, v in cur.items()} == {
        "INGEST": 2, "LATE": 2, "NAME": 2, "NULL": 2, "ROW": 2,
    }  # fmt: skip


def test_ids_are_trimmed_and_upper_cased_and_a_missing_id_is_no_record(wh):
    """Kills dropping `WHERE scr_id IS NOT NULL` (a row without an id would become a record)."""
    wh.add_file("a.csv", [row("ab-1"), row(" AB-1 ", field_office="SAC later row"), row("")])
    cur = wh.current()
    assert list(cur) == ["AB-1"]
    assert cur["AB-1"]["field_office"] == "SAC later row" and cur["AB-1"]["versions"] == 2


def test_quarantine_uses_error_findings_of_the_current_version_only(wh):
    """Kills dropping `WHERE severity = 'error'` / `severity <> 'error'` and reversing the
    `ORDER BY rule_id` of the quarantine rule list."""
    fid = wh.add_file("a.csv", [row("Q1"), row("W1"), row("OLD"), row("OLD", field_office="x")])
    wh.con.execute(
        "INSERT INTO scr_findings (file_id, source_row, rule_id, severity) VALUES "
        "(?, 1, 'scr.b_rule', 'error'), (?, 1, 'scr.a_rule', 'error'), (?, 2, 'scr.w', 'warning'),"
        " (?, 3, 'scr.old', 'error')",
        [fid] * 4,
    )
    cur = wh.current()
    assert cur["Q1"]["quarantined"] is True
    assert cur["Q1"]["quarantine_rules"] == "scr.a_rule, scr.b_rule"
    assert (cur["Q1"]["determination"], cur["Q1"]["counted"]) == (None, False)
    assert cur["W1"]["quarantined"] is False and cur["W1"]["counted"] is True
    # an error on an older version does not quarantine the current one (row 4 wins)
    assert cur["OLD"]["quarantined"] is False and cur["OLD"]["counted"] is True


def test_counted_needs_no_quarantine_approved_status_and_an_approval_date(wh):
    """Kills each dropped conjunct and AND -> OR of `counted`, and `status = 'APPROVED'` -> <>.

    `APPROVED` without a date and `PENDING` with one are also errors in the rules (so those rows
    are quarantined in a real refresh); here no finding is added, so `counted` alone must hold."""
    wh.add_file(
        "a.csv",
        [
            row("OK"),
            row("NODATE", status="APPROVED", approved_date=""),
            row("PENDING", status="PENDING"),
            row("QUAR"),
        ],
        errors={4: ["scr.scr_type.enum"]},
    )
    cur = wh.current()
    assert {k: v["counted"] for k, v in cur.items()} == {
        "OK": True, "NODATE": False, "PENDING": False, "QUAR": False,
    }  # fmt: skip
    assert (cur["OK"]["fiscal_year"], cur["OK"]["fiscal_quarter"]) == (2024, 1)
    assert cur["NODATE"]["fiscal_year"] is None


def test_an_approval_date_outside_the_program_has_no_quarter(wh):
    """Kills AND -> OR, each dropped side and `>=` -> `>` / `<=` -> `<` of the program window
    (`IN_PROGRAM_SQL`) in both fiscal columns: an approval before 2010-10-01 or after the day
    after the file's ingest (2024-06-01 UTC: 2024-06-02 Eastern) falls in no quarter; the first
    and the last day do. No finding is added here, so the window alone decides."""
    wh.add_file(
        "a.csv",
        [row("EARLY", approved="2010-09-30"), row("FIRST", approved="2010-10-01"),
         row("LAST", approved="2024-06-02"), row("LATE", approved="2024-06-03")],
    )  # fmt: skip
    cur = wh.current()
    assert {k: (v["fiscal_year"], v["fiscal_quarter"]) for k, v in cur.items()} == {
        "EARLY": (None, None), "FIRST": (2011, 1), "LAST": (2024, 3), "LATE": (None, None),
    }  # fmt: skip


# (subject_count, countries, checkbox) -> determination, non-TCO reason, indicator conflict.
# The definition: TCO when >= 2 subjects and a country other than US; the checkbox 'N' wins;
# without testable data (count or countries missing) the checkbox 'Y' says TCO, none UNDETERMINED.
DETERMINATIONS = {
    "T2": (("2", "MX", ""), "TCO", None, False),  # exactly 2 subjects: association
    "T3": (("3", "US;MX", "Y"), "TCO", None, False),
    "NA": (("1", "US;MX", ""), "NON_TCO", "no_association", False),
    "NB": (("2", "US", ""), "NON_TCO", "no_border_crossing", False),  # US only: no crossing
    "NBOTH": (("1", "US", ""), "NON_TCO", "both", False),
    "NCHK": (("5", "US;PH", "N"), "NON_TCO", "indicator_no", True),  # data says TCO: conflict
    "NCHK2": (("1", "US", "N"), "NON_TCO", "indicator_no", False),  # agrees
    "YCONF": (("1", "MX", "Y"), "NON_TCO", "no_association", True),  # checkbox Y, data says no
    "YNOC": (("", "MX", "Y"), "TCO", None, False),  # no subject count: not testable
    "YNOS": (("4", "", "Y"), "TCO", None, False),  # no countries: not testable
    "UNDET": (("", "", ""), "UNDETERMINED", None, False),
    "UNOC": (("3", "", ""), "UNDETERMINED", None, False),
    # one subject and no countries: not testable, so the checkbox decides and no reason is
    # given (the data cannot show a border crossing); no conflict either
    "YONE": (("1", "", "Y"), "TCO", None, False),
    "UONE": (("1", "", ""), "UNDETERMINED", None, False),
    # checkbox Y, association but no border crossing: NON_TCO by the data, a conflict
    "YUS": (("2", "US", "Y"), "NON_TCO", "no_border_crossing", True),
}


def test_determination_reason_and_conflict_matrix(wh):
    """Kills the determination, non-TCO reason and indicator-conflict mutants: `>= 2` -> `> 2`,
    `> 0` -> `>= 0`, `c <> 'US'` -> `=`, `tco_involvement = 'N'/'Y'` -> `<>`, the dropped
    conjuncts of `definition_testable`, `association AND international` (-> OR / one side), the
    reason CASE and every conjunct of `indicator_conflict` (`<>` -> `=` included)."""
    rows = [
        row(k, subject_count=s, countries=c, tco_involvement=t)
        for k, ((s, c, t), *_) in DETERMINATIONS.items()
    ]
    rows.append(row("QCONF", subject_count="1", countries="MX", tco_involvement="Y"))
    wh.add_file("a.csv", rows, errors={len(rows): ["scr.scr_type.enum"]})
    cur = wh.current()
    for k, (_, det, reason, conflict) in DETERMINATIONS.items():
        got = (cur[k]["determination"], cur[k]["non_tco_reason"], cur[k]["indicator_conflict"])
        assert got == (det, reason, conflict), k
    assert cur["T2"]["association"] is True and cur["NA"]["association"] is False
    assert cur["NB"]["international"] is False and cur["T2"]["international"] is True
    # quarantined: no determination, no reason, and never a conflict (it is not counted)
    q = cur["QCONF"]
    assert (q["determination"], q["non_tco_reason"], q["indicator_conflict"]) == (None, None, False)


def test_partial_rebuild_replaces_only_the_touched_scrs(wh):
    """Kills dropping the `$partial` filter (`WHERE NOT $partial OR scr_id IN __affected`) and
    OR -> AND in it: a second file touching one SCR rebuilds that SCR only, once."""
    wh.add_file("a.csv", [row("P1"), row("P2"), row("P3")])
    first = wh.current()
    assert sorted(first) == ["P1", "P2", "P3"]
    wh.add_file("b.csv", [row("p2", field_office="SAC corrected", last_modified_at="2024-01-01")])
    cur = wh.current()
    assert wh.con.sql("SELECT count(*) FROM scr_current").fetchall()[0][0] == 3
    assert cur["P2"]["field_office"] == "SAC corrected" and cur["P2"]["versions"] == 2
    assert cur["P1"]["field_office"] == "SAC Houston" and cur["P1"]["versions"] == 1


def test_a_correction_with_a_padded_id_is_rebuilt_in_a_partial_rebuild(wh):
    """Versions with the same id after trimming and upper-casing are one SCR (contract), in a
    partial rebuild too: the second file's rows, written ' p2' (a space, ord 32, on the left)
    and 'p3 ' (on the right), are found among the candidates by their trimmed id. Kills the
    trim's fast path in the `$partial` filter (`ord(scr_id) > 32 AND ord(reverse(scr_id)) >
    32`): `>` -> `>=` on either side, AND -> OR and dropping either side; each would keep the
    padded row out, so the SCR would be rebuilt from its first version alone (versions 1)."""
    wh.add_file("a.csv", [row("P1"), row("P2"), row("P3")])
    assert sorted(wh.current()) == ["P1", "P2", "P3"]
    later = {"field_office": "SAC corrected", "last_modified_at": "2024-01-01"}
    wh.add_file("b.csv", [row(" p2", **later), row("p3 ", **later)])
    cur = wh.current()
    assert sorted(cur) == ["P1", "P2", "P3"]
    got = {k: (v["field_office"], v["versions"], v["source_file"]) for k, v in cur.items()}
    assert got == {
        "P1": ("SAC Houston", 1, "a.csv"),
        "P2": ("SAC corrected", 2, "b.csv"),
        "P3": ("SAC corrected", 2, "b.csv"),
    }


# --- the typed view: values as written for the cleaning warnings ------------------------------
def test_typed_view_keeps_the_value_as_written_only_where_cleaning_changed_it(wh):
    """Kills `trimmed <> col` -> `=` in every `<col>__untrimmed` and `upper(v) <> v` -> `=` in
    the identity `__cased` columns (they feed the whitespace and case warnings)."""
    cols = list(SCR.columns)
    # every column has a value, the optional ones too, so every `__untrimmed` is exercised
    full = row("pad-1", subcategory="Sub", tco_involvement="Y", subject_count="3", countries="US")
    assert all(full[c] for c in cols)
    padded = {c: f" {v}\t" for c, v in full.items()}
    clean = row("CLEAN-1")
    wh.add_file("a.csv", [padded, clean])
    wh.con.execute(scr_extract.TYPED_VIEW_SQL)
    got = {
        r["source_row"]: r
        for r in wh.con.sql("SELECT * FROM scr_versions").to_arrow_table().to_pylist()
    }
    for c in cols:
        if padded[c]:
            assert got[1][c + "__untrimmed"] == padded[c], c
        assert got[2][c + "__untrimmed"] is None, c
    assert got[1]["scr_id"] == "PAD-1" and got[1]["scr_id__cased"] == "pad-1"
    assert got[1]["case_number__cased"] == "C-pad-1"
    assert got[2]["scr_id__cased"] is None and got[2]["case_number__cased"] is None


# --- quarterly and category rows ---------------------------------------------------------------
# FY2023 Q1 (Oct-Dec 2022): I1 INITIAL TCO, D1 DISRUPTION TCO (Gangs).
# FY2024 Q1 (Oct-Dec 2023): D2 DISRUPTION NON_TCO both (Cyber), D3 DISMANTLEMENT UNDETERMINED
#   (Gangs), no INITIAL; QX DISRUPTION quarantined.
# FY2024 Q2 (Jan-Mar 2024): I2 INITIAL TCO, I3 INITIAL NON_TCO, D4 DISMANTLEMENT TCO (Cyber).
# FY2024 Q3 (Apr-Jun 2024): only QY, a quarantined DISRUPTION: no measure row at all.
MEASURE_ROWS = [
    row("I1", "INITIAL", "2022-11-01", **TCO),
    row("D1", "DISRUPTION", "2022-12-01", **TCO),
    row(
        "D2", "DISRUPTION", "2023-10-15", subject_count="1", countries="US", criminal_category=CYBER
    ),
    row("D3", "DISMANTLEMENT", "2023-11-15"),
    row("QX", "DISRUPTION", "2023-11-20", **TCO),
    row("I2", "INITIAL", "2024-01-10", **TCO),
    row("I3", "INITIAL", "2024-02-10", subject_count="1", countries="US"),
    row("D4", "DISMANTLEMENT", "2024-03-10", criminal_category=CYBER, **TCO),
    row("QY", "DISRUPTION", "2024-04-10", **TCO),
]


@pytest.fixture
def measured(wh):
    wh.add_file("a.csv", MEASURE_ROWS, errors={5: ["scr.x"], 9: ["scr.x"]})
    build_current(wh.con)
    return wh


QUARTER_COLS = ("initial_approved", "disruptions", "dismantlements", "dd_total", "dd_tco",
                "dd_non_tco", "dd_undetermined", "initial_tco", "fytd_initial_approved",
                "fytd_dd_total", "fytd_dd_tco", "fytd_initial_tco", "pct_all", "pct_tco")  # fmt: skip


def test_quarter_rows_by_hand(measured):
    """Kills the quarterly FILTER/comparison mutants, the FYTD window's PARTITION BY (FY2023 Q1
    and FY2024 Q1 are both quarter 1) and ORDER, and `> 0` -> `>= 0` of both percents (FY2024 Q1
    has no INITIAL: the percent is NULL, not a division by zero)."""
    rows = {
        (r["fiscal_year"], r["fiscal_quarter"]): tuple(r[c] for c in QUARTER_COLS)
        for r in quarter_rows(measured.con).to_pylist()
    }
    assert rows == {
        # init dis dism dd tco non und itco | fytd: init dd tco itco | pct_all pct_tco
        (2023, 1): (1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1.0, 1.0),
        (2024, 1): (0, 1, 1, 2, 0, 1, 1, 0, 0, 2, 0, 0, None, None),
        (2024, 2): (2, 0, 1, 1, 1, 0, 0, 1, 2, 3, 1, 1, 1.5, 1.0),
    }
    only = quarter_rows(measured.con, [2024]).to_pylist()
    assert [(r["fiscal_year"], r["fiscal_quarter"]) for r in only] == [(2024, 1), (2024, 2)]
    # the rows come in calendar order (the statement's ORDER BY; kills ASC -> DESC of each key)
    every = quarter_rows(measured.con).to_pylist()
    assert [(r["fiscal_year"], r["fiscal_quarter"]) for r in every] == [
        (2023, 1),
        (2024, 1),
        (2024, 2),
    ]


CAT_COLS = ("dd_total", "dd_tco", "dd_non_tco", "no_association", "no_border_crossing", "both",
            "indicator_no", "dd_undetermined")  # fmt: skip


def test_category_rows_by_hand(measured):
    """Kills the category join conjuncts (quarter 1 of two fiscal years), the `counted`/`is_dd`
    filters of both CTEs (FY2024 Q3 holds only a quarantined SCR: no rows) and the FILTERs."""
    rows = category_rows(measured.con).to_pylist()
    got = {
        (r["fiscal_year"], r["fiscal_quarter"], r["criminal_category"]): tuple(
            r[c] for c in CAT_COLS
        )
        for r in rows
    }
    assert sorted({k[:2] for k in got}) == [(2023, 1), (2024, 1), (2024, 2)]
    assert len(got) == 3 * 8
    nonzero = {k: v for k, v in got.items() if any(v)}
    assert nonzero == {
        (2023, 1, GANGS): (1, 1, 0, 0, 0, 0, 0, 0),
        (2024, 1, CYBER): (1, 0, 1, 0, 0, 1, 0, 0),
        (2024, 1, GANGS): (1, 0, 0, 0, 0, 0, 0, 1),
        (2024, 2, CYBER): (1, 1, 0, 0, 0, 0, 0, 0),
    }
    assert {r["fiscal_year"] for r in category_rows(measured.con, [2023]).to_pylist()} == {2023}
    # in calendar order, then by category name (the statement's ORDER BY; kills ASC -> DESC of
    # each key): the 8 categories of FY2023 Q1, of FY2024 Q1, of FY2024 Q2
    names = [  # the 8 of schemas/reference/criminal_categories.csv, by name
        "Counter-Proliferation", CYBER, "Illicit Trade, Travel, and Finance (Drug-Related)",
        "Illicit Trade, Travel, and Finance (Non-Drug-Related)", NATSEC,
        "Transnational Crimes Against Children", GANGS, "Worksite Enforcement/Labor Exploitation",
    ]  # fmt: skip
    order = [(r["fiscal_year"], r["fiscal_quarter"], r["criminal_category"]) for r in rows]
    assert order == [(fy, fq, c) for fy, fq in ((2023, 1), (2024, 1), (2024, 2)) for c in names]


# --- the changed-quarter plan --------------------------------------------------------------------
def _stored(con) -> None:
    """Store the measures and the determinations as a refresh would have published them."""
    ensure_tables(con)
    con.register("__q", quarter_rows(con))
    con.register("__c", category_rows(con))
    con.execute("DELETE FROM quarterly_measures")
    con.execute("DELETE FROM category_measures")
    con.execute("INSERT INTO quarterly_measures SELECT * FROM __q")
    con.execute("INSERT INTO category_measures SELECT * FROM __c")
    replace_quarters(con, ["FY2023-Q1", "FY2024-Q1", "FY2024-Q2", "FY2024-Q3"])


ALL = ["FY2023-Q1", "FY2024-Q1", "FY2024-Q2", "FY2024-Q3"]  # Q3: QY's determination (quarantined)


def test_changed_quarter_keys_compares_both_tables_both_ways(measured):
    """With the determinations in step, only the measure comparison decides. Kills dropping
    the category comparison, the quarterly comparison, either EXCEPT direction of either table,
    and the stored side of the present keys."""
    con = measured.con
    _stored(con)
    assert changed_quarter_keys(con) == (ALL, [])
    # a stale category row only (the quarterly rows agree)
    con.execute(
        "UPDATE category_measures SET dd_tco = dd_tco + 1 WHERE fiscal_year = 2023 AND "
        "criminal_category = ?",
        [GANGS],
    )
    assert changed_quarter_keys(con) == (ALL, ["FY2023-Q1"])
    _stored(con)
    # a stale quarterly row only
    con.execute("UPDATE quarterly_measures SET initial_approved = 9 WHERE fiscal_quarter = 2")
    assert changed_quarter_keys(con) == (ALL, ["FY2024-Q2"])
    _stored(con)
    # a quarter missing from the stored quarterly table only (new rows not yet stored)
    con.execute("DELETE FROM quarterly_measures WHERE fiscal_year = 2023")
    assert changed_quarter_keys(con) == (ALL, ["FY2023-Q1"])
    _stored(con)
    # a quarter missing from the stored category table only
    con.execute("DELETE FROM category_measures WHERE fiscal_year = 2024 AND fiscal_quarter = 1")
    assert changed_quarter_keys(con) == (ALL, ["FY2024-Q1"])
    _stored(con)
    # a stored quarterly row for a quarter that has nothing now: present (to be cleared), changed
    con.execute(
        "INSERT INTO quarterly_measures SELECT * REPLACE (2020 AS fiscal_year) FROM "
        "quarterly_measures WHERE fiscal_year = 2023"
    )
    assert changed_quarter_keys(con) == (["FY2020-Q1", *ALL], ["FY2020-Q1"])
    _stored(con)
    # a stored category row for a quarter that has nothing now
    con.execute(
        "INSERT INTO category_measures SELECT * REPLACE (2021 AS fiscal_year) FROM "
        "category_measures WHERE fiscal_year = 2023"
    )
    assert changed_quarter_keys(con)[1] == ["FY2021-Q1"]


# --- the annual measure -------------------------------------------------------------------------
def _annual(con, targets: str, tmp_path: Path) -> dict[int, dict]:
    path = tmp_path / "targets.csv"
    path.write_text(targets)
    rows = con.sql(annual.ANNUAL_SQL, params={"targets": str(path)}).to_arrow_table().to_pylist()
    return {r["fiscal_year"]: r for r in rows}, [r["fiscal_year"] for r in rows]


def test_annual_measure_by_hand(wh, tmp_path):
    """Kills `>= target` -> `>` (a result exactly on target meets it), `<= 2020` -> `< 2020`
    (FY2020 without a target row is a percent year), the target join `=` -> `<>`, the measure
    type comparisons, `> 0` -> `>= 0` (no INITIAL: no percent), and ASC -> DESC of the years."""
    build_current(wh.con)  # an empty scr_current: the measure tables are made from it
    ensure_tables(wh.con)
    q = [  # (fy, q, initial_approved, dd_total, dd_tco, initial_tco)
        (2019, 1, 4, 2, 1, 2),  # percent: 2/4 = 0.5 (target 0.5: met), TCO 1/2 = 0.5
        (2019, 2, 0, 0, 0, 0),
        (2020, 1, 0, 3, 1, 0),  # percent (no target row): no INITIAL -> NULL results
        (2022, 1, 5, 7, 3, 1),  # count: 7 and 3 (target 7: met by old, not by TCO)
    ]
    for fy, fq, ia, dd, tco, itco in q:
        wh.con.execute(
            "INSERT INTO quarterly_measures (fiscal_year, fiscal_quarter, initial_approved, "
            "dd_total, dd_tco, initial_tco) VALUES (?, ?, ?, ?, ?, ?)",
            [fy, fq, ia, dd, tco, itco],
        )
    got, order = _annual(
        wh.con,
        "fiscal_year,measure_type,target,reported_result\n2019,percent,0.5,0.4\n2022,count,7,6\n",
        tmp_path,
    )
    assert order == [2019, 2020, 2022]
    a = got[2019]
    assert (a["measure_type"], a["target"], a["reported_result"]) == ("percent", 0.5, 0.4)
    assert (a["quarters_reported"], a["initial_approved"], a["dd_total"]) == (2, 4, 2)
    assert (a["result_old_method"], a["result_tco_validated"]) == (0.5, 0.5)
    assert (a["met_target_old_method"], a["met_target_tco_validated"]) == (True, True)
    b = got[2020]
    assert (b["measure_type"], b["target"]) == ("percent", None)
    assert (b["result_old_method"], b["result_tco_validated"]) == (None, None)
    assert (b["met_target_old_method"], b["met_target_tco_validated"]) == (None, None)
    c = got[2022]
    assert (c["measure_type"], c["target"], c["reported_result"]) == ("count", 7.0, 6.0)
    assert (c["result_old_method"], c["result_tco_validated"]) == (7.0, 3.0)
    assert (c["met_target_old_method"], c["met_target_tco_validated"]) == (True, False)
