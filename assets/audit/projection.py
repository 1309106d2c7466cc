"""Audit projection: from the reviewed sample cases to the number of non-TCO cases overall.

Why: this is the figure the OIG published (2,819 of 5,016 cases not TCO, 2,564 to 3,074 at 90%
confidence), computed the same way from the agency's own sample and reviews, so the validation
can be rerun every year. For every recorded sample, overall, by criminal category and by failed
prong, with each of the three interval methods of :func:`assets.audit.stats.project` (see
docs/audit-statistics.md for when each is appropriate).

- population: recorded at draw time (``audit_samples.population``; per category, the population
  cases whose first counted SCR is in that category), not recounted from today's data.
- sample_size: sampled cases with a current, valid review (``sampled`` is all drawn cases); an
  incomplete sample is projected from the reviews it has, and the ``sample_complete`` check
  says so. Conditional on the number sampled in a category, those cases are a simple random
  sample of the category, so each category is projected on its own population.
- exceptions: reviews failing prong A, prong B or both; by prong, each kind on its own.
"""

import dagster as dg
import duckdb
import pyarrow as pa

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import FilesResource, WarehouseResource
from assets.audit.stats import METHODS, project
from assets.audit.tables import ensure_audit_tables

CONFIDENCE = 0.90  # the OIG's confidence level
OUTPUT_FILE = "audit_projection.parquet"
PRONGS = ("no_association", "no_border_crossing", "both")

COUNTS_SQL = """
WITH s AS (
    SELECT c.sample_id, c.case_number, c.criminal_category,
        r.case_number IS NOT NULL AS reviewed, r.exception, r.failed_prong
    FROM audit_sample_cases c
    LEFT JOIN case_review_current r ON r.case_number = c.case_number AND NOT r.rejected
), overall AS (
    SELECT a.sample_id, 1 AS ord, 'overall' AS dimension, 'all' AS value, a.population,
        count(*) AS sampled, count(*) FILTER (s.reviewed) AS reviewed,
        count(*) FILTER (s.exception) AS exceptions
    FROM audit_samples a JOIN s USING (sample_id)
    WHERE a.method <> 'stratified'  -- a sample of SCRs, not of cases: measure_estimates
    GROUP BY ALL
), pop AS (
    SELECT sample_id, criminal_category, count(*) AS population
    FROM audit_sample_population GROUP BY ALL
), cat AS (
    SELECT p.sample_id, 2 AS ord, 'criminal_category' AS dimension,
        coalesce(p.criminal_category, '(none)') AS value, p.population,
        count(s.case_number) AS sampled, count(*) FILTER (s.reviewed) AS reviewed,
        count(*) FILTER (s.exception) AS exceptions
    FROM pop p LEFT JOIN s ON s.sample_id = p.sample_id
        AND s.criminal_category IS NOT DISTINCT FROM p.criminal_category
    GROUP BY ALL
), prong AS (
    SELECT o.sample_id, 2 + g.ord AS ord, 'failed_prong' AS dimension, g.prong AS value,
        o.population, o.sampled, o.reviewed, count(s.case_number) AS exceptions
    FROM overall o CROSS JOIN (SELECT * FROM unnest($prongs) WITH ORDINALITY AS t(prong, ord)) g
    LEFT JOIN s ON s.sample_id = o.sample_id AND s.failed_prong = g.prong
    GROUP BY ALL
)
SELECT u.sample_id, a.seed, a.fiscal_years, a.drawn_at, u.dimension, u.value,
    CAST(u.population AS BIGINT) AS population, CAST(u.sampled AS BIGINT) AS sampled,
    CAST(u.reviewed AS BIGINT) AS reviewed, CAST(u.exceptions AS BIGINT) AS exceptions
FROM (SELECT * FROM overall UNION ALL SELECT * FROM cat UNION ALL SELECT * FROM prong) u
JOIN audit_samples a USING (sample_id)
ORDER BY u.sample_id, u.ord, u.value
"""

RESULT_FIELDS = [
    ("confidence", pa.float64()),
    ("method", pa.string()),
    ("rate", pa.float64()),
    ("rate_lower", pa.float64()),
    ("rate_upper", pa.float64()),
    ("point_estimate", pa.int64()),
    ("lower_bound", pa.int64()),
    ("upper_bound", pa.int64()),
]


def projection_rows(counts: pa.Table) -> pa.Table:
    """One row per (sample, group, method); projection columns are null with no reviews."""
    rows = []
    for group in counts.to_pylist():  # a few dozen groups, not data rows
        complete = group["reviewed"] == group["sampled"]
        for method in METHODS:
            out = dict.fromkeys(name for name, _ in RESULT_FIELDS)
            out |= {"confidence": CONFIDENCE, "method": method}
            if group["reviewed"] > 0:
                res = project(
                    group["population"], group["reviewed"], group["exceptions"], CONFIDENCE, method
                )
                out |= {name: res[name] for name, _ in RESULT_FIELDS}
            rows.append(group | {"sample_size": group["reviewed"], "complete": complete} | out)
    schema = pa.schema(
        [counts.schema.field(n) for n in counts.column_names]
        + [("sample_size", pa.int64()), ("complete", pa.bool_())]
        + RESULT_FIELDS
    )
    return pa.Table.from_pylist(rows, schema=schema)


