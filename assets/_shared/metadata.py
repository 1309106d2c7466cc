"""Dagster metadata for a warehouse table: row count, column schema and a markdown preview.

Every asset reports these so a data engineer sees in the UI what was read and computed.
"""

from __future__ import annotations

import dagster as dg
import duckdb

OWNERS = ["team:oao-data-engineering"]  # shown on every asset in the Dagster UI


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the warehouse's tables (optional stages may not have created theirs yet)."""
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def table_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    rows = con.execute(  # duckdb_columns(): the same rows as information_schema, half the time
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
        "AND schema_name = 'main' AND database_name = current_database() ORDER BY column_index",
        [table],
    ).fetchall()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, dtype, description=COLUMN_DESCRIPTIONS.get(name))
            for name, dtype in rows
        ]
    )


def markdown_preview(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> str:
    """A small markdown table of a query's first rows (at most 10)."""
    cur = con.execute(f"SELECT * FROM ({sql}) LIMIT 10", params or [])
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in rows:
        cells = [
            "" if v is None else str(v).replace("|", "\\|").replace("\n", " ")[:60] for v in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table_metadata(
    con: duckdb.DuckDBPyConnection, table: str, preview_sql: str | None = None
) -> dict[str, dg.MetadataValue]:
    """Row count, schema and preview for ``table`` (preview of ``preview_sql`` if given)."""
    count = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    return {
        "dagster/row_count": dg.MetadataValue.int(int(count)),
        "dagster/column_schema": dg.MetadataValue.table_schema(table_schema(con, table)),
        "preview": dg.MetadataValue.md(
            markdown_preview(con, preview_sql or f'SELECT * FROM "{table}"')
        ),
    }


# What each published column means, in words: one table for the Dagster UI (``table_schema``),
# the OAO workbook's Notes sheet and docs. A column name means the same in every table.
COLUMN_DESCRIPTIONS: dict[str, str] = {
    # keys and time
    "fiscal_year": "Federal fiscal year N: 1 October of N-1 to 30 September of N",
    "fiscal_quarter": "Quarter of the fiscal year: Q1 Oct-Dec, Q2 Jan-Mar, Q3 Apr-Jun, Q4 Jul-Sep",
    "quarter_start": "First day of the fiscal quarter",
    "quarter_end": "Last day of the fiscal quarter",
    "criminal_category": "SCR criminal category (the audit's Table 2 categories)",
    "scr_id": "ICM identifier of the significant case report",
    "case_number": "ICM case number; one case can have several SCRs",
    "scr_type": "INITIAL (the case's first SCR), DISRUPTION or DISMANTLEMENT",
    "field_office": "HSI field office that filed the SCR",
    "approved_date": "Date the SCR was approved (empty unless APPROVED)",
    "last_modified_at": "When ICM last changed the SCR record",
    "tco_involvement": "ICM TCO checkbox: Y, N or empty (mandatory since 2023-07-18)",
    "subject_count": "Number of subjects on the SCR",
    "countries": "Countries involved (ISO codes, semicolon-separated)",
    "determination": "TCO, NON_TCO or UNDETERMINED (data missing); empty when quarantined",
    "non_tco_reason": "Why not a TCO: no_association, no_border_crossing, both or indicator_no",
    "indicator_conflict": "The checkbox disagrees with the definition test",
    "status": "Status of the SCR's current record (APPROVED, PENDING, REJECTED, ...) or of a "
    "case review (reviewed, unreviewable, in_dispute, rejected)",
    "source_file": "Landing file the row was read from",
    "source_row": "Row of that file (1 = first data row; for a workbook, the sheet row)",
    "file_id": "Number of the ingested landing file (ingest_reconciliation)",
    # measures
    "measure_type": "How the year was published: percent (FY2017-FY2020) or count (from FY2021)",
    "target": "Published target (audit Table 1; schemas/reference/annual_targets.csv); a "
    "percent as a fraction (0.158 = 15.8%)",
    "reported_result": "Result HSI published (audit Table 1), for comparison",
    "quarters_reported": "Fiscal quarters of the year with measured data",
    "initial_approved": "Approved INITIAL SCRs (initial investigations)",
    "initial_tco": "Approved INITIAL SCRs determined TCO",
    "disruptions": "Approved disruption SCRs",
    "dismantlements": "Approved dismantlement SCRs",
    "dd_total": "Approved disruptions + dismantlements (the old, approval-based count)",
    "dd_tco": "Approved disruptions + dismantlements determined TCO (the TCO-validated count)",
    "dd_non_tco": "Approved disruptions + dismantlements determined not a TCO",
    "dd_undetermined": "Approved disruptions + dismantlements that cannot be determined "
    "(subjects or countries missing)",
    "fytd_initial_approved": "Approved INITIAL SCRs, fiscal year to date",
    "fytd_initial_tco": "Approved INITIAL SCRs determined TCO, fiscal year to date",
    "fytd_dd_total": "Disruptions + dismantlements, fiscal year to date (old method)",
    "fytd_dd_tco": "Disruptions + dismantlements determined TCO, fiscal year to date",
    "pct_all": "Fiscal year to date: disruptions + dismantlements / approved initial "
    "investigations (old method percent)",
    "pct_tco": "Fiscal year to date: TCO disruptions + dismantlements / TCO initial "
    "investigations (TCO-validated percent)",
    "result_old_method": "Result by the old method: dd_total, or dd_total / initial_approved "
    "in percent years",
    "result_tco_validated": "Result by the TCO-validated method: dd_tco, or dd_tco / "
    "initial_tco in percent years",
    "met_target_old_method": "Old-method result at or above target (empty: no target)",
    "met_target_tco_validated": "TCO-validated result at or above target (empty: no target)",
    "no_association": "Not a TCO: no association of individuals (one subject)",
    "no_border_crossing": "Not a TCO: no international border crossing",
    "both": "Not a TCO: neither prong met",
    "indicator_no": "TCO checkbox answered N (not TCO-related) by the agent",
    # SCRs and findings
    "quarantine_rules": "Error rules the SCR's current record broke (it is not counted)",
    "rule_id": "Validation rule (catalogue: docs/VALIDATION.md)",
    "severity": "error (the record is quarantined) or warning (it is kept and counted)",
    "message": "What is wrong, in words, with the value found",
    "column_name": "Column of the landing file the finding is about",
    "failure_value": "The value found in that column",
    "extract_type": "Kind of landing file: scr_extract, resource_requests or case_reviews",
    "record_id": "Identifier of the record the finding is about (SCR, request or case)",
    # reviews
    "reviewed_on": "Date of the analyst's review",
    "association_of_individuals": "Review prong A: Y when more than one person is involved",
    "crosses_international_border": "Review prong B: Y when the activity crosses a border",
    "notes": "Reviewer's notes",
    "reviews": "Review rows landed for the case",
    "rejected": "The latest review broke a rule and does not count",
    "rejected_rules": "Rules that review broke",
    "exception": "The analysts found the case not a TCO (a prong answered N)",
    "failed_prong": "Which prong failed: association, border or both",
    "reviewer": "Who reviewed the case",
    "review_role": "first, second (independent) or adjudication review",
    "review_outcome": "REVIEWED (or empty): the prongs were assessed; UNREVIEWABLE: the case file "
    "could not be reviewed (its SCRs are replaced by spares in a stratified sample)",
    "invalid_reviews": "Review rows of the case that broke a rule: findings, ignored (the latest "
    "valid review stands)",
    "analyst_verdict": "TCO when the review meets both prongs, else NOT_TCO",
    # resource requests
    "request_id": "Identifier of the resource request",
    "program_office": "HSI program office that submitted the request",
    "title": "Title of the request",
    "amount_usd": "Amount requested, US dollars",
    "positions": "Positions requested",
    "cites_scr_data": "Y when the request cites SCR data",
    "scr_categories": "SCR criminal categories the request's work falls under",
    "submitted_date": "Date submitted",
    "evidence_fiscal_year": "Fiscal year whose SCRs are the request's evidence (the last "
    "complete one before submission)",
    "approved_scrs": "SCRs approved in the request's categories in the evidence year",
    "evidence_available": "SCR evidence existed for the request's categories",
    "evidence_gap": "Evidence existed but the request did not cite SCR data",
    # estimates
    "sample_id": "Audit sample the figures come from",
    "dd_tco_published": "Disruptions + dismantlements published as TCO that year",
    "population_cases": "Cases in the sample's population that year",
    "reviewed_cases": "Sampled cases with a valid review",
    "reviewed_scrs": "Counted disruption/dismantlement SCRs of the reviewed cases",
    "reviewed_tco_scrs": "Of those, SCRs the analysts found TCO-related",
    "ratio": "Share of reviewed SCRs found TCO-related",
    "estimate": "Estimated number truly TCO-related",
    "standard_error": "Standard error of the estimate",
    "lower_bound": "Lower end of the confidence interval",
    "upper_bound": "Upper end of the confidence interval",
    "confidence": "Confidence level of the interval (0.9 = 90%)",
    "method": "Estimation method: ratio (simple random sample of cases) or stratified",
    "note": "Remark on the estimate (e.g. too few reviews)",
    # closeout evidence (report section 8)
    "scrs_created": "SCRs created in the quarter (on or after 2023-07-18)",
    "checkbox_filled": "Of those, SCRs whose TCO checkbox is answered Y or N",
    "checkbox_share": "checkbox_filled / scrs_created",
    "checkbox_yes": "Of those, SCRs answered Y (TCO-related)",
    "conflicts": "SCRs whose checkbox disagrees with the definition test",
    "rules_applied": "Validation rules applied to every SCR row",
    "error_findings": "Findings of error rules (the SCR is quarantined)",
    "warning_findings": "Findings of warning rules, checkbox conflicts included (the SCR is kept)",
    "quarantined": "SCRs quarantined (not counted)",
    "scrs_with_approval": "SCRs approved in the fiscal year",
    "quarantined_share": "quarantined / scrs_with_approval",
    "audit_sample_id": "Latest audit sample covering the year",
    "audit_sample_size": "Cases drawn in that sample",
    "accuracy_sample_id": "Latest reviewed sample covering the year",
    "accuracy_reviewed_cases": "Cases of that sample with a valid review",
    "accuracy_agreement": "Share of compared SCRs where determination and review agree",
    "tco_estimate": "Estimated number of truly TCO-related disruptions and dismantlements",
    "tco_lower_bound": "Lower end of its 90% interval",
    "tco_upper_bound": "Upper end of its 90% interval",
    "period": "Submitted on or before the guidance date (2024-01-31), or after it",
    "requests": "Resource requests",
    "citing_scr_data": "Requests that cite SCR data",
    "citing_share": "citing_scr_data / requests",
    "evidence_not_cited": "Requests whose categories had SCR evidence they did not cite",
    # the other published tables
    "file": "Landing file name as landed",
    "content_sha256": "SHA-256 of the file's bytes",
    "size_bytes": "File size in bytes",
    "rows_read": "Data rows read from the file",
    "rows_stored": "Rows stored in the warehouse",
    "rows_valid": "Rows with no error finding",
    "rows_quarantined": "Rows with an error finding",
    "rows_current": "Rows that are the current record of their SCR or request",
    "rows_superseded": "Rows replaced by a later version",
    "validated": "The file's rows were checked by the current rules",
    "ingested_at": "When the file was ingested (UTC)",
    "run_id": "Dagster run that did it",
    "state": "active, replaced (same name, new content) or retracted",
    "state_changed_at": "When the state last changed",
    "state_reason": "Why the file was retracted",
    "superseded_at": "When the published row was restated",
    "previous_refresh_id": "Refresh whose publication is restated",
    "previous_published_at": "When it was published",
    "new_refresh_id": "Refresh that restates it",
    "new_refreshed_at": "When that refresh computed it",
    "cause_file": "Landing file that changed the SCR",
    "cause_row": "Its row",
    "changed_fields": "Fields of the SCR that changed",
    "before_counted": "Counted before the restatement",
    "before_scr_type": "Scr type before the restatement",
    "before_criminal_category": "Criminal category before the restatement",
    "before_determination": "Determination before the restatement",
    "before_non_tco_reason": "Non tco reason before the restatement",
    "before_fiscal_year": "Fiscal year before the restatement",
    "before_fiscal_quarter": "Fiscal quarter before the restatement",
    "after_counted": "Counted after the restatement",
    "after_scr_type": "Scr type after the restatement",
    "after_criminal_category": "Criminal category after the restatement",
    "after_determination": "Determination after the restatement",
    "after_non_tco_reason": "Non tco reason after the restatement",
    "after_fiscal_year": "Fiscal year after the restatement",
    "after_fiscal_quarter": "Fiscal quarter after the restatement",
    "counted": "The SCR counts in a measure (approved, current record valid)",
    "seed": "Random seed of the draw",
    "drawn_at": "When the sample was drawn",
    "fiscal_years": "Fiscal years the sample covers",
    "dimension": "overall, or the breakdown the row is for",
    "value": "The breakdown's value (or the determination / checkbox value)",
    "population": "Cases (or SCRs) in the population",
    "sampled": "Cases sampled",
    "reviewed": "Sampled cases with a valid review",
    "exceptions": "Reviewed cases found not a TCO",
    "sample_size": "Cases in the sample",
    "complete": "Every sampled case is reviewed",
    "rate": "Share of exceptions",
    "rate_lower": "Lower bound of that share",
    "rate_upper": "Upper bound of that share",
    "point_estimate": "Projected number of exceptions in the population",
    "source": "determination or checkbox",
    "scrs": "SCRs in the cell",
    "not_citing_scr_data": "Requests that do not cite SCR data",
    "evidence_gaps": "Requests with SCR evidence they did not cite",
    "gap_amount_usd": "Amount of those requests, US dollars",
    "gap_positions": "Positions of those requests",
    "indicator_conflicts": "SCRs whose checkbox disagrees with the definition test",
    "rules_triggered": "Rules with at least one finding",
    "extract_files": "Extract files the year's figures come from, with SHA-256",
    "restatements": "SCR contributions restated",
    "restating_refreshes": "Refreshes that restated the year",
    "undetermined": "Counted SCRs that cannot be determined",
    "undetermined_share": "Undetermined share of counted disruptions and dismantlements",
    "audit_fiscal_years": "Fiscal years of the audit sample",
    "audit_population": "Cases in the audit population",
    "audit_exceptions": "Reviewed cases found not a TCO",
    "audit_confidence": "Confidence of the audit projection",
    "audit_point_estimate": "Projected non-TCO cases",
    "audit_lower_bound": "Lower bound of that projection",
    "audit_upper_bound": "Upper bound of that projection",
    "accuracy_scrs_compared": "SCRs compared with the reviews",
    "accuracy_scrs_not_compared": "SCRs not compared (undetermined or no checkbox)",
    "accuracy_kappa": "Cohen's kappa of that comparison",
    "tco_confidence": "Confidence of the estimate's interval",
    "tco_estimate_note": "Remark on the estimate",
    "element_a": "V&V element (A): means used to verify and validate",
    "element_b": "V&V element (B): data sources",
    "element_c": "V&V element (C): accuracy required",
    "element_d": "V&V element (D): limitations",
    "element_e": "V&V element (E): how limitations are compensated",
    # landing reconciliation (a second reader's count)
    "records_in_file": "Records in the file by an independent count (a second CSV reader, or the "
    "Parquet footer); must equal rows_read or the file is refused",
    # reviewer agreement (first vs second review of the same case)
    "item": "What two reviewers are compared on: prong A (association_of_individuals), prong B "
    "(crosses_international_border) or the verdict",
    "cases": "Cases reviewed by both a first and a second reviewer, each with a verdict",
    "agree": "Of those cases, how many the two reviewers answered alike",
    "agreement": "Share of cases on which the two reviewers agree (agree / cases)",
    "kappa": "Cohen's kappa: agreement beyond what chance alone would give (1 perfect, 0 chance)",
    # stratified validation samples (strata.parquet, frame.parquet)
    "stratum": "Stratum of a stratified validation sample: determination / criminal category "
    "(small categories merged into '<determination> / other categories')",
    "spares": "Spare SCRs drawn after the sample in this stratum, used in rank order when a "
    "sampled case cannot be reviewed",
    "anticipated_rate": "TCO share expected in the stratum when the sample was planned (from the "
    "latest reviewed sample, else a conservative default)",
    "rank": "Place of the SCR in its stratum's order by SHA-256 of '<seed>:<scr_id>'",
    "role": "sample (drawn), spare (drawn as a replacement) or none (in the frame only)",
    "second_review": "Whether the case was drawn for an independent second review",
    # the V&V statement's accuracy facts (vv_statement.parquet)
    "tco_method": "Estimator behind the year's accuracy statement: stratified (validation sample "
    "of the published count) or ratio (simple random sample of cases)",
    "tco_sample_scrs": "SCRs of the stratified validation sample behind the estimate",
    "tco_strata": "Strata of that stratified validation sample",
    "tco_planned_half_width": "Half-width of the interval the sample was planned for, in SCRs",
    "tco_achieved_half_width": "Half-width of the interval the reviews achieved, in SCRs",
}
