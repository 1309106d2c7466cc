"""Measures: quarterly and per-category counts by the old (approval) method and the
TCO-validated method, partitioned by fiscal quarter, plus the annual measure against targets.

``changed_quarters`` compares freshly computed rows with the stored ones, so a late correction
re-materializes only the quarters whose numbers it changes (fiscal-year-to-date columns make
later quarters of the same year change too).
"""

import dagster as dg
import duckdb

from assets._shared.code_version import code_version_of
from assets._shared.errors import PipelineError
from assets._shared.metadata import OWNERS, table_metadata
from assets._shared.migrations import MEASURES, migrate
from assets._shared.partitions import FISCAL_QUARTERS
from assets._shared.resources import WarehouseResource
from assets._shared.sql import load_sql
from assets.measures.determinations import replace_quarters, with_determination_keys
from schemas.fiscal import parse_quarter_key, quarter_key
from schemas.reference import criminal_categories

# The SQL behind every measure is named SQL in quarterly.sql beside this module.
QUARTER_ROWS_SQL = load_sql(__file__, "quarter_rows")
CATEGORY_ROWS_SQL = load_sql(__file__, "category_rows")
CHANGED_QUARTERS_SQL = load_sql(__file__, "changed_quarters")
PRESENT_QUARTERS_SQL = load_sql(__file__, "present_quarters")


def _params(years: list[int] | None) -> dict:
    return {"filtered": years is not None, "years": years or []}


def quarter_rows(con: duckdb.DuckDBPyConnection, years: list[int] | None = None):
    """Arrow table of quarterly rows (all fiscal years when ``years`` is None)."""
    return con.sql(QUARTER_ROWS_SQL, params=_params(years)).to_arrow_table()


def category_rows(con: duckdb.DuckDBPyConnection, years: list[int] | None = None):
    params = {**_params(years), "categories": list(criminal_categories())}
    return con.sql(CATEGORY_ROWS_SQL, params=params).to_arrow_table()


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The measure tables and their history (DDL: assets/_shared/migrations.py)."""
    migrate(con, MEASURES)


def changed_quarter_keys(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(every quarter key present now or before, keys whose rows differ from the stored ones)."""
    ensure_tables(con)
    con.register("__q_new", quarter_rows(con))
    con.register("__c_new", category_rows(con))
    changed = sorted(quarter_key(fy, q) for fy, q in con.execute(CHANGED_QUARTERS_SQL).fetchall())
    present = sorted(quarter_key(fy, q) for fy, q in con.execute(PRESENT_QUARTERS_SQL).fetchall())
    con.unregister("__q_new")
    con.unregister("__c_new")
    return with_determination_keys(con, present, changed)


def drop_quarters_outside(
    con: duckdb.DuckDBPyConnection, outside: list[str], run_id: str | None
) -> list[str]:
    """Remove stored rows of quarters that are no partition key (e.g. FY2005 measures of a
    warehouse built when the keys began at FY2000): no counted SCR is in them any more.

    A counted SCR outside the keys is possible only when the code was loaded more than a fiscal
    year ago (the keys run to the fiscal year after today's): that stops with what to do."""
    if not outside:
        return []
    live = {
        quarter_key(fy, q)
        for fy, q in con.execute(
            "SELECT DISTINCT fiscal_year, fiscal_quarter FROM scr_current "
            "WHERE fiscal_year IS NOT NULL"
        ).fetchall()
    } & set(outside)
    if live:
        raise PipelineError(
            f"counted SCRs fall in fiscal quarter(s) {', '.join(sorted(live))}, after the last "
            f"partition key {FISCAL_QUARTERS.get_partition_keys()[-1]} (the keys run to the "
            "fiscal year after the one in which the code was loaded); restart the daemon or "
            "reload the code location, then refresh again"
        )
    rebuild_quarters(con, "quarterly_measures", quarter_rows, outside, run_id)
    rebuild_quarters(con, "category_measures", category_rows, outside, run_id)
    replace_quarters(con, outside)
    return outside


