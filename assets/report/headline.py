"""The headline: what a reader asks first, for the report's top and the workbook's Summary sheet.

Why one module: the latest quarter, the fiscal year to date against its target, the accuracy
interval and the "data through" date are the same facts in the HTML report and in
``oao_measures.xlsx``; computing them once keeps the two from drifting apart.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from assets._shared.metadata import existing_tables

LATEST_QUARTER_SQL = """
SELECT fiscal_year, fiscal_quarter, quarter_start, quarter_end, initial_approved, dd_total, dd_tco,
    dd_non_tco, dd_undetermined, fytd_dd_total, fytd_dd_tco
FROM quarterly_measures ORDER BY fiscal_year DESC, fiscal_quarter DESC LIMIT 1
"""
# The latest date the data speak for: the last change of any SCR record in the extracts.
DATA_THROUGH_SQL = "SELECT CAST(max(last_modified_at) AS DATE) FROM scr_current"


def _dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def estimate_row(con: duckdb.DuckDBPyConnection) -> dict | None:
    """For the latest fiscal year with an estimate: the stratified overall row if any, else the
    ratio row (docs/REPORT.md, "The headline"). None before any reviewed sample."""
    if "measure_estimates" not in existing_tables(con):
        return None
    cols = {r[0] for r in con.execute("DESCRIBE measure_estimates").fetchall()}
    overall = "criminal_category IS NULL" if "criminal_category" in cols else "true"
    found = _dicts(
        con,
        "SELECT fiscal_year, dd_tco_published, estimate, lower_bound, upper_bound, confidence, "
        f"method FROM measure_estimates WHERE fiscal_year IS NOT NULL AND estimate IS NOT NULL "
        f"AND {overall} AND method IN ('stratified', 'ratio') "
        "ORDER BY fiscal_year DESC, method = 'stratified' DESC, sample_id DESC LIMIT 1",
    )
    return found[0] if found else None


def target_verdict(target: float | None, lower: float | None, upper: float | None) -> str:
    """Whether an interval says the target was met: wholly at or above it, wholly below it, or
    it cannot be told (the interval straddles the target)."""
    if target is None:
        return "no target"
    if lower is None or upper is None:
        return "cannot be told"
    if lower >= target:
        return "met with confidence"
    if upper < target:
        return "missed with confidence"
    return "cannot be told"


def gather(con: duckdb.DuckDBPyConnection) -> dict | None:
    """The headline's facts; None before any quarter was measured."""
    if "quarterly_measures" not in existing_tables(con):
        return None
    latest = _dicts(con, LATEST_QUARTER_SQL)
    if not latest:
        return None
    q = latest[0]
    through = con.execute(DATA_THROUGH_SQL).fetchall()[0][0]
    year = _dicts(
        con,
        "SELECT measure_type, target, quarters_reported, met_target_old_method, "
        "met_target_tco_validated FROM annual_measures WHERE fiscal_year = ?",
        [q["fiscal_year"]],
    )
    year_row = year[0] if year else {}
    complete = through is not None and through >= q["quarter_end"]
    full_year = complete and q["fiscal_quarter"] == 4
    est = estimate_row(con)
    if est is not None:
        est_target = con.execute(
            "SELECT target FROM annual_measures WHERE fiscal_year = ?", [est["fiscal_year"]]
        ).fetchall()
        est["target"] = est_target[0][0] if est_target else None
        est["verdict"] = target_verdict(est["target"], est["lower_bound"], est["upper_bound"])
    return {
        **q,
        "data_through": through,
        "quarter_complete": complete,
        "year_complete": full_year,
        "measure_type": year_row.get("measure_type", "count"),
        "target": year_row.get("target"),
        "met_old": year_row.get("met_target_old_method") if full_year else None,
        "met_tco": year_row.get("met_target_tco_validated") if full_year else None,
        "estimate": est,
    }


def met_text(h: dict, which: str) -> str:
    """Where the fiscal year to date stands against its target, in words."""
    fytd = h["fytd_dd_tco"] if which == "tco" else h["fytd_dd_total"]
    if h["target"] is None:
        return f"no target recorded for FY{h['fiscal_year']}"
    if h["measure_type"] == "percent":
        return f"target {h['target'] * 100:.1f}% (a percent year: see the annual table)"
    target = int(h["target"])
    if h["year_complete"]:
        met = h["met_tco"] if which == "tco" else h["met_old"]
        return f"target {target:,}: {'met' if met else 'not met'}"
    share = f"{fytd / target * 100:.0f}%" if target else "n/a"
    return f"target {target:,}: {share} of it so far (year not over)"


def fytd_note(h: dict) -> str:
    """The year-to-date card's note: the target once when there is none, else for both methods."""
    old = f"old method {h['fytd_dd_total']:,}"
    if h["target"] is None:
        return f"{old}; no target recorded for FY{h['fiscal_year']}"
    return f"TCO-validated {met_text(h, 'tco')}; {old}, {met_text(h, 'old')}"


def through_text(h: dict) -> str:
    """'data through <date>' when the latest quarter is not complete yet, else ''."""
    if h["quarter_complete"]:
        return ""
    when = h["data_through"]
    day = when.isoformat() if isinstance(when, date | datetime) else "an unknown date"
    return (
        f"data through {day}: FY{h['fiscal_year']} Q{h['fiscal_quarter']} ends "
        f"{h['quarter_end'].isoformat()}, so its figures are partial"
    )
