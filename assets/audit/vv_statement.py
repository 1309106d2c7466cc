"""The verification-and-validation statement of each fiscal year, from the pipeline's own facts.

Why: the GPRA Modernization Act (31 U.S.C. 1115(b)(8)) asks, for each performance measure, (A)
how measured values are verified and validated, (B) the data sources, (C) the accuracy required
for the intended use, (D) limitations at that accuracy and (E) how the agency compensates.
Every number in the wording comes from the warehouse of this refresh (``facts``); the text is
written to be pasted into an annual performance report. Published as ``vv_statement.parquet``
(one row per fiscal year) and ``report/vv_FYyyyy.html`` beside the quarterly report.
"""

import dagster as dg
import duckdb
import pyarrow as pa

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, existing_tables, table_metadata
from assets._shared.resources import WarehouseResource
from assets.audit.projection import CONFIDENCE
from assets.audit.reviewer_agreement import agreement_by_sample, agreement_sentence
from assets.audit.stats import _z
from assets.audit.stratified import METHOD as STRATIFIED
from assets.audit.tables import ensure_audit_tables
from assets.measures.restatements import ensure_tables as ensure_restatement_tables
from schemas.counting import COUNTING_MACROS
from schemas.reference import rules

ELEMENTS = {
    "element_a": "(A) Means used to verify and validate measured values",
    "element_b": "(B) Sources for the data",
    "element_c": "(C) Level of accuracy required for the intended use",
    "element_d": "(D) Limitations to the data at the required level of accuracy",
    "element_e": "(E) How the agency compensates for such limitations",
}

FACTS_SQL = """
WITH d AS (SELECT *, is_dd(scr_type) AS is_dd FROM scr_determinations),
y AS (
    SELECT fiscal_year, count(*) AS scrs_with_approval, count(*) FILTER (counted) AS counted,
        count(*) FILTER (quarantined) AS quarantined,
        count(*) FILTER (counted AND is_dd) AS dd_total,
        count(*) FILTER (counted AND counts_in('dd_tco', scr_type, determination, non_tco_reason)) AS dd_tco,
        count(*) FILTER (counted AND counts_in('dd_non_tco', scr_type, determination, non_tco_reason))
            AS dd_non_tco,
        count(*) FILTER (counted AND counts_in('dd_undetermined', scr_type, determination, non_tco_reason))
            AS dd_undetermined,
        count(*) FILTER (counted AND is_undetermined(determination)) AS undetermined,
        count(*) FILTER (indicator_conflict) AS indicator_conflicts,
        list(DISTINCT source_file || ' sha256:' || coalesce(content_sha256, '?')
             ORDER BY source_file || ' sha256:' || coalesce(content_sha256, '?')) AS extract_files
    FROM d GROUP BY fiscal_year
), f AS (
    SELECT d.fiscal_year, count(*) FILTER (f.severity = 'error') AS error_findings,
        count(*) FILTER (f.severity = 'warning') AS warning_findings,
        count(DISTINCT f.rule_id) AS rules_triggered
    FROM scr_findings f JOIN d ON d.scr_id = f.record_id GROUP BY d.fiscal_year
), r AS (
    SELECT fiscal_year, count(*) AS restatements, count(DISTINCT new_refresh_id) AS restating_refreshes
    FROM restatements GROUP BY fiscal_year
), a AS (
    SELECT p.*, s.fiscal_year_from, s.fiscal_year_to
    FROM audit_projection p JOIN audit_samples s USING (sample_id)
    WHERE p.dimension = 'overall' AND p.method = 'normal' AND p.point_estimate IS NOT NULL
), planned AS (  -- a stratified sample's planned half-width, from its strata's anticipated rates
    SELECT sample_id, count(*) AS strata, $z * sqrt(sum(CASE WHEN sample_size < population THEN
        population * (population - sample_size) * anticipated_rate * (1 - anticipated_rate)
        / nullif(sample_size - 1, 0) ELSE 0 END)) AS planned_half_width
    FROM audit_sample_strata GROUP BY sample_id
), e AS (  -- the latest reviewed sample's estimate and agreement for each year it covers
    SELECT e.*, g.compared, g.not_compared, g.agreement, g.kappa, s.sample_scrs, p.strata,
        p.planned_half_width,
        row_number() OVER (PARTITION BY e.fiscal_year ORDER BY e.sample_id DESC) AS rn
    FROM measure_estimates e LEFT JOIN determination_agreement g
        ON g.sample_id = e.sample_id AND g.fiscal_year = e.fiscal_year
        AND g.source = 'determination'
    LEFT JOIN audit_samples s ON s.sample_id = e.sample_id
    LEFT JOIN planned p ON p.sample_id = e.sample_id
    WHERE e.criminal_category IS NULL  -- overall rows; a stratified sample's categories are domains
)
SELECT CAST(y.fiscal_year AS INTEGER) AS fiscal_year, m.measure_type, m.target,
    m.result_tco_validated, m.result_old_method, m.met_target_tco_validated,
    y.scrs_with_approval, y.counted, y.quarantined,
    CASE WHEN y.scrs_with_approval > 0 THEN y.quarantined / y.scrs_with_approval END AS quarantined_share,
    y.dd_total, y.dd_tco, y.dd_non_tco, y.dd_undetermined, y.undetermined,
    CASE WHEN y.dd_total > 0 THEN y.dd_undetermined / y.dd_total END AS undetermined_share,
    y.indicator_conflicts, CAST($rules AS BIGINT) AS rules_applied,
    coalesce(f.error_findings, 0) AS error_findings, coalesce(f.warning_findings, 0) AS warning_findings,
    coalesce(f.rules_triggered, 0) AS rules_triggered, y.extract_files,
    coalesce(r.restatements, 0) AS restatements, coalesce(r.restating_refreshes, 0) AS restating_refreshes,
    a.sample_id AS audit_sample_id, a.fiscal_years AS audit_fiscal_years,
    a.population AS audit_population, a.sample_size AS audit_sample_size,
    a.exceptions AS audit_exceptions, a.confidence AS audit_confidence,
    a.point_estimate AS audit_point_estimate, a.lower_bound AS audit_lower_bound,
    a.upper_bound AS audit_upper_bound,
    e.sample_id AS accuracy_sample_id, e.reviewed_cases AS accuracy_reviewed_cases,
    e.compared AS accuracy_scrs_compared, e.not_compared AS accuracy_scrs_not_compared,
    e.agreement AS accuracy_agreement, e.kappa AS accuracy_kappa,
    e.estimate AS tco_estimate, e.lower_bound AS tco_lower_bound,
    e.upper_bound AS tco_upper_bound, e.confidence AS tco_confidence, e.note AS tco_estimate_note,
    e.method AS tco_method, e.sample_scrs AS tco_sample_scrs, e.strata AS tco_strata,
    e.planned_half_width AS tco_planned_half_width,
    (e.upper_bound - e.lower_bound) / 2 AS tco_achieved_half_width
FROM y LEFT JOIN annual_measures m USING (fiscal_year) LEFT JOIN f USING (fiscal_year)
LEFT JOIN r USING (fiscal_year) LEFT JOIN e ON e.fiscal_year = y.fiscal_year AND e.rn = 1
LEFT JOIN LATERAL (  -- the latest sample drawn over a range of years that holds this one
    SELECT * FROM a WHERE y.fiscal_year BETWEEN a.fiscal_year_from AND a.fiscal_year_to
    ORDER BY a.sample_id DESC LIMIT 1
) a ON true
ORDER BY y.fiscal_year
"""


