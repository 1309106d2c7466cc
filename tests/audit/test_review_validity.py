"""The latest *valid* review stands (issue 28, item 7), end to end: a hand-written FY2024 extract
of six cases, all six drawn, reviewed once (valid), then a second review file as the issue
reproduced it: ``yes``, ``y``, a blank prong, a US date ``12/07/2026`` (Excel on a US locale)
and a case not in any sample. Before the fix the refresh said nothing about reviews and the
three cases with a bad later review became "not reviewed".

    case  first file (2026-11-20)   second file (case_reviews_2026-12-01.csv, data row)
    R1    Y, Y   TCO                row 1: association 'yes'             -> finding, R1 stays TCO
    R2    Y, Y   TCO                row 2: border 'y'                    -> finding, R2 stays TCO
    R3    N, Y   NOT_TCO            row 3: association blank             -> finding, R3 stays NOT_TCO
    R4    Y, Y   TCO                row 4: '12/07/2026', N, N (valid)    -> R4 NOT_TCO, 2026-12-07
    R5    Y, N   NOT_TCO            (none)
    R6    Y, Y   TCO                (none)
    NOPE  -                         row 5: not in a sample               -> finding
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from support.extracts import GANGS, scr, write_csv

from pipelines.cli.main import main

T = {"subjects": "3", "countries": "US;MX"}
SCRS = [scr(f"S{i}", f"R{i}", "DISRUPTION", GANGS, f"2024-0{i}-02", **T) for i in range(1, 7)]
# SCR findings for the summary line: an error (S7, quarantined, its case never counted), an
# indicator conflict (S8: box N, both prongs met) and a whitespace warning (S5's field office)
SCRS += [
    scr("S7", "R7", "DISRUPTION", "Not a category", "2024-07-02", **T),
    scr("S8", "R6", "INITIAL", GANGS, "2024-07-03", created="2023-08-01T09:00:00", tco="N", **T),
]
SCRS[4]["field_office"] = " SAC Houston"
REVIEW_COLUMNS = [
    "case_number", "reviewed_on", "association_of_individuals", "crosses_international_border",
    "notes",
]  # fmt: skip
FIRST = {"R1": "YY", "R2": "YY", "R3": "NY", "R4": "YY", "R5": "YN", "R6": "YY"}
SECOND_FILE = "case_reviews_2026-12-01.csv"
SECOND = [
    ("R1", "2026-12-01", "yes", "Y"),
    ("R2", "2026-12-01", "Y", "y"),
    ("R3", "2026-12-01", "", "Y"),
    ("R4", "12/07/2026", "N", "N"),
    ("NOPE", "2026-12-01", "Y", "Y"),
]


def _rows(items) -> list[dict[str, str]]:
    return [
        dict(zip(REVIEW_COLUMNS, (case, day, a, b, ""), strict=True)) for case, day, a, b in items
    ]


@pytest.fixture(scope="module")
def site(module_project):
    p = module_project
    write_csv(p.landing / "scr_extract_2024-10-15.csv", SCRS)
    p.refresh()
    with pytest.raises(SystemExit) as exc:
        main(["audit", "draw", "--fiscal-years", "2024", "--size", "6", "--seed", "3", "--json"])
    assert exc.value.code == 0
    first = [(c, "2026-11-20", ab[0], ab[1]) for c, ab in FIRST.items()]
    write_csv(p.landing / "case_reviews_2026-11-20.csv", _rows(first), REVIEW_COLUMNS)
    p.refresh()
    before = dict(p.query("SELECT case_number, analyst_verdict FROM case_review_current"))
    p.messages.clear()
    write_csv(p.landing / SECOND_FILE, _rows(SECOND), REVIEW_COLUMNS)
    p.refresh()
    return p, before


def test_the_first_reviews_give_six_verdicts(site):
    _, before = site
    assert before == {
        "R1": "TCO", "R2": "TCO", "R3": "NOT_TCO", "R4": "TCO", "R5": "NOT_TCO", "R6": "TCO",
    }  # fmt: skip


def test_a_bad_later_review_leaves_the_valid_one_in_force(site):
    p, _ = site
    got = p.query(
        "SELECT case_number, status, analyst_verdict, reviewed_on, source_file, rejected, "
        "rejected_rules FROM case_review_current ORDER BY case_number"
    )
    first = "case_reviews_2026-11-20.csv"
    assert got == [
        ("NOPE", "rejected", None, dt.date(2026, 12, 1), SECOND_FILE, True,
         "cr.case_number.in_sample"),
        ("R1", "reviewed", "TCO", dt.date(2026, 11, 20), first, False,
         "cr.association_of_individuals.enum"),
        ("R2", "reviewed", "TCO", dt.date(2026, 11, 20), first, False,
         "cr.crosses_international_border.enum"),
        ("R3", "reviewed", "NOT_TCO", dt.date(2026, 11, 20), first, False,
         "cr.association_of_individuals.required"),
        ("R4", "reviewed", "NOT_TCO", dt.date(2026, 12, 7), SECOND_FILE, False, None),
        ("R5", "reviewed", "NOT_TCO", dt.date(2026, 11, 20), first, False, None),
        ("R6", "reviewed", "TCO", dt.date(2026, 11, 20), first, False, None),
    ]  # fmt: skip
    # the estimate still sees all six cases (before the fix: three)
    assert p.read_output("SELECT reviewed_cases FROM '{out}/measure_estimates.parquet'") == [(6,)]


def test_each_bad_row_is_a_finding_naming_file_row_column_and_why(site):
    p, _ = site
    got = p.read_output(
        "SELECT source_file, source_row, column_name, rule_id, message "
        "FROM '{out}/validation_findings.parquet' WHERE extract_type = 'case_reviews' "
        "ORDER BY source_row"
    )
    assert [g[:4] for g in got] == [
        (SECOND_FILE, 1, "association_of_individuals", "cr.association_of_individuals.enum"),
        (SECOND_FILE, 2, "crosses_international_border", "cr.crosses_international_border.enum"),
        (SECOND_FILE, 3, "association_of_individuals", "cr.association_of_individuals.required"),
        (SECOND_FILE, 5, "case_number", "cr.case_number.in_sample"),
    ]
    assert "Y or N" in got[0][4] and "(got 'yes')" in got[0][4]


def test_the_refresh_summary_counts_review_findings_and_names_the_first(site):
    p, _ = site
    lines = [m for m in p.messages if m.startswith("[reviews]")]
    assert lines == [
        "[reviews] 5 review row(s) checked: 4 errors (each review left out; an earlier valid "
        "review of the case stays in force) and 0 warnings: case_reviews_2026-12-01.csv row 1 "
        "association_of_individuals (cr.association_of_individuals.enum); row 2 "
        "crosses_international_border (cr.crosses_international_border.enum); row 3 "
        "association_of_individuals (cr.association_of_individuals.required); and 1 more in "
        "validation_findings.parquet"
    ]
    (validate,) = [m for m in p.messages if m.startswith("[validate]")]
    assert validate.endswith("SCR findings: 1 errors (quarantined) and 2 warnings")
    # the two lines add up to the report's total (issue 30: 16 new findings against 26)
    page = (p.output / "report" / "index.html").read_text(encoding="utf-8")
    (total,) = re.findall(r"([0-9,]+) finding\(s\)\. Errors quarantine", page)
    assert int(total) == 1 + 2 + 4 + 0
