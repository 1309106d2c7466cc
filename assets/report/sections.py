"""The sections of the quarterly report, each a function of already-aggregated rows.

Why separate from the asset: the wording an analyst reads (titles, captions, column headings,
method notes) is kept together here, and every value goes through ``report_html`` (escaped).
"""

from datetime import datetime

from assets.report import headline
from assets.report.html import (
    Col,
    esc,
    figure,
    fmt_auto,
    fmt_count,
    fmt_measure,
    fmt_met,
    fmt_money,
    fmt_pct,
    fmt_text,
    key_figure,
    section,
    table,
    tone_met,
    totals,
)
from schemas.reference import rules

TITLE = "Disruptions and dismantlements of transnational criminal organizations"
OFFICE = "HSI Office of Administrative Operations (OAO)"
EVIDENCE_COLUMNS = (
    "request_id", "fiscal_year", "program_office", "title", "amount_usd", "positions",
    "scr_categories", "evidence_fiscal_year", "approved_scrs", "dd_total", "dd_tco",
)  # fmt: skip


def _measure(key: str, heading: str) -> Col:
    return Col(key, heading, numeric=True)


def _annual_cols() -> list[Col]:
    return [
        Col("fiscal_year", "Fiscal year", lambda v: f"FY{v}"),
        Col("measure_type", "Reported as"),
        _measure("target", "Target"),
        _measure("reported_result", "Published result"),
        _measure("result_old_method", "Old method (approvals)"),
        _measure("result_tco_validated", "TCO-validated"),
        Col("met_target_old_method", "Old method vs target", fmt_met, tone=tone_met),
        Col("met_target_tco_validated", "TCO-validated vs target", fmt_met, tone=tone_met),
        Col("dd_total", "Disruptions + dismantlements", fmt_count, True),
        Col("dd_tco", "of which TCO", fmt_count, True),
        Col("initial_approved", "Initial investigations", fmt_count, True),
        Col("initial_tco", "of which TCO", fmt_count, True),
    ]


def _annual_table(annual: list[dict]) -> str:
    """The measure columns take their unit (percent or count) from each row's measure_type."""
    shown = []
    for r in annual:
        row = dict(r)
        for k in ("target", "reported_result", "result_old_method", "result_tco_validated"):
            row[k] = fmt_measure(r.get(k), r.get("measure_type") or "count")
        shown.append(row)
    return table(
        _annual_cols(),
        shown,
        "annual-table",
        "One row per fiscal year: the measure as a percent of approved initial investigations "
        "through FY2020, as a count of disruptions and dismantlements from FY2021.",
        row_class=lambda r: "missed" if r.get("met_target_tco_validated") is False else "",
    )


def annual_section(annual: list[dict], svg: str) -> str:
    body = figure(
        svg,
        "Bars: the old approval-based result (grey) and the TCO-validated result (navy); red "
        "line: the published target. Left: percent years; right: count years.",
    )
    return section(
        "annual",
        "1. The measure by fiscal year",
        "The old method counts every approved disruption or dismantlement. The TCO-validated "
        "method counts only SCRs whose current record describes a transnational criminal "
        "organization (an association of individuals that crosses international borders, or "
        "the ICM TCO checkbox). In the percent years the TCO-validated percent is TCO "
        "disruptions and dismantlements divided by TCO initial investigations: both the "
        "numerator and the denominator leave out SCRs that do not describe a TCO (the audit "
        "counted the non-TCO initial investigations as inaccurately reported too), so it can "
        "exceed the old percent when more initial investigations than disruptions drop out.",
        body + _annual_table(annual),
    )


QUARTER_COLS = [
    Col("fiscal_year", "Fiscal year", lambda v: f"FY{v}"),
    Col("fiscal_quarter", "Quarter", lambda v: f"Q{v}"),
    Col("quarter_end", "Quarter ends"),
    Col("initial_approved", "Initial investigations", fmt_count, True),
    Col("dd_total", "Disruptions + dismantlements", fmt_count, True),
    Col("dd_tco", "TCO", fmt_count, True),
    Col("dd_non_tco", "Not a TCO", fmt_count, True),
    Col("dd_undetermined", "Undetermined", fmt_count, True),
    Col("fytd_dd_total", "FY to date (old)", fmt_count, True),
    Col("fytd_dd_tco", "FY to date (TCO)", fmt_count, True),
]


