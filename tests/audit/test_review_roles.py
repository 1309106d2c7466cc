"""Second review, adjudication and unreviewable cases, end to end: ten FY2024 cases (one counted
TCO-determined disruption each), all ten drawn, reviewed in three files, and the real refresh.

File 1 (the old five columns: every review a first review), file 2 (with ``reviewer``,
``review_role``, ``review_outcome``), file 3 (adjudications, a refresh later):

    case  first (file 1)  second (file 2)         status after 2        after file 3
    Q1    Y Y  TCO        Y Y  TCO                reviewed TCO
    Q2    Y Y  TCO        Y Y  TCO                reviewed TCO
    Q3    Y Y  TCO        Y N  NOT_TCO            in_dispute            adjudication Y Y: TCO
    Q4    N N  NOT_TCO    N N  NOT_TCO            reviewed NOT_TCO
    Q5    N Y  NOT_TCO    N N  NOT_TCO            reviewed NOT_TCO (the first stands)
    Q6    Y N  NOT_TCO    Y Y  TCO                in_dispute            still in dispute
    Q7    Y Y  TCO        UNREVIEWABLE with A=Y   reviewed TCO (second is a finding)
    Q8    -               first, UNREVIEWABLE     unreviewable
    Q9    Y Y  TCO        UNREVIEWABLE            in_dispute            adjudication UNREVIEWABLE
    Q10   Y Y  TCO        role 'Second'           reviewed TCO (second is a finding)

Reviewer agreement over the cases with a valid first and second verdict, Q1-Q6 (first, second):
- prong A: Y/Y x4 (Q1 Q2 Q3 Q6), N/N x2 (Q4 Q5): 6 of 6 agree; p_e = (4*4 + 2*2)/36 = 20/36,
  kappa (1 - 20/36)/(1 - 20/36) = 1.
- prong B: Y/Y Q1 Q2, Y/N Q3 Q5, N/Y Q6, N/N Q4: 3 of 6 agree = 0.5; first Y 4, second Y 3:
  p_e = (4*3 + 2*3)/36 = 0.5, kappa 0.
- verdict: T/T Q1 Q2, T/N Q3, N/N Q4 Q5, N/T Q6: 4 of 6; first T 3, second T 3: p_e = 0.5,
  kappa (4/6 - 1/2)/(1/2) = 1/3.
Estimate (N = 10 cases, X = 10 SCRs, one per case): after file 2 the verdicts in force are Q1 Q2
Q4 Q5 Q7 Q10, 4 of them TCO: R = 4/6, 10 R = 6.67 -> 7. After file 3 Q3 joins (TCO): 5/7, 7.14 -> 7.
"""

from __future__ import annotations

import dagster as dg
import pytest
from support.extracts import GANGS, scr, write_csv

from pipelines.cli.main import main

CHECK = dg.AssetCheckKey(dg.AssetKey("case_review_current"), "reviews_in_dispute")
T = {"subjects": "3", "countries": "US;MX"}
SCRS = [scr(f"S{i}", f"Q{i}", "DISRUPTION", GANGS, f"2024-01-{i:02d}", **T) for i in range(1, 11)]
OLD = ["case_number", "reviewed_on", "association_of_individuals", "crosses_international_border",
       "notes"]  # fmt: skip
NEW = [*OLD, "reviewer", "review_role", "review_outcome"]
FIRST = {"Q1": "YY", "Q2": "YY", "Q3": "YY", "Q4": "NN", "Q5": "NY", "Q6": "YN", "Q7": "YY",
         "Q9": "YY", "Q10": "YY"}  # fmt: skip
# case, A, B, reviewer, role, outcome
SECOND = [
    ("Q1", "Y", "Y", "bo", "second", ""),
    ("Q2", "Y", "Y", "bo", "second", "REVIEWED"),
    ("Q3", "Y", "N", "bo", "second", ""),
    ("Q4", "N", "N", "bo", "second", ""),
    ("Q5", "N", "N", "bo", "second", ""),
    ("Q6", "Y", "Y", "bo", "second", ""),
    ("Q7", "Y", "", "bo", "second", "UNREVIEWABLE"),  # a prong on an unreviewable row
    ("Q8", "", "", "ann", "", "UNREVIEWABLE"),  # role empty: a first review
    ("Q9", "", "", "bo", "second", "UNREVIEWABLE"),
    ("Q10", "Y", "Y", "bo", "Second", ""),  # not a role
]
THIRD = [("Q3", "Y", "Y", "cy", "adjudication", ""), ("Q9", "", "", "cy", "adjudication",
          "UNREVIEWABLE")]  # fmt: skip


def _new_rows(items, day: str) -> list[dict[str, str]]:
    return [
        dict(zip(NEW, (c, day, a, b, "", who, role, outcome), strict=True))
        for c, a, b, who, role, outcome in items
    ]


def _state(p) -> dict:
    check = p.instance.event_log_storage.get_latest_asset_check_execution_by_key([CHECK])[CHECK]
    ev = check.evaluation
    return {
        "cases": {
            r[0]: r[1:]
            for r in p.query(
                "SELECT case_number, status, analyst_verdict, review_role, failed_prong "
                "FROM case_review_current"
            )
        },
        "check": (ev.passed, ev.severity.value, ev.metadata["in_dispute"].value),
        "estimate": p.read_output(
            "SELECT reviewed_cases, estimate FROM '{out}/measure_estimates.parquet'"
        ),
        "disputes": p.query(
            "SELECT case_number, first_verdict, second_verdict FROM case_review_disputes "
            "ORDER BY case_number"
        ),
        "agreement": p.read_output(
            "SELECT sample_id, item, cases, agree, agreement, kappa "
            "FROM '{out}/reviewer_agreement.parquet'"
        ),
        "vv": p.query("SELECT element_c FROM vv_statement WHERE fiscal_year = 2024")[0][0],
        "messages": list(p.messages),
    }


