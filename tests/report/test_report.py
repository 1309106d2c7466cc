"""The quarterly report: written by a real refresh, self-contained, numbers right, renders.

Pins down: ``SCR_OUTPUT_DIR/report/index.html`` holds the hand-computed figures of the fixture
(tests/support/report.py) in every section; the annual table equals annual_measures.parquet;
nothing loads from the network; data values are escaped; and headless Chromium renders the page
with non-empty charts (skipped only when no browser binary exists).
"""

import html.parser
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from support.report import refreshed_once

from assets.report.build import gather, render
from assets.report.html import Col, fmt_count, fmt_measure, fmt_money, fmt_pct, table

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class Tables(html.parser.HTMLParser):
    """Every <table id=...>: rows (tbody and tfoot) as {data-col: text}; counts svg children."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.tags: dict[str, int] = {}
        self._table = self._col = None
        self._row: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {}
        elif tag == "td" and self._row is not None:
            self._col = a.get("data-col")
            self._row[self._col] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._col = None
        elif tag == "tr" and self._row:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._col is not None and self._row is not None:
            self._row[self._col] += data


def parse(page: str) -> Tables:
    p = Tables()
    p.feed(page)
    return p


@pytest.fixture(scope="module")
def refreshed() -> dict[str, Path]:
    _, paths = refreshed_once()
    return paths | {"report": paths["output"] / "report" / "index.html"}


def test_report_is_written_atomically_and_self_contained(refreshed):
    page = refreshed["report"].read_text(encoding="utf-8")
    # the V&V statement of each fiscal year sits beside the report (issue 14)
    assert sorted(p.name for p in refreshed["report"].parent.iterdir()) == [
        "history", "index.html", "vv_FY2020.html", "vv_FY2021.html"]  # fmt: skip
    assert page.startswith("<!DOCTYPE html>")
    lowered = page.lower()
    for remote in ("<script", "<link", "<img", "<iframe", "@import", "src="):
        assert remote not in lowered, remote
    assert "url(" not in lowered  # no external resource of any kind
    # the only URLs are the SVG namespaces
    assert {u for u in lowered.split('"') if u.startswith("http")} <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert "<?xml" not in page and "<!doctype svg" not in lowered
    assert page.count("<svg ") == 3
    assert "@media print" in page


def test_annual_table_equals_annual_measures_parquet(refreshed):
    rows = parse(refreshed["report"].read_text(encoding="utf-8")).tables["annual-table"]
    expected = pq.read_table(refreshed["output"] / "annual_measures.parquet").to_pylist()
    assert_annual_rows(rows, expected)


def assert_annual_rows(rows: list[dict], expected: list[dict]) -> None:
    """The page's annual table shows annual_measures row by row, in the measure's unit."""
    assert [r["fiscal_year"] for r in rows] == [f"FY{e['fiscal_year']}" for e in expected]
    for row, e in zip(rows, expected, strict=True):
        unit = e["measure_type"]
        for key in ("target", "reported_result", "result_old_method", "result_tco_validated"):
            assert row[key] == fmt_measure(e[key], unit), (e["fiscal_year"], key)
        for key in ("dd_total", "dd_tco", "initial_approved", "initial_tco"):
            assert int(row[key].replace(",", "")) == e[key], (e["fiscal_year"], key)
        for key in ("met_target_old_method", "met_target_tco_validated"):
            assert row[key] == {True: "met", False: "not met", None: "no target"}[e[key]]


def test_report_shows_the_hand_computed_figures(refreshed):
    t = parse(refreshed["report"].read_text(encoding="utf-8")).tables
    fy2020, fy2021 = t["annual-table"]
    assert (fy2020["result_old_method"], fy2020["result_tco_validated"]) == ("66.7%", "50.0%")
    assert (fy2020["target"], fy2020["met_target_tco_validated"]) == ("16.1%", "met")
    assert (fy2021["result_old_method"], fy2021["result_tco_validated"]) == ("3", "1")
    assert (fy2021["target"], fy2021["met_target_old_method"]) == ("366", "not met")
    quarters = [
        (q["fiscal_year"], q["fiscal_quarter"], q["dd_total"], q["dd_tco"], q["dd_non_tco"],
         q["dd_undetermined"])
        for q in t["quarterly-table"]
    ]  # fmt: skip
    assert quarters == [
        ("FY2020", "Q1", "0", "0", "0", "0"),
        ("FY2020", "Q2", "1", "1", "0", "0"),
        ("FY2020", "Q3", "0", "0", "0", "0"),
        ("FY2020", "Q4", "1", "0", "1", "0"),
        ("FY2021", "Q1", "1", "1", "0", "0"),
        ("FY2021", "Q3", "2", "0", "1", "1"),
    ]
    cats = {r["criminal_category"]: r for r in t["category-table"]}
    assert cats["Cyber-Enabled Crime"]["no_border_crossing"] == "1"
    assert cats["Transnational Crimes Against Children"]["no_association"] == "1"
    assert cats["National Security"]["dd_undetermined"] == "1"
    total = cats["Total"]
    assert (total["dd_total"], total["dd_tco"], total["dd_non_tco"]) == ("5", "2", "2")
    assert total["share_non_tco"] == "40.0%"
    (finding,) = t["findings-table"]
    assert (finding["rule_id"], finding["severity"], finding["findings"]) == (
        "scr.approved_date.required_when_approved", "error", "1")  # fmt: skip
    assert t["worst-files-table"][0]["source_file"] == "scr_extract_2021-07-15.csv"
    (recon, recon_total) = t["reconciliation-table"]
    assert (recon["rows_read"], recon["rows_valid"], recon["rows_quarantined"]) == ("10", "9", "1")
    assert recon_total["rows_current"] == "10"


def test_header_shows_as_of_dates_and_refresh_time(refreshed):
    page = refreshed["report"].read_text(encoding="utf-8")
    assert "last approval 2021-05-20; last SCR change 2021-07-01 08:30" in page
    # the refresh ran on a clock starting 2030-01-02 10:00 UTC (support/report.py: REFRESH_CLOCK)
    assert 'Refreshed</dt><dd id="refreshed-at">2030-01-02 10:0' in page
    # no resource requests landed: the numbered section says so in one sentence
    assert "No resource request extract has landed yet." in page


def test_resource_request_evidence_section_when_tables_exist(refreshed, tmp_path):
    """Another stage builds these tables; the report shows them, escaped, once they hold rows."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(refreshed["warehouse"], db)
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE OR REPLACE TABLE resource_request_evidence AS SELECT * FROM (VALUES "
        "('R1', 2020, 'Cyber Crimes Unit', '<script>alert(1)</script>', 8800000.0, 12, "
        "'Cyber-Enabled Crime', 2019, 4, 3, 2, true, true), "
        "('R2', 2020, 'Victim Assistance', 'Staff', 3000000.0, 16, NULL, 2019, 0, 0, 0, false, "
        "false)) t(request_id, fiscal_year, program_office, title, amount_usd, positions, "
        "scr_categories, evidence_fiscal_year, approved_scrs, dd_total, dd_tco, "
        "evidence_available, evidence_gap)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE resource_request_summary AS SELECT * FROM (VALUES "
        "(2020, 2, 1, 1, 1, 8800000.00::DECIMAL(18, 2)), (2021, 3, 0, 2, 2, 1250.50::DECIMAL(18, 2))"
        ") t(fiscal_year, requests, evidence_available, evidence_gaps, gap_positions, gap_amount_usd)"
    )
    page = render(gather(con), datetime(2026, 1, 2, tzinfo=UTC))
    t = parse(page).tables
    (gap,) = t["rr-gaps-table"]
    assert gap["title"] == "<script>alert(1)</script>"  # shown as text ...
    assert "<script>" not in page  # ... never as markup
    assert (gap["amount_usd"], gap["positions"], gap["dd_tco"]) == ("$8.8M", "12", "2")
    fy2020, fy2021, total = t["rr-summary-table"]
    assert (fy2020["fiscal_year"], fy2020["evidence_gaps"], fy2020["gap_amount_usd"]) == (
        "2020", "1", "$8.8M")  # fmt: skip
    assert fy2021["gap_amount_usd"] == "$1,250"  # whole dollars below a million
    assert (total["requests"], total["evidence_gaps"], total["gap_positions"]) == ("5", "3", "3")
    assert "1 of 2 requests had SCR evidence available" in page


