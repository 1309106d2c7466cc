"""HTML for traceability: the report's "What changed since the last publication" section, the
links to the V&V statements, and the V&V pages themselves (``report/vv_FYyyyy.html``).

Why here: the quarterly report calls these with one line each; the wording lives next to the
data it explains, and every value passes through ``report_html`` (escaped).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets._shared.metadata import existing_tables
from assets.audit.vv_statement import ELEMENTS, page_name
from assets.report.html import DASH, Col, esc, fmt_count, fmt_pct, fmt_text, section, table

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _list(v) -> str:
    return ", ".join(str(x) for x in v) if v else DASH


CHANGE_COLS = [
    Col("fiscal_year", "Fiscal year", lambda v: f"FY{v}"),
    Col("fiscal_quarter", "Quarter", lambda v: f"Q{v}"),
    Col("measure", "Column"),
    Col("old_value", "Published before", fmt_count, True),
    Col("new_value", "Now", fmt_count, True),
    Col("scrs", "SCRs", _list),
    Col("files", "Files", _list),
]


def changes_section(latest: dict) -> str:
    """Quarter, column, old -> new, the SCRs and the files, for the latest publication's
    restatements. Each sentence names the refresh it is about, so it stays true when a later
    refresh republishes without changing any figure (that is no new publication), and a
    rebuild from the archive (``scr-pipeline verify``) renders the same words."""
    run, when = latest.get("refresh_id"), fmt_text(latest.get("computed_at"))
    if run is None:
        intro, body = "Nothing has been published yet.", ""
    elif latest.get("previous_refresh_id") is None:
        intro = (
            f"Refresh {run} ({when}) was the first publication: nothing published before could "
            "change, and no published figure has changed since."
        )
        body = ""
    elif not latest["changes"]:
        intro = (
            f"Refresh {run} ({when}) changed no figure published by refresh "
            f"{latest['previous_refresh_id']} ({fmt_text(latest.get('previous_published_at'))}),"
            " and no published figure has changed since."
        )
        body = ""
    else:
        intro = (
            f"Figures published by refresh {latest['previous_refresh_id']} "
            f"({fmt_text(latest.get('previous_published_at'))}) that refresh {run} ({when}) "
            "restates, with the SCRs whose contribution changed and the files that changed them; "
            "no published figure has changed since. Every SCR is listed in restatements.parquet "
            "with its values before and after."
        )
        body = table(
            CHANGE_COLS,
            latest["changes"],
            "changes-table",
            "One row per restated quarter and measure column: its value before and now.",
        )
    return section("changes", "9. What changed since the last publication", intro, body)


def vv_links(con: duckdb.DuckDBPyConnection) -> str:
    """A list of links to the V&V statement of every fiscal year (for the report template)."""
    if "vv_statement" not in existing_tables(con):
        return ""
    years = [
        r[0] for r in con.execute("SELECT fiscal_year FROM vv_statement ORDER BY 1").fetchall()
    ]
    if not years:
        return ""
    items = "".join(
        f'<li><a href="{esc(page_name(y))}">FY{esc(y)} data verification and validation</a></li>'
        for y in years
    )
    return f'<nav id="vv-links" aria-label="Data reliability"><ul>{items}</ul></nav>'


FACT_COLS = [
    Col("fact", "Fact"),
    Col("value", "Value", numeric=True),
]


def _facts(r: dict) -> list[dict]:
    facts = [
        ("SCRs approved in the year", fmt_count(r["scrs_with_approval"])),
        ("Counted (approved, valid)", fmt_count(r["counted"])),
        ("Quarantined", fmt_count(r["quarantined"])),
        ("Quarantined share", fmt_pct(r["quarantined_share"])),
        ("Disruptions and dismantlements counted", fmt_count(r["dd_total"])),
        ("of which undetermined", fmt_count(r["dd_undetermined"])),
        ("Undetermined share", fmt_pct(r["undetermined_share"])),
        ("Indicator conflicts", fmt_count(r["indicator_conflicts"])),
        ("Validation rules applied", fmt_count(r["rules_applied"])),
        ("Error findings", fmt_count(r["error_findings"])),
        ("Warning findings", fmt_count(r["warning_findings"])),
        ("Restated SCR contributions", fmt_count(r["restatements"])),
    ]
    if r["audit_sample_id"] is not None:
        facts += [
            ("Audit projection: not TCO", fmt_count(r["audit_point_estimate"])),
            ("Audit projection: lower bound", fmt_count(r["audit_lower_bound"])),
            ("Audit projection: upper bound", fmt_count(r["audit_upper_bound"])),
        ]
    return [{"fact": k, "value": v} for k, v in facts]


def vv_page(r: dict) -> str:
    fy = r["fiscal_year"]
    elements = "".join(
        f'<section id="{esc(key.replace("_", "-"))}"><h2>{esc(title)}</h2>'
        f'<p class="statement">{esc(r[key])}</p></section>'
        for key, title in ELEMENTS.items()
    )
    files = table(
        [Col("file", "Extract file and SHA-256")],
        [{"file": f} for f in r["extract_files"] or []],
        "vv-files",
        "One row per extract file the year's figures come from.",
    )
    css = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>FY{esc(fy)} data verification and validation</title><style>{css}</style></head>"
        f"<body><main><header><h1>FY{esc(fy)} performance measure: data verification and "
        'validation</h1><p class="subtitle">Disruptions and dismantlements of transnational '
        "criminal organizations; statement under 31 U.S.C. 1115(b)(8)</p>"
        '<p><a href="index.html">Back to the quarterly report</a></p></header>'
        f"{elements}"
        f'<section id="facts"><h2>Facts behind this statement</h2>'
        f"{table(FACT_COLS, _facts(r), 'vv-facts', 'One row per fact of the year.')}{files}</section></main></body></html>\n"
    )


def vv_files(con: duckdb.DuckDBPyConnection) -> dict[str, bytes]:
    """``report/vv_FYyyyy.html`` for every fiscal year of ``vv_statement`` (published by
    assets/publish/outputs.py, which also removes the page of a year that no longer has data)."""
    cur = con.execute("SELECT * FROM vv_statement ORDER BY fiscal_year")
    names = [d[0] for d in cur.description]
    pages = {}
    for row in cur.fetchall():  # one per fiscal year
        r = dict(zip(names, row, strict=True))
        pages[f"report/{page_name(r['fiscal_year'])}"] = vv_page(r).encode("utf-8")
    return pages
