"""Measure estimates: how many of the counted disruptions and dismantlements are truly TCO-related.

Why: the published TCO-validated count trusts the automated determination. The analysts'
reviews of a random sample of cases turn it into an estimate with a confidence interval: the
case-level ratio estimator (Cochran 1977, ch. 6; :func:`assets.audit.stats.ratio_estimate`,
docs/audit-statistics.md). One row per recorded sample with reviews and per fiscal year it
covers:

- x (per reviewed case) = its counted DD SCRs approved in the year; y = x when the analysts'
  verdict is TCO, else 0 (the verdict of ``assets.audit.accuracy.REVIEWED_CASES_SQL``);
- X = ``dd_total``, the year's counted DD SCRs, from the same current records as the published
  count; N = the population of cases recorded when the sample was drawn.

The ``validation_sample_due`` check on ``annual_measures`` (Recommendation 2: validate every
year) warns when the latest fiscal year with published counts has no reviewed sample.
"""

import dagster as dg
import duckdb
import pyarrow as pa

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, existing_tables, table_metadata
from assets._shared.resources import FilesResource, WarehouseResource
from assets.audit.accuracy import REVIEWED_CASES_SQL
from assets.audit.projection import CONFIDENCE
from assets.audit.stats import _z, ratio_estimate
from assets.audit.stratified import METHOD as STRATIFIED
from assets.audit.stratified import estimate_bounds
from assets.audit.tables import ensure_audit_tables
from schemas.counting import COUNTING_MACROS

OUTPUT_FILE = "measure_estimates.parquet"

CASES_SQL = f"""
WITH reviewed AS ({REVIEWED_CASES_SQL}),
years AS (
    SELECT a.sample_id, a.population, CAST(y.fy AS INTEGER) AS fiscal_year
    FROM audit_samples a, LATERAL range(a.fiscal_year_from, a.fiscal_year_to + 1) y(fy)
    WHERE a.method <> 'stratified'  -- a stratified sample of SCRs has its own estimator
), dd AS (
    SELECT case_number, fiscal_year, count(*) AS x,
        count(*) FILTER (is_tco(determination)) AS tco
    FROM scr_current s WHERE s.counted AND is_dd(s.scr_type) GROUP BY ALL
), totals AS (
    SELECT fiscal_year, sum(x) AS dd_total, sum(tco) AS dd_tco_published FROM dd GROUP BY ALL
), cases AS (
    SELECT y.sample_id, y.fiscal_year, y.population, v.case_number, coalesce(d.x, 0) AS x,
        CASE WHEN v.analyst_verdict = 'TCO' THEN coalesce(d.x, 0) ELSE 0 END AS y
    FROM years y JOIN reviewed v USING (sample_id)
    LEFT JOIN dd d ON d.case_number = v.case_number AND d.fiscal_year = y.fiscal_year
)
SELECT c.sample_id, c.fiscal_year, CAST(coalesce(t.dd_total, 0) AS BIGINT) AS dd_total,
    CAST(coalesce(t.dd_tco_published, 0) AS BIGINT) AS dd_tco_published,
    CAST(c.population AS BIGINT) AS population_cases,
    list(c.x ORDER BY c.case_number) AS xs, list(c.y ORDER BY c.case_number) AS ys
FROM cases c LEFT JOIN totals t USING (fiscal_year)
GROUP BY ALL ORDER BY c.sample_id, c.fiscal_year
"""

SCHEMA = pa.schema(
    [
        ("sample_id", pa.int32()),
        ("fiscal_year", pa.int32()),
        ("dd_total", pa.int64()),
        ("dd_tco_published", pa.int64()),
        ("population_cases", pa.int64()),
        ("reviewed_cases", pa.int64()),
        ("reviewed_scrs", pa.int64()),
        ("reviewed_tco_scrs", pa.int64()),
        ("ratio", pa.float64()),
        ("estimate", pa.int64()),
        ("standard_error", pa.float64()),
        ("lower_bound", pa.int64()),
        ("upper_bound", pa.int64()),
        ("confidence", pa.float64()),
        ("method", pa.string()),
        ("note", pa.string()),
        ("criminal_category", pa.string()),
    ]
)