def quarterly_section(quarters: list[dict], svg: str) -> str:
    if not quarters:
        return section("quarterly", "2. Quarter by quarter", "No approved SCRs yet.", "")
    years = sorted({q["fiscal_year"] for q in quarters})
    span = f"FY{years[0]}" + (f" and FY{years[-1]}" if len(years) > 1 else "")
    body = figure(
        svg,
        f"Disruptions and dismantlements approved per quarter, {span}: the whole bar is the old "
        "count; navy is the part that describes a TCO.",
    )
    return section(
        "quarterly",
        "2. Quarter by quarter",
        f"The current and previous fiscal year ({span}), by the quarter of approval.",
        body
        + table(
            QUARTER_COLS,
            quarters,
            "quarterly-table",
            "One row per fiscal quarter: SCRs approved in it, and the fiscal year to date.",
        ),  # fmt: skip
    )


CATEGORY_COLS = [
    Col("criminal_category", "Criminal category"),
    Col("dd_total", "Disruptions + dismantlements", fmt_count, True),
    Col("dd_tco", "TCO", fmt_count, True),
    Col("dd_non_tco", "Not a TCO", fmt_count, True),
    Col("no_association", "No association", fmt_count, True),
    Col("no_border_crossing", "No border crossing", fmt_count, True),
    Col("both", "Neither prong", fmt_count, True),
    Col("indicator_no", "Checkbox 'N'", fmt_count, True),
    Col("dd_undetermined", "Undetermined", fmt_count, True),
    Col("share_non_tco", "Share not a TCO", fmt_pct, True),
]


def category_section(categories: list[dict], years: tuple, svg: str) -> str:
    span = f"FY{years[0]}-FY{years[1]}" if years and years[0] is not None else "no data"
    foot = totals(categories, [c.key for c in CATEGORY_COLS[1:-1]], "criminal_category", "Total")
    if foot.get("dd_total"):
        foot["share_non_tco"] = (foot["dd_non_tco"] or 0) / foot["dd_total"]
    body = (figure(svg, f"Disruptions and dismantlements that do not describe a TCO, {span}, by "
                   "criminal category and the reason the TCO test failed.") if svg else "")  # fmt: skip
    return section(
        "categories",
        "3. Why SCRs do not count: not a TCO, by category and reason",
        f"All approved disruptions and dismantlements {span} (the shape of the OIG audit's "
        "Table 2). A TCO needs an association of individuals (two or more subjects) and an "
        "international border crossing; 'Checkbox N' means the agent marked the SCR as not "
        "TCO-related.",
        body
        + table(
            CATEGORY_COLS,
            categories,
            "category-table",
            f"One row per criminal category, {span}: approved disruptions and "
            "dismantlements and why those that are not a TCO fail the test.",
            footer=foot,
        ),  # fmt: skip
    )


def findings_section(by_rule: list[dict], worst: list[dict]) -> str:
    catalogue = rules()
    shown = [
        r | {"description": catalogue[r["rule_id"]].description if r["rule_id"] in catalogue
             else "TCO checkbox disagrees with the definition test"}
        for r in by_rule
    ]  # fmt: skip
    rule_cols = [
        Col("rule_id", "Rule"),
        Col("description", "What it checks"),
        Col("severity", "Severity"),
        Col("findings", "Findings", fmt_count, True),
        Col("records", "Records", fmt_count, True),
        Col("files", "Files", fmt_count, True),
    ]
    file_cols = [
        Col("source_file", "Landing file"),
        Col("findings", "Findings", fmt_count, True),
        Col("errors", "Errors (quarantined)", fmt_count, True),
        Col("warnings", "Warnings (kept)", fmt_count, True),
        Col("rules", "Rules broken", fmt_count, True),
    ]
    total = sum(r["findings"] for r in by_rule)
    body = (
        table(rule_cols, shown, "findings-table",
              "One row per validation rule that found something: its findings, the records "
              "and the files they are in",
              row_class=lambda r: "error" if r["severity"] == "error" else "")
        + table(file_cols, worst, "worst-files-table",
                "One row per landing file, the ten with the most findings")
    ) if by_rule else '<p class="ok">No findings: every row passed every rule.</p>'  # fmt: skip
    return section(
        "findings",
        "4. Data validation findings",
        f"{total:,} finding(s). Errors quarantine the SCR (it never counts); warnings keep it. "
        "Every finding is listed with its file and row in validation_findings.parquet.",
        body,
    )