def _n(v) -> str:
    return f"{int(v or 0):,}"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _result(v, measure_type: str | None) -> str:
    if v is None:
        return "n/a"
    return _pct(v) if measure_type == "percent" else _n(v)


def _element_a(f: dict) -> str:
    text = (
        f"Every version of every Significant Case Report (SCR) in the ICM extracts is checked "
        f"against {_n(f['rules_applied'])} documented validation rules before it can count. For "
        f"the {_n(f['scrs_with_approval'])} SCRs approved in FY{f['fiscal_year']}, the checks "
        f"recorded {_n(f['error_findings'])} errors (the SCR is quarantined) and "
        f"{_n((f['warning_findings'] or 0) + (f['indicator_conflicts'] or 0))} warnings (the SCR "
        f"is kept), as the report's findings count them; {_n(f['quarantined'])} SCRs whose current "
        f"record breaks a rule were excluded from the count. Each counted SCR's TCO determination "
        f"is computed from its subject count and countries (an association of individuals "
        f"crossing international borders) and cross-checked against the ICM TCO-involvement "
        f"indicator: {_n(f['indicator_conflicts'])} conflicts, counted among the warnings. The "
        f"published counts are recomputed from the SCR-level records on every "
        f"refresh and must match before anything is published."
    )
    if f["audit_sample_id"] is not None:
        text += (
            f" Analysts reviewed {_n(f['audit_sample_size'])} cases of random audit sample "
            f"{f['audit_sample_id']} (fiscal years {f['audit_fiscal_years']}) against both prongs "
            f"of the TCO definition."
        )
    return text