def estimate_rows(groups: pa.Table) -> pa.Table:
    """One estimate per (sample, fiscal year) group: a few dozen groups, not data rows."""
    rows = []
    for g in groups.to_pylist():
        res = ratio_estimate(g["xs"], g["ys"], g["population_cases"], g["dd_total"], CONFIDENCE)
        rows.append(
            {k: g[k] for k in ("sample_id", "fiscal_year", "dd_total", "dd_tco_published")}
            | {"population_cases": g["population_cases"], "reviewed_scrs": res["sum_x"]}
            | {"reviewed_tco_scrs": res["sum_y"]}
            | {k: res[k] for k in SCHEMA.names if k in res}
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


# The stratified samples' SCRs with the verdict of their case (status 'reviewed' only) and
# whether the case was found unreviewable; ``used`` marks the effective sample: per stratum the
# first n_h sample-or-spare SCRs in rank order whose case is not unreviewable (a spare takes the
# place of an unreviewable SCR), counted when their case has a verdict.
STRATIFIED_SQL = f"""
WITH reviewed AS ({REVIEWED_CASES_SQL}),
unreviewable AS (SELECT case_number FROM case_review_current WHERE status = 'unreviewable'),
f AS (
    SELECT f.sample_id, f.scr_id, f.case_number, f.stratum, f.rank, f.role,
        coalesce(f.criminal_category, '(none)') AS criminal_category,
        CASE WHEN u.case_number IS NULL THEN v.analyst_verdict END AS verdict,
        u.case_number IS NOT NULL AS unreviewable
    FROM audit_sample_frame f
    LEFT JOIN reviewed v ON v.sample_id = f.sample_id AND v.case_number = f.case_number
    LEFT JOIN (SELECT DISTINCT case_number FROM unreviewable) u ON u.case_number = f.case_number
), eff AS (
    SELECT f.*, row_number() OVER (PARTITION BY f.sample_id, f.stratum ORDER BY f.rank) AS k
    FROM f WHERE f.role IN ('sample', 'spare') AND NOT f.unreviewable
), used AS (
    SELECT e.* FROM eff e JOIN audit_sample_strata s USING (sample_id, stratum)
    WHERE e.k <= s.sample_size AND e.verdict IS NOT NULL
), cell AS (
    SELECT sample_id, stratum, criminal_category, count(*) AS n_hd,
        count(*) FILTER (verdict = 'TCO') AS x_hd, list(DISTINCT case_number) AS cases
    FROM used GROUP BY ALL
), per_stratum AS (
    SELECT sample_id, stratum, count(*) AS n_h, count(*) FILTER (verdict = 'TCO') AS x_h
    FROM used GROUP BY ALL
), frame AS (
    SELECT sample_id, stratum, criminal_category, count(*) AS population,
        count(*) FILTER (verdict = 'TCO') AS seen_tco, count(*) FILTER (verdict = 'NOT_TCO') AS seen_not,
        count(*) FILTER (role = 'sample' AND unreviewable) AS replaced
    FROM f GROUP BY ALL
)
SELECT fr.*, s.population AS stratum_population, coalesce(st.n_h, 0) AS n_h,
    coalesce(st.x_h, 0) AS x_h, coalesce(c.n_hd, 0) AS n_hd, coalesce(c.x_hd, 0) AS x_hd, c.cases
FROM frame fr JOIN audit_sample_strata s USING (sample_id, stratum)
LEFT JOIN per_stratum st USING (sample_id, stratum)
LEFT JOIN cell c ON c.sample_id = fr.sample_id AND c.stratum = fr.stratum
    AND c.criminal_category = fr.criminal_category
ORDER BY fr.sample_id, fr.stratum, fr.criminal_category
"""

TOTALS_SQL = """
SELECT fiscal_year, coalesce(criminal_category, '(none)') AS criminal_category, count(*) AS dd_total,
    count(*) FILTER (is_tco(determination)) AS dd_tco
FROM scr_current s WHERE s.counted AND is_dd(s.scr_type) GROUP BY ALL
"""


def _stratified_row(sample: dict, cells: list[dict], totals: dict, category: str | None) -> dict:
    """One estimate (overall when ``category`` is None, else the category as a domain:
    y = 1 for an SCR of the category the analysts call TCO; Cochran 5A)."""
    mine = [c for c in cells if category is None or c["criminal_category"] == category]
    strata = sorted({c["stratum"] for c in mine})
    by = {h: [c for c in cells if c["stratum"] == h] for h in strata}
    big_n = [by[h][0]["stratum_population"] for h in strata]
    n = [by[h][0]["n_h"] for h in strata]
    x = [by[h][0]["x_h"] if category is None else sum(c["x_hd"] for c in by[h]
         if c["criminal_category"] == category) for h in strata]  # fmt: skip
    low = sum(c["seen_tco"] for c in mine)
    high = sum(c["population"] for c in mine) - sum(c["seen_not"] for c in mine)
    dd_total, dd_tco = totals.get(category, (0, 0))
    cases = {k for c in mine for k in (c["cases"] or [])}
    row = {
        "sample_id": sample["sample_id"], "fiscal_year": sample["fiscal_year"],
        "dd_total": dd_total, "dd_tco_published": dd_tco,
        "population_cases": sample["population"], "reviewed_cases": len(cases),
        "reviewed_scrs": sum(c["n_hd"] for c in mine), "confidence": CONFIDENCE,
        "reviewed_tco_scrs": sum(c["x_hd"] for c in mine), "method": STRATIFIED,
        "criminal_category": category,
    }  # fmt: skip
    empty = [h for h, k in zip(strata, n, strict=True) if k == 0]
    if empty:
        return row | {"note": f"no reviewed SCR yet in {len(empty)} of {len(strata)} strata "
                              f"({', '.join(empty)}): no estimate"}  # fmt: skip
    res = estimate_bounds(big_n, n, x, _z(CONFIDENCE), low, high)
    notes = []
    if replaced := sum(c["replaced"] for c in mine):
        notes.append(f"{replaced} unreviewable sampled SCR(s) replaced by spares")
    if not res["variance_defined"]:
        notes.append(
            "a stratum has 1 reviewed SCR: variance undefined, bounds are the proven range"
        )
    return row | {
        "ratio": float(res["total"]) / sum(big_n) if category is None else
        float(res["total"]) / max(sum(c["population"] for c in mine), 1),
        "estimate": int(res["estimate"]),
        "standard_error": None if not res["variance_defined"] else float(res["standard_error"]),
        "lower_bound": int(res["lower_bound"]),
        "upper_bound": int(res["upper_bound"]),
        "note": "; ".join(notes) or None,
    }  # fmt: skip


def stratified_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """measure_estimates rows of every stratified sample with at least one reviewed SCR."""
    cells = con.sql(STRATIFIED_SQL).to_arrow_table()
    samples = con.execute(
        "SELECT sample_id, fiscal_year_from, population FROM audit_samples "
        "WHERE method = 'stratified' ORDER BY sample_id"
    ).fetchall()
    totals: dict[int, dict] = {}
    for fy, cat, dd_total, dd_tco in con.execute(TOTALS_SQL).fetchall():
        year = totals.setdefault(fy, {None: (0, 0)})
        year[cat] = (dd_total, dd_tco)
        year[None] = (year[None][0] + dd_total, year[None][1] + dd_tco)
    rows, all_cells = [], cells.to_pylist()
    for sample_id, fy, population in samples:
        mine = [c for c in all_cells if c["sample_id"] == sample_id]
        if not any(c["n_hd"] for c in mine):
            continue  # no reviewed SCR yet: no row, as for a sample without reviews
        sample = {"sample_id": sample_id, "fiscal_year": fy, "population": population}
        for category in [None, *sorted({c["criminal_category"] for c in mine})]:
            rows.append(_stratified_row(sample, mine, totals.get(fy, {}), category))
    return rows


def build_estimates(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(Re)compute ``measure_estimates`` from the recorded samples and the current reviews."""
    con.execute(COUNTING_MACROS)  # is_tco, also on a connection the warehouse resource did not open
    ensure_audit_tables(con)
    table = estimate_rows(con.sql(CASES_SQL).to_arrow_table())
    table = pa.concat_tables([table, pa.Table.from_pylist(stratified_rows(con), schema=SCHEMA)])
    con.register("__estimates", table)
    con.execute("CREATE OR REPLACE TABLE measure_estimates AS SELECT * FROM __estimates")
    con.unregister("__estimates")
    return table


def headline(row: dict | None) -> str:
    """'FY2024 (sample 2): 548 TCO-related (90% CI 512 to 584) against 564 published'."""
    if row is None:
        return "no reviewed sample yet: no estimate of the TCO-related count"
    if row["estimate"] is None:
        return f"FY{row['fiscal_year']} (sample {row['sample_id']}): {row['note']}"
    return (
        f"FY{row['fiscal_year']} (sample {row['sample_id']}): {row['estimate']:,} of "
        f"{row['dd_total']:,} counted disruptions/dismantlements estimated TCO-related "
        f"({100 * row['confidence']:g}% CI {row['lower_bound']:,} to {row['upper_bound']:,}) "
        f"against {row['dd_tco_published']:,} published, from {row['reviewed_cases']:,} "
        f"reviewed cases"
    )


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["case_review_current", "audit_samples", "scr_current"],
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    description="Ratio estimate (Cochran 1977, ch. 6) of the counted disruptions/dismantlements "
    "that are truly TCO-related, with a 90% interval, per reviewed sample and fiscal year it "
    "covers; published as measure_estimates.parquet.",
)
def measure_estimates(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        table = build_estimates(con)
        meta = table_metadata(
            con, "measure_estimates", "SELECT sample_id, fiscal_year, dd_total, dd_tco_published, "
            "reviewed_cases, estimate, lower_bound, upper_bound FROM measure_estimates "
            "ORDER BY sample_id DESC, fiscal_year DESC",
        )  # fmt: skip
    rows = table.to_pylist()
    latest = max(rows, key=lambda r: (r["fiscal_year"], r["sample_id"]), default=None)
    text = headline(latest)
    context.log.info(f"{len(rows):,} estimate(s); latest {text}")
    extra = {}
    if latest and latest["estimate"] is not None:
        extra = {
            "latest_fiscal_year": dg.MetadataValue.int(latest["fiscal_year"]),
            "latest_estimate": dg.MetadataValue.int(latest["estimate"]),
            "latest_lower_bound": dg.MetadataValue.int(latest["lower_bound"]),
            "latest_upper_bound": dg.MetadataValue.int(latest["upper_bound"]),
            "latest_published": dg.MetadataValue.int(latest["dd_tco_published"]),
        }
    return dg.MaterializeResult(
        metadata={
            **meta,
            **extra,
            "headline": dg.MetadataValue.text(text),
            "output_file": dg.MetadataValue.path(str(files.output / OUTPUT_FILE)),
        }
    )


DUE_SQL = """
SELECT (SELECT max(fiscal_year) FROM annual_measures WHERE quarters_reported > 0) AS latest,
    (SELECT list(DISTINCT fiscal_year ORDER BY fiscal_year) FROM measure_estimates) AS reviewed
"""


def sample_due(con: duckdb.DuckDBPyConnection) -> tuple[int | None, list[int]]:
    """(latest fiscal year with published counts, fiscal years some reviewed sample covers)."""
    if not {"annual_measures", "measure_estimates"} <= existing_tables(con):
        return None, []
    latest, reviewed = con.execute(DUE_SQL).fetchall()[0]
    return latest, list(reviewed or [])


@dg.asset_check(
    asset="annual_measures",
    additional_deps=["measure_estimates"],
    description="Recommendation 2 (validate the data every year): the latest fiscal year with "
    "published counts is covered by an audit sample with at least one reviewed case (a simple "
    "random sample of cases or a stratified validation sample of the year's SCRs). Warns "
    "until a sample of that year is drawn (`scr-pipeline audit draw --design stratified "
    "--fiscal-year YYYY`) and its reviews are landed.",
)
def validation_sample_due(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        latest, reviewed = sample_due(con)
    passed = latest is None or latest in reviewed
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=None
        if passed
        else f"FY{latest} has published counts but no reviewed audit sample: draw one with "
        f"`scr-pipeline audit draw --design stratified --fiscal-year {latest} --seed S` "
        f"(see `scr-pipeline audit plan --fiscal-year {latest}`) and land its reviews",
        metadata={
            "latest_fiscal_year": dg.MetadataValue.int(int(latest or 0)),
            "reviewed_fiscal_years": dg.MetadataValue.text(
                ", ".join(f"FY{y}" for y in reviewed) or "none"
            ),
        },
    )