RECON_COLS = [
    Col("source_file", "Landing file"),
    Col("extract_type", "Extract"),
    Col("state", "State"),
    Col("rows_read", "Rows read", fmt_count, True),
    Col("rows_valid", "Valid", fmt_count, True),
    Col("rows_quarantined", "Quarantined", fmt_count, True),
    Col("rows_current", "Current records", fmt_count, True),
    Col("rows_superseded", "Superseded", fmt_count, True),
    Col("ingested_at", "Ingested"),
    Col("state_reason", "Retraction reason"),
]


def reconciliation_section(recon: list[dict]) -> str:
    foot = totals(recon, [c.key for c in RECON_COLS if c.numeric], "source_file", "Total")
    return section(
        "reconciliation",
        "5. Reconciliation per file",
        "Every row read is either valid or quarantined; every SCR version is either the current "
        "record or superseded by a later one. Nothing is lost or counted twice. Only active files "
        "count: a replaced file (same name, new content) or a retracted one stays listed here.",
        table(
            RECON_COLS,
            recon,
            "reconciliation-table",
            "One row per landing file: rows read, valid, quarantined, current and superseded.",
            footer=foot,
        ),
    )


RR_HEADINGS = {
    "fiscal_year": "Budget year", "requests": "Requests", "citing_scr_data": "Citing SCR data",
    "not_citing_scr_data": "Not citing", "evidence_available": "SCR evidence available",
    "evidence_gaps": "Gaps (evidence not cited)", "amount_usd": "Amount requested",
    "positions": "Positions", "gap_amount_usd": "Amount in gap requests",
    "gap_positions": "Positions in gap requests", "request_id": "Request",
    "program_office": "Program office", "title": "Title", "scr_categories": "SCR categories",
    "evidence_fiscal_year": "Evidence year", "approved_scrs": "Approved SCRs",
    "dd_total": "Disruptions + dismantlements", "dd_tco": "of which TCO",
}  # fmt: skip
RR_TEXT = {"fiscal_year", "evidence_fiscal_year", "request_id", "program_office", "title",
           "scr_categories"}  # fmt: skip


def _fmt_labels(v: object) -> str:
    return fmt_text(v).replace(";", "; ")


def _rr_cols(keys) -> list[Col]:
    """Columns of a table another stage builds: known ones get headings and units."""
    return [
        Col(k, RR_HEADINGS.get(k, k.replace("_", " ").capitalize()),
            fmt_money if k.endswith("amount_usd") else _fmt_labels if k == "scr_categories"
            else fmt_text if k in RR_TEXT else fmt_auto,
            k not in RR_TEXT)
        for k in keys
    ]  # fmt: skip


def evidence_section(data: dict) -> str:
    parts = []
    if data.get("rr_summary"):
        summary = data["rr_summary"]
        foot = totals(summary, [k for k in summary[0] if k not in RR_TEXT], "fiscal_year", "Total")
        parts.append(table(_rr_cols(summary[0]), summary, "rr-summary-table",
                           "One row per budget fiscal year: the resource requests submitted for "
                           "it", footer=foot))  # fmt: skip
    if "rr_gaps" in data:
        gaps, total = data["rr_gap_count"]
        parts.append(f"<p>{gaps:,} of {total:,} requests had SCR evidence available but did not "
                     "cite SCR data.</p>")  # fmt: skip
        if data["rr_gaps"]:
            parts.append(table(_rr_cols(data["rr_gaps"][0]), data["rr_gaps"], "rr-gaps-table",
                               "One row per resource request that did not cite available SCR "
                               "evidence, the 15 largest"))  # fmt: skip
    if not data.get("rr_summary") and not data.get("rr_gap_count", (0, 0))[1]:
        parts = ["<p>No resource request extract has landed yet.</p>"]
    return section(
        "resource-requests",
        "7. Resource requests and SCR evidence",
        "Recommendation 3: program offices should use SCR data in their annual resource "
        "requests. Evidence is the SCRs approved in the request's criminal categories in the "
        "last complete fiscal year before it was submitted.",
        "".join(parts),
    )