@dg.asset(
    deps=["scr_current"],
    code_version=code_version_of(__name__),
    kinds={"duckdb"},
    owners=OWNERS,
    description="Which fiscal quarters' measures differ from what was last materialized "
    "(partition keys such as FY2024-Q1). The refresh re-materializes the range that covers them.",
)
def changed_quarters(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    keys = set(FISCAL_QUARTERS.get_partition_keys())
    with warehouse.connect() as con:
        present, changed = changed_quarter_keys(con)
        dropped = drop_quarters_outside(con, [k for k in changed if k not in keys], context.run_id)
    changed = [k for k in changed if k in keys]
    if dropped:
        context.log.info(f"removed {len(dropped)} quarter(s) outside the partition keys: {dropped}")
    context.log.info(f"{len(changed)} quarter(s) changed: {', '.join(changed) or 'none'}")
    return dg.MaterializeResult(
        metadata={
            "changed_quarters": dg.MetadataValue.json(changed),
            "changed_count": dg.MetadataValue.int(len(changed)),
            "quarters_present": dg.MetadataValue.int(len(present)),
        }
    )


def _years_of(keys: list[str]) -> list[int]:
    return sorted({parse_quarter_key(k)[0] for k in keys})


def _pairs(keys: list[str]) -> list[list[int]]:
    return [list(parse_quarter_key(k)) for k in keys]


def replace_partitions(
    con: duckdb.DuckDBPyConnection, table: str, rows, keys: list[str], run_id: str | None = None
) -> None:
    """Replace the rows of ``keys`` in ``table`` (in one transaction); keeps old quarterly rows."""
    pairs = _pairs(keys)
    where = "list_contains(?, [fiscal_year, fiscal_quarter])"
    con.register("__rows", rows)
    con.execute("BEGIN TRANSACTION")
    if table == "quarterly_measures":  # keep what was published before a restatement
        con.execute(
            "INSERT INTO quarterly_measures_history SELECT *, now()::TIMESTAMP, ? FROM ("
            f"SELECT * FROM quarterly_measures WHERE {where} EXCEPT SELECT * FROM __rows)",
            [run_id, pairs],
        )
    con.execute(f"DELETE FROM {table} WHERE {where}", [pairs])
    con.execute(f"INSERT INTO {table} SELECT * FROM __rows WHERE {where}", [pairs])
    con.execute("COMMIT")
    con.unregister("__rows")


PLOTTED = ("dd_total", "dd_tco", "dd_non_tco", "dd_undetermined", "initial_approved",
           "no_association", "no_border_crossing", "both", "indicator_no", "pct_all", "pct_tco")  # fmt: skip


def _partition_observations(context, rows) -> None:
    """Per-quarter numbers the UI can plot across partitions (one observation per key).

    A single-run range materialization carries one metadata dict for every partition, so the
    per-quarter numbers travel as observations (dagster issue 12498)."""
    for r in rows.to_pylist():
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key,
                partition=quarter_key(r["fiscal_year"], r["fiscal_quarter"]),
                metadata={
                    k: dg.MetadataValue.float(float(r[k]))
                    if k.startswith("pct_")
                    else dg.MetadataValue.int(int(r[k]))
                    for k in PLOTTED
                    if r.get(k) is not None
                },
            )
        )


# Shared by the two partitioned measure assets: one run re-materializes a range of quarters.
PARTITIONED_MEASURE = {
    "deps": ["changed_quarters"],
    "partitions_def": FISCAL_QUARTERS,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "kinds": {"duckdb"},
    "owners": OWNERS,
    "code_version": code_version_of(__name__),
}


def rebuild_quarters(
    con: duckdb.DuckDBPyConnection, table: str, rows_of, keys: list[str], run_id: str | None
) -> None:
    """Recompute ``table``'s rows for the fiscal years of ``keys`` and replace those quarters."""
    ensure_tables(con)
    replace_partitions(con, table, rows_of(con, _years_of(keys)), keys, run_id)


@dg.asset(
    **PARTITIONED_MEASURE,
    description="One row per fiscal quarter: approved INITIAL SCRs, disruptions, dismantlements, "
    "the old count (dd_total) split by TCO determination, fiscal-year-to-date sums and percents.",
)
def quarterly_measures(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    keys = list(context.partition_keys)
    with warehouse.connect() as con:
        rebuild_quarters(con, "quarterly_measures", quarter_rows, keys, context.run_id)
        mine = con.sql(
            "SELECT * FROM quarterly_measures WHERE list_contains(?, [fiscal_year, fiscal_quarter]) "
            "ORDER BY fiscal_year, fiscal_quarter",
            params=[_pairs(keys)],
        ).to_arrow_table()
        _partition_observations(context, mine)
        sums = {
            c: int(sum(v or 0 for v in mine.column(c).to_pylist())) for c in ("dd_total", "dd_tco")
        }
        context.log.info(f"quarterly measures for {len(keys)} quarter(s): {sums}")
        return dg.MaterializeResult(
            metadata={
                "quarters": dg.MetadataValue.int(len(keys)),
                "quarters_with_data": dg.MetadataValue.int(mine.num_rows),
                # run totals; per-quarter dd_total/dd_tco/pct are in the observations
                **{f"run_{k}": dg.MetadataValue.int(v) for k, v in sums.items()},
                **table_metadata(con, "quarterly_measures"),
            }
        )


@dg.asset(
    **PARTITIONED_MEASURE,
    description="Per fiscal quarter and criminal category: disruptions + dismantlements, TCO, "
    "and non-TCO by reason (no association / no border crossing / both / checkbox N).",
)
def category_measures(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    keys = list(context.partition_keys)
    with warehouse.connect() as con:
        rebuild_quarters(con, "category_measures", category_rows, keys, context.run_id)
        per_quarter = con.execute(
            "SELECT fiscal_year, fiscal_quarter, sum(dd_total) AS dd_total, sum(dd_tco) AS dd_tco, "
            "sum(dd_non_tco) AS dd_non_tco, sum(no_association) AS no_association, "
            'sum(no_border_crossing) AS no_border_crossing, sum("both") AS "both", '
            "sum(indicator_no) AS indicator_no, sum(dd_undetermined) AS dd_undetermined "
            "FROM category_measures WHERE list_contains(?, [fiscal_year, fiscal_quarter]) "
            "GROUP BY ALL ORDER BY ALL",
            [_pairs(keys)],
        ).to_arrow_table()
        _partition_observations(context, per_quarter)
        return dg.MaterializeResult(
            metadata={
                "quarters": dg.MetadataValue.int(len(keys)),
                **table_metadata(con, "category_measures"),
            }
        )
