"""The annual measure: one row per fiscal year against the published Table 1 target.

Percent (disruptions + dismantlements / approved initial investigations) through FY2020,
cumulative count from FY2021, both by the old approval-based method and the TCO-validated
method. Targets are reference data (schemas/reference/annual_targets.csv).
"""

import dagster as dg

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import WarehouseResource
from assets._shared.sql import load_sql
from assets.measures.quarterly import ensure_tables
from schemas.reference import annual_targets, annual_targets_path

ANNUAL_SQL = load_sql(__file__, "annual_rows")  # annual.sql beside this module


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
        rows = con.sql(ANNUAL_SQL, params={"targets": str(annual_targets_path())})
        con.register("__annual", rows.to_arrow_table())
        con.execute("CREATE OR REPLACE TABLE annual_measures AS SELECT * FROM __annual")
        con.unregister("__annual")
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
