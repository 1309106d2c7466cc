"""The report answers first (issue 30): the headline is the latest quarter and the fiscal year to
date (old and TCO-validated) against target, the accuracy interval when one exists (the row
interfaces.md names), and "data through <date>" only while the quarter is incomplete; every
table's caption says what a row is; the accuracy section is numbered and in plain words.

Hand-worked on tests/support/report.py's extract: the latest quarter is FY2021 Q3 (D4 not a TCO,
D5 undetermined: old 2, TCO 0); FY2021 to date D3 (TCO), D4, D5: old 3, TCO 1; target 366; the
last SCR change is P1's on 2021-07-01, after the quarter's end (2021-06-30): no banner."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.report import refreshed_once

from assets.report import headline
from assets.report.accuracy import AGREEMENT_WORDS, KAPPA_WORDS, accuracy_section
from assets.report.html import esc
from assets.report.sections import header


@pytest.fixture(scope="module")
def page() -> str:
    _, paths = refreshed_once()
    return (paths["output"] / "report" / "index.html").read_text(encoding="utf-8")


def _cards(page: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'<div class="kpi-label">(.*?)</div><div class="kpi-value">(.*?)</div>'
        r'<div class="kpi-note">(.*?)</div>',
        page,
    )


def test_headline_is_the_latest_quarter_and_the_year_to_date_against_target(page):
    cards = _cards(page)
    assert cards[0] == (
        "FY2021 Q3: TCO-validated", "0",
        "old method (every approved disruption or dismantlement) 2",
    )  # fmt: skip
    assert cards[1] == (
        "FY2021 to date: TCO-validated", "1",
        "TCO-validated target 366: 0% of it so far (year not over); old method 3, target 366: "
        "1% of it so far (year not over)",
    )  # fmt: skip
    assert 'id="data-through"' not in page  # P1 changed on 2021-07-01: Q3 is complete
    assert len(cards) == 3  # no reviewed sample: no accuracy card; the quarantine card last


def test_every_table_says_what_a_row_is(page):
    tables = page.count("<table ")
    captions = re.findall(r"<caption>(.*?)</caption>", page)
    assert tables >= 6 and len(captions) == tables
    assert all(c.startswith("One row per ") for c in captions), captions


def test_accuracy_is_a_numbered_section_in_plain_words(page):
    assert '<section id="accuracy"><h2>6. How accurate the TCO determination is</h2>' in page
    assert "No audit sample has been drawn yet" in page
    reviewed = accuracy_section({"agreement": [{"sample_id": 1}], "estimates": []})
    assert esc(AGREEMENT_WORDS) in reviewed and esc(KAPPA_WORDS) in reviewed
    for text in (page, reviewed):
        assert ".md" not in text and "docs/" not in text  # no repository paths


QUARTERS = """
CREATE TABLE quarterly_measures AS SELECT * FROM (VALUES
    (2024, 4, DATE '2024-07-01', DATE '2024-09-30', 10, 375, 161, 200, 14, 1296, 564),
    (2025, 1, DATE '2024-10-01', DATE '2024-12-31', 0, 25, 12, 13, 0, 25, 12),
    (2025, 2, DATE '2025-01-01', DATE '2025-03-31', 0, 4, 2, 2, 0, 29, 14)
) t(fiscal_year, fiscal_quarter, quarter_start, quarter_end, initial_approved, dd_total, dd_tco,
    dd_non_tco, dd_undetermined, fytd_dd_total, fytd_dd_tco)
"""
ANNUAL = """
CREATE TABLE annual_measures AS SELECT * FROM (VALUES
    (2024, 'count', 540.0, 4, true, true), (2025, 'count', 600.0, 2, NULL, NULL)
) t(fiscal_year, measure_type, target, quarters_reported, met_target_old_method,
    met_target_tco_validated)
"""
ESTIMATES = """
CREATE TABLE measure_estimates AS SELECT * FROM (VALUES
    (1, 2023, 500, 450, 400, 500, 0.9, 'ratio', NULL),
    (1, 2024, 564, 588, 407, 768, 0.9, 'ratio', NULL),
    (2, 2024, 564, 570, 545, 596, 0.9, 'stratified', NULL),
    (2, 2024, 100, 90, 80, 99, 0.9, 'stratified', 'Cyber-Enabled Crime')
) t(sample_id, fiscal_year, dd_tco_published, estimate, lower_bound, upper_bound, confidence,
    method, criminal_category)
"""


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute(QUARTERS)
    c.execute(ANNUAL)
    c.execute("CREATE TABLE scr_current AS SELECT TIMESTAMP '2025-01-06 16:50:47' AS last_modified_at")  # fmt: skip
    yield c
    c.close()


def test_a_partial_quarter_says_data_through(con):
    h = headline.gather(con)
    assert (h["fiscal_year"], h["fiscal_quarter"], h["dd_total"], h["dd_tco"]) == (2025, 2, 4, 2)
    assert (h["fytd_dd_total"], h["fytd_dd_tco"], h["target"]) == (29, 14, 600.0)
    assert (h["data_through"], h["quarter_complete"]) == (dt.date(2025, 1, 6), False)
    assert headline.through_text(h) == (
        "data through 2025-01-06: FY2025 Q2 ends 2025-03-31, so its figures are partial"
    )
    assert headline.met_text(h, "tco") == "target 600: 2% of it so far (year not over)"
    top = header({"as_of": {"quarantined": 0, "scrs": 1, "counted": 1, "last_approval": None,
                            "last_change": None}, "headline": h}, dt.datetime(2025, 1, 7))  # fmt: skip
    assert '<p class="through" id="data-through">Data through 2025-01-06: FY2025 Q2' in top
    assert h["estimate"] is None  # no estimates table: no accuracy card


def test_the_estimate_is_the_stratified_overall_row_of_the_latest_year(con):
    con.execute(ESTIMATES)
    est = headline.gather(con)["estimate"]
    assert (est["fiscal_year"], est["method"], est["estimate"]) == (2024, "stratified", 570)
    assert (est["lower_bound"], est["upper_bound"], est["target"]) == (545, 596, 540.0)
    assert est["verdict"] == "met with confidence"  # 545 >= 540
    con.execute("DELETE FROM measure_estimates WHERE method = 'stratified'")
    est = headline.gather(con)["estimate"]
    assert (est["method"], est["estimate"], est["verdict"]) == ("ratio", 588, "cannot be told")


@given(st.integers(0, 2000), st.integers(0, 2000), st.integers(0, 2000) | st.none())
def test_target_verdict_says_met_or_missed_only_when_the_interval_is_on_one_side(a, b, target):
    lower, upper = min(a, b), max(a, b)
    verdict = headline.target_verdict(target, lower, upper)
    if target is None:
        assert verdict == "no target"
    elif lower >= target:
        assert verdict == "met with confidence"
    elif upper < target:
        assert verdict == "missed with confidence"
    else:
        assert lower < target <= upper and verdict == "cannot be told"


def test_the_accuracy_card_shows_published_estimate_interval_and_verdict(con):
    con.execute(ESTIMATES)
    h = headline.gather(con)
    top = header({"as_of": {"quarantined": 0, "scrs": 1, "counted": 1, "last_approval": None,
                            "last_change": None}, "headline": h}, dt.datetime(2025, 1, 7))  # fmt: skip
    cards = _cards(top)
    assert cards[2] == (
        "FY2024 truly TCO-related (estimate)", "570 (545 to 596)",
        "90% interval from the reviewed sample (stratified); published 564; target 540: met "
        "with confidence",
    )  # fmt: skip