def build_projection(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Recompute audit_projection from the recorded samples and the current reviews."""
    ensure_audit_tables(con)
    counts = con.sql(COUNTS_SQL, params={"prongs": list(PRONGS)}).to_arrow_table()
    table = projection_rows(counts)
    con.register("__projection", table)
    con.execute("CREATE OR REPLACE TABLE audit_projection AS SELECT * FROM __projection")
    con.unregister("__projection")
    return table


# The cases of the latest sample that need a verdict. A stratified sample's worksheet also lists
# spares: per stratum only the first n_h sample-or-spare SCRs in rank order whose case is not
# unreviewable are needed (as in measure_estimates), and an unreviewable case there is resolved
# (its spare takes its place). Every case of a simple sample needs a verdict.
NEEDED_SQL = """
WITH latest AS (SELECT max(sample_id) AS sid FROM audit_samples),
unreviewable AS (SELECT case_number FROM case_review_current WHERE status = 'unreviewable'),
eff AS (
    SELECT f.case_number, f.stratum,
        row_number() OVER (PARTITION BY f.stratum ORDER BY f.rank) AS k
    FROM audit_sample_frame f JOIN latest ON f.sample_id = latest.sid
    WHERE f.role IN ('sample', 'spare')
        AND f.case_number NOT IN (SELECT case_number FROM unreviewable)
), needed AS (
    SELECT c.sample_id, c.case_number, c.draw_order,
        a.method = 'stratified' AND u.case_number IS NOT NULL AS resolved
    FROM audit_sample_cases c JOIN latest ON c.sample_id = latest.sid
    JOIN audit_samples a ON a.sample_id = c.sample_id
    LEFT JOIN unreviewable u ON u.case_number = c.case_number
    WHERE a.method <> 'stratified' OR u.case_number IS NOT NULL OR c.case_number IN (
        SELECT e.case_number FROM eff e JOIN audit_sample_strata s
        ON s.sample_id = (SELECT sid FROM latest) AND s.stratum = e.stratum
        WHERE e.k <= s.sample_size)
)
SELECT n.sample_id, count(*), count(*) FILTER (n.resolved OR r.case_number IS NOT NULL),
    list(n.case_number ORDER BY n.draw_order) FILTER (NOT n.resolved AND r.case_number IS NULL)
FROM needed n LEFT JOIN case_review_current r ON r.case_number = n.case_number AND NOT r.rejected
GROUP BY n.sample_id
"""


def latest_sample_status(con: duckdb.DuckDBPyConnection) -> dict | None:
    """Reviewed / missing cases of the latest sample (None when no sample was drawn)."""
    row = (con.execute(NEEDED_SQL).fetchall() or [None])[0]
    if row is None:
        return None
    sample_id, sampled, reviewed, missing = row
    return {"sample_id": sample_id, "sampled": sampled, "reviewed": reviewed, "missing": missing}


def headline(table: pa.Table, sample_id: int) -> str:
    """'sample 3: 1,234 of 5,016 cases projected non-TCO (90% CI 1,100 to 1,400, normal)'."""
    rows = [
        r
        for r in table.to_pylist()
        if r["sample_id"] == sample_id and r["dimension"] == "overall" and r["method"] == "normal"
    ]
    if not rows or rows[0]["point_estimate"] is None:
        return f"sample {sample_id}: no reviewed cases yet"
    r = rows[0]
    return (
        f"sample {sample_id}: {r['point_estimate']:,} of {r['population']:,} cases projected "
        f"non-TCO ({100 * CONFIDENCE:g}% CI {r['lower_bound']:,} to {r['upper_bound']:,}, normal "
        f"method; {r['exceptions']:,} exceptions in {r['sample_size']:,} reviewed cases)"
    )


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["case_review_current", "audit_samples"],
    check_specs=[
        dg.AssetCheckSpec(
            "sample_complete",
            asset="audit_projection",
            description="Every case of the latest audit sample has a current, valid review. "
            "Until then the projection uses only the reviewed cases (a smaller sample, wider "
            "bounds, and possibly biased if the missing cases differ).",
        )
    ],
    kinds={"duckdb", "parquet"},
    owners=OWNERS,
    description="Projected non-TCO cases from each recorded audit sample's reviews: overall, by "
    "criminal category and by failed prong, with normal, normal-fpc and exact 90% bounds; "
    "published as audit_projection.parquet.",
)
def audit_projection(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
):
    with warehouse.connect() as con:
        table = build_projection(con)
        status = latest_sample_status(con)
        meta = table_metadata(
            con, "audit_projection", "SELECT * FROM audit_projection WHERE method = 'normal'"
        )
        by_category = markdown_preview(
            con,
            "SELECT value AS criminal_category, population, reviewed, exceptions, point_estimate, "
            "lower_bound, upper_bound FROM audit_projection WHERE method = 'normal' AND "
            "dimension = 'criminal_category' AND sample_id = (SELECT max(sample_id) FROM "
            "audit_samples) ORDER BY exceptions DESC",
        )
    text = headline(table, status["sample_id"]) if status else "no audit sample drawn yet"
    context.log.info(text)
    yield dg.MaterializeResult(
        metadata={
            **meta,
            "headline": dg.MetadataValue.text(text),
            "by_criminal_category": dg.MetadataValue.md(by_category),
            "output_file": dg.MetadataValue.path(str(files.output / OUTPUT_FILE)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="sample_complete",
        passed=status is None or status["reviewed"] == status["sampled"],
        severity=dg.AssetCheckSeverity.WARN,
        metadata={}
        if status is None
        else {
            "sample_id": status["sample_id"],
            "sampled_cases": status["sampled"],
            "reviewed_cases": status["reviewed"],
            "missing_cases": len(status["missing"] or []),
            "first_missing": ", ".join((status["missing"] or [])[:10]),
        },
    )