@pytest.fixture(scope="module")
def site(module_project):
    p = module_project
    write_csv(p.landing / "scr_extract_2024-10-15.csv", SCRS)
    p.refresh()
    with pytest.raises(SystemExit) as exc:
        main(["audit", "draw", "--fiscal-years", "2024", "--size", "10", "--seed", "2", "--json"])
    assert exc.value.code == 0
    first = [dict(zip(OLD, (c, "2026-11-02", ab[0], ab[1], ""), strict=True))
             for c, ab in FIRST.items()]  # fmt: skip
    write_csv(p.landing / "case_reviews_2026-11-02.csv", first, OLD)
    write_csv(p.landing / "case_reviews_2026-11-09.csv", _new_rows(SECOND, "2026-11-09"), NEW)
    p.messages.clear()
    p.refresh()
    after_second = _state(p)
    p.messages.clear()
    write_csv(p.landing / "case_reviews_2026-11-16.csv", _new_rows(THIRD, "2026-11-16"), NEW)
    p.refresh()
    return after_second, _state(p), p


def test_statuses_after_first_and_second_reviews(site):
    s, _, _ = site
    assert s["cases"] == {
        "Q1": ("reviewed", "TCO", "first", None),
        "Q2": ("reviewed", "TCO", "first", None),
        "Q3": ("in_dispute", None, "first", None),
        "Q4": ("reviewed", "NOT_TCO", "first", "both"),
        "Q5": ("reviewed", "NOT_TCO", "first", "no_association"),
        "Q6": ("in_dispute", None, "first", None),
        "Q7": ("reviewed", "TCO", "first", None),
        "Q8": ("unreviewable", None, "first", None),
        "Q9": ("in_dispute", None, "first", None),
        "Q10": ("reviewed", "TCO", "first", None),
    }
    assert s["disputes"] == [
        ("Q3", "TCO", "NOT_TCO"), ("Q6", "NOT_TCO", "TCO"), ("Q9", "TCO", "UNREVIEWABLE"),
    ]  # fmt: skip
    assert s["check"] == (False, "WARN", 3)
    assert s["estimate"] == [(6, 7)]


def test_bad_roles_and_prongs_on_unreviewable_rows_are_findings(site):
    _, _, p = site
    got = p.read_output(
        "SELECT case_number, source_row, column_name, rule_id FROM "
        "'{out}/validation_findings.parquet' WHERE extract_type = 'case_reviews' ORDER BY ALL"
    )
    assert got == [
        ("Q10", 10, "review_role", "cr.review_role.enum"),
        ("Q7", 7, "review_outcome", "cr.review_outcome.unreviewable_prongs"),
    ]


def test_reviewer_agreement_worked_by_hand(site):
    s, after, _ = site
    expected = [
        (1, "association_of_individuals", 6, 6, 1.0, 1.0),
        (1, "crosses_international_border", 6, 3, 0.5, 0.0),
        (1, "verdict", 6, 4, 4 / 6, 1 / 3),
    ]
    for got in (s["agreement"], after["agreement"]):  # an adjudication does not change it
        assert [g[:4] for g in got] == [e[:4] for e in expected]
        assert [g[4:] for g in got] == [pytest.approx(e[4:], abs=1e-12) for e in expected]


def test_vv_element_c_gives_the_reviewers_agreement(site):
    s, after, _ = site
    said = (
        "A second analyst independently reviewed 6 of the sampled cases: the two reviews agreed "
        "on the verdict for 4 (67%, Cohen's kappa 0.33), on the association of individuals for "
        "6 (100%) and on the border crossing for 3 (50%)"
    )
    assert (
        said + "; 3 case(s) in dispute are left out of the estimate until adjudicated." in s["vv"]
    )
    assert said + "; 1 case(s) in dispute" in after["vv"]


def test_an_adjudication_settles_the_dispute(site):
    _, after, _ = site
    assert after["cases"]["Q3"] == ("reviewed", "TCO", "adjudication", None)
    assert after["cases"]["Q9"] == ("unreviewable", None, "adjudication", None)
    assert after["cases"]["Q6"] == ("in_dispute", None, "first", None)
    assert after["disputes"] == [("Q6", "NOT_TCO", "TCO")]
    assert after["check"] == (False, "WARN", 1)
    assert after["estimate"] == [(7, 7)]


def test_the_refresh_summary_names_the_review_findings_and_disputes(site):
    s, after, _ = site
    (line,) = [m for m in s["messages"] if m.startswith("[reviews]")]
    assert line == (
        "[reviews] 19 review row(s) checked: 2 errors (each review left out; an earlier valid "
        "review of the case stays in force) and 0 warnings: case_reviews_2026-11-09.csv row 7 "
        "review_outcome (cr.review_outcome.unreviewable_prongs); row 10 review_role "
        "(cr.review_role.enum); 3 case(s) in dispute (first and second reviews disagree) await "
        "an adjudication review"
    )
    (line,) = [m for m in after["messages"] if m.startswith("[reviews]")]
    assert line.startswith("[reviews] 2 review row(s) checked: 2 errors")
    assert line.endswith("; 1 case(s) in dispute (first and second reviews disagree) await an "
                         "adjudication review")  # fmt: skip