@pytest.mark.parametrize(
    "fmt, value, text",
    [
        (fmt_pct, 0.229, "22.9%"),
        (fmt_pct, None, "\u2014"),
        (fmt_count, 1083, "1,083"),
        (fmt_count, float("nan"), "\u2014"),
        (fmt_money, 8_800_000, "$8.8M"),
        (fmt_money, 950, "$950"),
        (lambda v: fmt_measure(v, "percent"), 0.158, "15.8%"),
        (lambda v: fmt_measure(v, "count"), 366.0, "366"),
    ],
)
def test_formats(fmt, value, text):
    assert fmt(value) == text


def test_table_escapes_every_value():
    page = table([Col("a", "A & <b>")], [{"a": 'x" onmouseover="y'}, {"a": "<i>"}], "t")
    assert "A &amp; &lt;b&gt;" in page and "&lt;i&gt;" in page
    assert "x&quot; onmouseover=&quot;y" in page


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def run_browser(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={profile}", *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def test_report_renders_in_headless_chromium(refreshed, tmp_path):
    browser = find_browser()
    if browser is None:
        pytest.skip(f"no browser binary on PATH (looked for {', '.join(BROWSERS)})")
    url = refreshed["report"].resolve().as_uri()
    png = tmp_path / "report.png"
    run_browser(browser, tmp_path / "p1", f"--screenshot={png}", "--window-size=1280,2400", url)
    dom = run_browser(browser, tmp_path / "p2", "--dump-dom", url).stdout
    rendered = parse(dom)
    expected = pq.read_table(refreshed["output"] / "annual_measures.parquet").to_pylist()
    assert_annual_rows(rendered.tables["annual-table"], expected)
    assert rendered.tags["svg"] == 3
    assert rendered.tags.get("rect", 0) > 30  # bars and legend keys
    assert rendered.tags.get("line", 0) > 20  # axes, grid lines and targets
    assert rendered.tags.get("text", 0) > 20  # axis labels, tick labels, legends as text
    from PIL import Image

    with Image.open(png) as im:
        assert im.size == (1280, 2400)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 24)
    assert len(colours) > 200, "the screenshot looks blank"