def _element_b(f: dict) -> str:
    files = f["extract_files"] or []
    return (
        f"ICM Significant Case Report extracts received by OAO; the current records of "
        f"FY{f['fiscal_year']}'s SCRs come from {len(files)} extract file(s), each identified by "
        f"its SHA-256 content hash: {'; '.join(files)}. Every version is archived as received."
    )


def _interval(f: dict) -> str:
    """'548, 90% confidence interval 512 to 584' (thousands separators)."""
    return (
        f"{_n(f['tco_estimate'])}, {100 * float(f['tco_confidence']):g}% confidence interval "
        f"{_n(f['tco_lower_bound'])} to {_n(f['tco_upper_bound'])}"
    )


def accuracy_sentence(f: dict) -> str:
    """The measured accuracy of the determination and the estimate, in words (elements C, D)."""
    if f["accuracy_sample_id"] is None:
        return (
            f"No reviewed audit sample covers FY{f['fiscal_year']}, so the accuracy of the "
            f"automated TCO determination is not measured for this year."
        )
    cases = f"analysts' review of {_n(f['accuracy_reviewed_cases'])} sampled cases"
    if f["tco_method"] == STRATIFIED:
        cases += (
            f" of a stratified validation sample of FY{f['fiscal_year']}'s counted disruptions "
            f"and dismantlements ({_n(f['tco_sample_scrs'])} SCRs in {_n(f['tco_strata'])} strata "
            f"of determination and criminal category, Neyman allocation)"
        )
    if f["accuracy_agreement"] is None:
        text = (
            f"The {cases} (audit sample {f['accuracy_sample_id']}) found no counted disruption "
            f"or dismantlement of FY{f['fiscal_year']} determined TCO or NON_TCO to compare"
        )
    else:
        text = (
            f"The {cases} (audit sample {f['accuracy_sample_id']}) agreed with the automated "
            f"determination for {100 * float(f['accuracy_agreement']):.0f}% of their SCRs "
            f"({_n(f['accuracy_scrs_compared'])} compared"
            + (
                f", {_n(f['accuracy_scrs_not_compared'])} UNDETERMINED not compared"
                if f["accuracy_scrs_not_compared"]
                else ""
            )
            + ")"
        )
    if f["tco_estimate"] is None:
        return text + f"; {f['tco_estimate_note']}."
    return text + (
        f"; the estimated number of TCO-related disruptions and dismantlements is "
        f"{_interval(f)}, against {_n(f['dd_tco'])} published{_precision(f)}."
    )


def _precision(f: dict) -> str:
    """' (planned precision +/- 17.0 SCRs, achieved +/- 15.5)' for a stratified sample."""
    if f["tco_method"] != STRATIFIED or f["tco_planned_half_width"] is None:
        return ""
    return (
        f" (planned precision +/- {float(f['tco_planned_half_width']):.1f} SCRs, achieved "
        f"+/- {float(f['tco_achieved_half_width']):.1f})"
    )


def _element_c(f: dict) -> str:
    mt, target, res = f["measure_type"], f["target"], f["result_tco_validated"]
    text = (
        "The measure is reported publicly and compared with an annual target, so every counted "
        "disruption or dismantlement must be an approved SCR whose current record passed "
        "validation and describes a transnational criminal organization, traceable to the file "
        "and row it came from."
    )
    text += " Measured accuracy: " + accuracy_sentence(f)
    text += agreement_sentence(f.get("reviewer_agreement"))  # when a second review exists
    if target is None or res is None:
        return text + f" No target is recorded for FY{f['fiscal_year']}."
    if mt == "percent":
        gap = abs(float(res) - float(target)) * 100
        return text + (
            f" The FY{f['fiscal_year']} result, {_result(res, mt)}, is {gap:.1f} percentage points "
            f"{'above' if res >= target else 'below'} the target of {_result(target, mt)}."
        )
    margin = int(res) - int(target) + 1 if res >= target else int(target) - int(res)
    return text + (
        f" The FY{f['fiscal_year']} result, {_n(res)}, {'meets' if res >= target else 'misses'} "
        f"the target of {_n(target)}; a misstatement of {_n(margin)} or more SCRs would be needed "
        f"to change whether the target was met."
    )


