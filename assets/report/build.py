"""The OAO quarterly report: one self-contained HTML page, published with every output.

Why: analysts would rather look than read Parquet, and forward a page to people who will never
open the Dagster UI. ``SCR_OUTPUT_DIR/report/index.html`` opens offline (inline CSS and SVG,
no scripts, no web fonts), prints cleanly, and shows the TCO-validated figure beside the old
approval-based one, why SCRs drop out, what validation found, and that every row adds up.
Everything on it is read (read-only) from the warehouse tables of this refresh; its time
stamps are the data's (the latest ingest), so it changes only when the data does.
"""

import string
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from assets._shared.findings import with_findings
from assets._shared.metadata import existing_tables
from assets._shared.sql import quote_ident
from assets.measures.restatements import latest_changes
from assets.report import accuracy, charts, closeout, headline, sections
from assets.report import trace as trace_html

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
REPORT_PATH = Path("report") / "index.html"


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """A small aggregated result as dicts (the report never pulls row-level data)."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


CATEGORY_SQL = """
SELECT criminal_category, sum(dd_total) AS dd_total, sum(dd_tco) AS dd_tco,
    sum(dd_non_tco) AS dd_non_tco, sum(no_association) AS no_association,
    sum(no_border_crossing) AS no_border_crossing, sum("both") AS "both",
    sum(indicator_no) AS indicator_no, sum(dd_undetermined) AS dd_undetermined,
    CASE WHEN sum(dd_total) > 0 THEN sum(dd_non_tco) / sum(dd_total) END AS share_non_tco
FROM category_measures GROUP BY ALL ORDER BY dd_non_tco DESC, criminal_category
"""
FINDINGS_BY_RULE_SQL = """
SELECT rule_id, severity, extract_type, count(*) AS findings,
    count(DISTINCT record_id) AS records, count(DISTINCT source_file) AS files
FROM all_findings GROUP BY ALL ORDER BY severity, findings DESC, rule_id
"""
WORST_FILES_SQL = """
SELECT source_file, count(*) AS findings, count(*) FILTER (severity = 'error') AS errors,
    count(*) FILTER (severity = 'warning') AS warnings, count(DISTINCT rule_id) AS rules
FROM all_findings GROUP BY ALL ORDER BY findings DESC, source_file LIMIT 10
"""
AS_OF_SQL = """
SELECT max(approved_date) FILTER (counted) AS last_approval, max(last_modified_at) AS last_change,
    count(*) AS scrs, count(*) FILTER (counted) AS counted, count(*) FILTER (quarantined) AS quarantined
FROM scr_current
"""


def gather(con: duckdb.DuckDBPyConnection) -> dict:
    """Every number the report shows, from small aggregate queries."""
    have = existing_tables(con)
    data: dict = {"tables": have}
    data["annual"] = rows(con, "SELECT * FROM annual_measures ORDER BY fiscal_year")
    data["quarters"] = rows(
        con,
        "SELECT * FROM quarterly_measures WHERE fiscal_year >= "
        "(SELECT max(fiscal_year) - 1 FROM quarterly_measures) ORDER BY fiscal_year, fiscal_quarter",
    )
    data["categories"] = rows(con, CATEGORY_SQL)
    data["category_years"] = con.execute(
        "SELECT min(fiscal_year), max(fiscal_year) FROM category_measures"
    ).fetchall()[0]
    data["findings_by_rule"] = rows(con, with_findings(con, FINDINGS_BY_RULE_SQL))
    data["worst_files"] = rows(con, with_findings(con, WORST_FILES_SQL))
    data["reconciliation"] = rows(con, "SELECT * FROM ingest_reconciliation ORDER BY file_id")
    data["as_of"] = rows(con, AS_OF_SQL)[0]
    data["headline"] = headline.gather(con)
    data["closeout"] = closeout.gather(con, rows)
    data["changes"], data["vv_links"] = latest_changes(con), trace_html.vv_links(con)
    data["accuracy"] = accuracy.gather(con, rows)
    if "resource_request_summary" in have:
        data["rr_summary"] = rows(con, "SELECT * FROM resource_request_summary ORDER BY 1")
    if "resource_request_evidence" in have:
        cols = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                ["resource_request_evidence"],
            ).fetchall()
        }
        wanted = [c for c in sections.EVIDENCE_COLUMNS if c in cols]
        if "evidence_gap" in cols and wanted:
            select = ", ".join(map(quote_ident, wanted))
            order = "amount_usd DESC NULLS LAST," if "amount_usd" in cols else ""
            data["rr_gaps"] = rows(
                con,
                f"SELECT {select} FROM resource_request_evidence WHERE evidence_gap "
                f"ORDER BY {order} 1 LIMIT 15",
            )
            data["rr_gap_count"] = con.execute(
                "SELECT count(*) FILTER (evidence_gap), count(*) FROM resource_request_evidence"
            ).fetchall()[0]
    return data


def render(data: dict, refreshed_at: datetime) -> str:
    """The whole page: header, key figures, one section per topic, method notes."""
    body = [
        sections.annual_section(
            data["annual"], charts.annual_chart(data["annual"]) if data["annual"] else ""
        ),
        sections.quarterly_section(
            data["quarters"], charts.quarterly_chart(data["quarters"]) if data["quarters"] else ""
        ),
        sections.category_section(
            data["categories"],
            data["category_years"],
            charts.category_chart(data["categories"]) if data["categories"] else "",
        ),
        sections.findings_section(data["findings_by_rule"], data["worst_files"]),
        sections.reconciliation_section(data["reconciliation"]),
    ]
    # every numbered section is always there (a sentence when it has nothing to show), so the
    # contents' numbers are the sections' numbers
    body += [
        accuracy.accuracy_section(data.get("accuracy")),
        sections.evidence_section(data),
        closeout.closeout_section(data["closeout"]),
        trace_html.changes_section(data.get("changes", {})),
    ]
    contents = [
        *sections.CONTENTS,
        ("accuracy", "Accuracy of the determination"),
        ("resource-requests", "Resource requests"),
        ("closeout", "Closing the recommendations"),
        ("changes", "What changed"),
    ]
    template = string.Template((TEMPLATE_DIR / "report.html").read_text(encoding="utf-8"))
    return template.substitute(
        css=(TEMPLATE_DIR / "report.css").read_text(encoding="utf-8"),
        header=sections.header(data, refreshed_at),
        nav=sections.nav(contents),
        sections="\n".join(body),
        footer=sections.footer(refreshed_at),
        vv_links=data.get("vv_links", ""),
    )


def data_time(con: duckdb.DuckDBPyConnection) -> datetime:
    """When the data last changed (the latest ingest): the page is a function of the warehouse,
    so a refresh with nothing new rewrites it byte for byte the same."""
    when = con.execute("SELECT max(ingested_at) FROM ingested_files").fetchall()[0][0]
    return (when or datetime(1970, 1, 1)).replace(tzinfo=UTC, microsecond=0)


def render_page(con: duckdb.DuckDBPyConnection) -> str:
    """The report of the warehouse as it stands (queries only; published by assets/publish/outputs.py)."""
    return render(gather(con), data_time(con))