CONTENTS = (
    ("annual", "By fiscal year"),
    ("quarterly", "Quarter by quarter"),
    ("categories", "Not a TCO, by category"),
    ("findings", "Validation findings"),
    ("reconciliation", "Reconciliation"),
)


def nav(contents: list[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="#{esc(a)}">{esc(label)}</a></li>' for a, label in contents)
    return f'<nav aria-label="Contents"><ol>{items}</ol></nav>'


def _headline_cards(h: dict | None) -> list[str]:
    """The latest quarter, the fiscal year to date against target, and the accuracy interval."""
    if h is None:
        return []
    fy, q = h["fiscal_year"], h["fiscal_quarter"]
    partial = "" if h["quarter_complete"] else " (partial)"
    cards = [
        key_figure(f"FY{fy} Q{q}{partial}: TCO-validated", fmt_count(h["dd_tco"]),
                   f"old method (every approved disruption or dismantlement) "
                   f"{fmt_count(h['dd_total'])}", "primary"),
        key_figure(f"FY{fy} to date: TCO-validated", fmt_count(h["fytd_dd_tco"]),
                   headline.fytd_note(h),
                   "bad" if h["met_tco"] is False else ""),
    ]  # fmt: skip
    est = h.get("estimate")
    if est:
        conf = f"{float(est['confidence'] or 0.9) * 100:.0f}%"
        cards.append(key_figure(
            f"FY{est['fiscal_year']} truly TCO-related (estimate)",
            f"{fmt_count(est['estimate'])} ({fmt_count(est['lower_bound'])} to "
            f"{fmt_count(est['upper_bound'])})",
            f"{conf} interval from the reviewed sample ({est['method']}); published "
            f"{fmt_count(est['dd_tco_published'])}; target "
            f"{fmt_count(est['target']) if est['target'] is not None else 'none'}: "
            f"{est['verdict']}",
            "bad" if est["verdict"].startswith("missed") else "good"
            if est["verdict"].startswith("met") else "warn"))  # fmt: skip
    return cards


def header(data: dict, refreshed_at: datetime) -> str:
    """Title block: the headline first (latest quarter, year to date, accuracy), then as-of."""
    as_of = data["as_of"]
    h = data.get("headline")
    cards = _headline_cards(h)
    cards.append(key_figure("Quarantined SCRs", fmt_count(as_of["quarantined"]),
                            f"of {fmt_count(as_of['scrs'])} SCRs; {fmt_count(as_of['counted'])} "
                            "approved and counted"))  # fmt: skip
    through = headline.through_text(h) if h else ""
    banner = (
        f'<p class="through" id="data-through">{esc(through[:1].upper() + through[1:])}.</p>'
        if through
        else ""
    )
    return (
        f'<header><p class="office">{esc(OFFICE)}</p><h1>{esc(TITLE)}</h1>'
        '<p class="subtitle">Quarterly report on the TCO-validated performance measure</p>'
        f'<dl class="asof"><dt>Data as of</dt><dd id="data-as-of">'
        f"last approval {esc(fmt_text(as_of['last_approval']))}; last SCR change "
        f"{esc(fmt_text(as_of['last_change']))}</dd>"
        f'<dt>Refreshed</dt><dd id="refreshed-at">{esc(refreshed_at.strftime("%Y-%m-%d %H:%M UTC"))}'
        f'</dd></dl>{banner}<div class="kpis" id="headline">{"".join(cards)}</div></header>'
    )


def footer(refreshed_at: datetime) -> str:
    return (
        "<footer><h2>Method and sources</h2><ul>"
        "<li>Source: ICM Significant Case Report extracts as landed, validated row by row; the "
        "current version of each SCR counts in the fiscal quarter of its approval.</li>"
        "<li>Old method: approved disruptions + dismantlements (FY2017-FY2020 divided by approved "
        "initial investigations). TCO-validated: the same, limited to SCRs determined TCO.</li>"
        "<li>Targets and published results: DHS OIG audit report of 19 September 2023, Table 1.</li>"
        "<li>Data files: annual_measures.parquet, quarterly_measures/, category_measures/, "
        "validation_findings.parquet, ingest_reconciliation.parquet in the output folder.</li>"
        f'</ul><p class="generated">Generated by scr-pipeline on '
        f"{esc(refreshed_at.strftime('%Y-%m-%d %H:%M UTC'))}.</p></footer>"
    )