def _element_d(f: dict) -> str:
    text = (
        f"{_n(f['dd_undetermined'])} of {_n(f['dd_total'])} counted disruptions and dismantlements "
        f"({_pct(f['undetermined_share'])}) are UNDETERMINED: SCRs created before 18 July 2023 "
        f"carry no TCO-involvement indicator and lack the subject or country data needed to test "
        f"the definition. {_n(f['quarantined'])} of {_n(f['scrs_with_approval'])} SCRs approved "
        f"in the year ({_pct(f['quarantined_share'])}) are quarantined and not counted until "
        f"corrected. {_n(f['indicator_conflicts'])} SCRs carry an indicator that disagrees with "
        f"the definition test. Late corrections restated {_n(f['restatements'])} SCR "
        f"contribution(s) to this year's published quarters."
    )
    if f["audit_sample_id"] is not None:
        text += (
            f" The latest audit sample projects {_n(f['audit_point_estimate'])} of "
            f"{_n(f['audit_population'])} cases as not TCO-related ("
            f"{100 * float(f['audit_confidence']):g}% confidence bounds "
            f"{_n(f['audit_lower_bound'])} to {_n(f['audit_upper_bound'])})."
        )
    else:
        text += " No audit sample covers this fiscal year, so no sampling estimate is available."
    if f["tco_estimate"] is not None:
        text += (
            f" At the measured accuracy the published count of {_n(f['dd_tco'])} TCO-related "
            f"disruptions and dismantlements is uncertain: the estimated true number is "
            f"{_interval(f)} (audit sample {f['accuracy_sample_id']}, "
            + ("stratified estimate" if f["tco_method"] == STRATIFIED else "ratio estimate")
            + f"{_precision(f)})."
        )
    return text


def _element_e(f: dict) -> str:
    return (
        f"Undetermined SCRs are reported separately ({_n(f['dd_undetermined'])} in "
        f"FY{f['fiscal_year']}) and never counted as TCO-related; the approval-based count "
        f"({_result(f['result_old_method'], f['measure_type'])}) is published beside the "
        f"TCO-validated one. Quarantined SCRs are listed with the rules they break so the field "
        f"can correct them, and corrections are counted on the next refresh. Every restatement "
        f"is published with the SCRs and files that caused it, and the figures published before "
        f"it are kept. Each count can be traced to its SCRs with `scr-pipeline explain`."
    )


def statement_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """One row per fiscal year: the facts and the five elements written from them."""
    con.execute(COUNTING_MACROS)  # also on a connection the warehouse resource did not open
    ensure_audit_tables(con)
    ensure_restatement_tables(con)
    have = existing_tables(con)
    if "audit_projection" not in have:
        from assets.audit.projection import build_projection

        build_projection(con)
    if not {"determination_accuracy", "determination_agreement"} <= have:
        from assets.audit.accuracy import build_accuracy

        build_accuracy(con)
    if "measure_estimates" not in have:
        from assets.audit.estimates import build_estimates

        build_estimates(con)
    n_rules = sum(1 for r in rules() if r.startswith("scr."))
    facts = con.sql(FACTS_SQL, params={"rules": n_rules, "z": _z(CONFIDENCE)}).to_arrow_table()
    rows = facts.to_pylist()  # one per fiscal year
    reviewers = agreement_by_sample(con) if "reviewer_agreement" in have else {}
    for f in rows:
        f["reviewer_agreement"] = reviewers.get(f["accuracy_sample_id"])
        for key, write in zip(
            ELEMENTS, (_element_a, _element_b, _element_c, _element_d, _element_e), strict=True
        ):
            f[key] = write(f)
    schema = pa.schema([*facts.schema, *((k, pa.string()) for k in ELEMENTS)])
    return pa.Table.from_pylist(rows, schema=schema)


@dg.asset(
    code_version=code_version_of(__name__),
    deps=[
        "scr_determinations",
        "restatements",
        "annual_measures",
        "audit_projection",
        "determination_accuracy",
        "measure_estimates",
        "reviewer_agreement",
    ],
    kinds={"duckdb"},
    owners=[*OWNERS, "team:oao-analysts"],
    description="The GPRA verification-and-validation statement per fiscal year, elements (A) to "
    "(E), written from this refresh's facts (files and hashes, rules and findings, quarantined "
    "and undetermined shares, conflicts, restatements, audit projection, measured accuracy of "
    "the determination and the ratio estimate of the TCO-related count).",
)
def vv_statement(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        table = statement_rows(con)
        con.register("__vv", table)
        con.execute("CREATE OR REPLACE TABLE vv_statement AS SELECT * FROM __vv")
        con.unregister("__vv")
        meta = table_metadata(
            con, "vv_statement", "SELECT fiscal_year, counted, quarantined, dd_undetermined, "
            "indicator_conflicts, restatements FROM vv_statement ORDER BY fiscal_year",
        )  # fmt: skip
    context.log.info(f"V&V statements for {table.num_rows} fiscal year(s)")
    return dg.MaterializeResult(metadata=meta)


def page_name(fiscal_year: int) -> str:
    return f"vv_FY{fiscal_year}.html"
