"""The annual measure: one row per fiscal year against the published Table 1 target.

Percent (disruptions + dismantlements / approved initial investigations) through FY2020,
cumulative count from FY2021, both by the old approval-based method and the TCO-validated
method. Targets are reference data (schemas/reference/annual_targets.csv).
"""

import dagster as dg

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import WarehouseResource
from assets.measures.quarterly import ensure_tables
from schemas.reference import annual_targets, annual_targets_path

ANNUAL_SQL = """
WITH agg AS (
    SELECT fiscal_year, count(*) AS quarters_reported,
        sum(initial_approved) AS initial_approved, sum(dd_total) AS dd_total,
        sum(dd_tco) AS dd_tco, sum(initial_tco) AS initial_tco
    FROM quarterly_measures GROUP BY ALL
), t AS (SELECT * FROM read_csv(?, header = true, all_varchar = true)),
fy AS (
    SELECT agg.*,
        coalesce(t.measure_type, CASE WHEN agg.fiscal_year <= 2020 THEN 'percent' ELSE 'count' END)
            AS measure_type,
        TRY_CAST(t.target AS DOUBLE) AS target,
        TRY_CAST(t.reported_result AS DOUBLE) AS reported_result
    FROM agg LEFT JOIN t ON CAST(t.fiscal_year AS INTEGER) = agg.fiscal_year
), res AS (
    SELECT *,
        CASE WHEN measure_type = 'percent' THEN
            CASE WHEN initial_approved > 0 THEN dd_total / initial_approved END
            ELSE dd_total END AS result_old_method,
        CASE WHEN measure_type = 'percent' THEN
            CASE WHEN initial_tco > 0 THEN dd_tco / initial_tco END
            ELSE dd_tco END AS result_tco_validated
    FROM fy
)
SELECT CAST(fiscal_year AS INTEGER) AS fiscal_year, measure_type, target, reported_result,
    CAST(quarters_reported AS INTEGER) AS quarters_reported,
    CAST(initial_approved AS BIGINT) AS initial_approved, CAST(dd_total AS BIGINT) AS dd_total,
    CAST(initial_tco AS BIGINT) AS initial_tco, CAST(dd_tco AS BIGINT) AS dd_tco,
    CAST(result_old_method AS DOUBLE) AS result_old_method,
    CAST(result_tco_validated AS DOUBLE) AS result_tco_validated,
    CASE WHEN target IS NULL OR result_old_method IS NULL THEN NULL
         ELSE result_old_method >= target END AS met_target_old_method,
    CASE WHEN target IS NULL OR result_tco_validated IS NULL THEN NULL
         ELSE result_tco_validated >= target END AS met_target_tco_validated
FROM res
ORDER BY fiscal_year
"""


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["quarterly_measures"],
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per fiscal year: target (Table 1), result by the old approval-based "
    "method and by the TCO-validated method (percent through FY2020, count from FY2021), met?",
)
def annual_measures(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    targets = annual_targets()  # checked row by row before any figure is built
    with warehouse.connect() as con:
        ensure_tables(con)
        con.execute(
            f"CREATE OR REPLACE TABLE annual_measures AS {ANNUAL_SQL}", [str(annual_targets_path())]
        )
        latest = con.execute("SELECT max(fiscal_year) FROM annual_measures").fetchall()[0][0]
        missing = latest is not None and latest not in targets
        if missing:
            context.log.warning(
                f"no target recorded for FY{latest}: add its row to "
                "schemas/reference/annual_targets.csv (docs/REPORT.md, Targets)"
            )
        return dg.MaterializeResult(
            metadata={
                "missing_target": dg.MetadataValue.text(f"FY{latest}" if missing else "none"),
                **table_metadata(con, "annual_measures"),
                "by_year": dg.MetadataValue.md(
                    markdown_preview(
                        con,
                        "SELECT fiscal_year, measure_type, target, result_old_method, "
                        "result_tco_validated FROM annual_measures ORDER BY fiscal_year DESC",
                    )
                ),
            }
        )
