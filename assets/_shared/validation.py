"""Validation, shared by the three extracts: run a pandera schema over every new raw row and
store each failure as a finding; ``findings_asset`` makes the findings asset of an extract.

Rows are streamed from DuckDB in Arrow batches (bounded memory) and validated lazily, so a row
with three problems yields three findings. Only failures leave the database, and rules are
re-run over every stored file when the asset's code version changes (the extract's schema
module, every project module it imports and the reference data: assets/_shared/code_version.py).
"""

import inspect
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import dagster as dg
import duckdb

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.migrations import FINDINGS, migrate
from assets._shared.resources import WarehouseResource
from schemas.extracts import ExtractSpec
from schemas.reference import rules, rules_markdown
from schemas.rule_blocks import finding_value_column, header_rule

if TYPE_CHECKING:  # pandera and polars are imported when rows are validated (~0.6 s)
    import pandera.polars as pa
    import polars as pl
    import pyarrow as pa_arrow

BATCH_ROWS = 500_000
MAX_VALUE_CHARS = 200


def failures_of_batch(
    batch: "pa_arrow.RecordBatch", schema: "pa.DataFrameSchema", record_key: str
) -> "pl.DataFrame | None":
    """Findings for one batch: one row per (row, failed rule), with provenance and value."""
    import pandera.errors
    import polars as pl

    df = pl.from_arrow(batch)
    try:
        schema.validate(df, lazy=True)
        return None
    except pandera.errors.SchemaErrors as err:
        raw = err.failure_cases
    fc = raw.select(pl.col("check").alias("rule_id"), pl.col("index"))
    if fc["index"].null_count() or not fc["rule_id"].is_in(list(rules())).all():
        raise RuntimeError(f"a rule could not be evaluated: {raw.head(5)}")
    catalogue = pl.DataFrame(
        {
            "rule_id": list(rules()),
            "column_name": [r.column for r in rules().values()],
            "value_column": [finding_value_column(r.rule_id, r.column) for r in rules().values()],
            "severity": [r.severity for r in rules().values()],
            "description": [r.description for r in rules().values()],
        }
    )
    rows = df.with_row_index("index").with_columns(pl.col("index").cast(pl.Int32))
    fc = fc.join(catalogue, on="rule_id").join(rows, on="index")
    value = pl.lit(None, pl.String)
    for column in fc["value_column"].unique():
        value = (
            pl.when(pl.col("value_column") == column)
            .then(pl.col(column).cast(pl.String))
            .otherwise(value)
        )
    return fc.select(
        "file_id",
        "source_file",
        "source_row",
        pl.col(record_key).alias("record_id"),
        pl.col("case_number")
        if "case_number" in df.columns
        else pl.lit(None, pl.String).alias("case_number"),
        "rule_id",
        "severity",
        "column_name",
        value.str.slice(0, MAX_VALUE_CHARS).alias("failure_value"),
        "description",
    )


def collect_findings(
    con: duckdb.DuckDBPyConnection, select_sql: str, params: list, schema, record_key: str
) -> "tuple[int, pl.DataFrame | None]":
    """Validate every row of ``select_sql`` batch by batch; returns (rows checked, findings)."""
    import polars as pl

    # con.sql streams; con.execute(...).to_arrow_reader copies the whole result first
    reader = con.sql(select_sql, params=params).to_arrow_reader(BATCH_ROWS)
    checked, parts = 0, []
    for batch in reader:
        checked += batch.num_rows
        part = failures_of_batch(batch, schema, record_key)
        if part is not None:  # a copy: polars' string views would pin the whole batch
            parts.append(pl.from_arrow(part.to_arrow(compat_level=pl.CompatLevel.oldest())))
    return checked, (pl.concat(parts) if parts else None)


def store_findings(
    con: duckdb.DuckDBPyConnection, table: str, findings: "pl.DataFrame | None"
) -> None:
    if findings is None or findings.is_empty():
        return
    con.register("__findings", findings.to_arrow())
    con.execute(
        f"INSERT INTO {table} SELECT file_id, source_file, source_row, record_id, case_number, "
        "rule_id, severity, column_name, failure_value, description || CASE WHEN failure_value "
        "IS NULL THEN ' (value is missing)' ELSE ' (got ''' || failure_value || ''')' END "
        "FROM __findings"
    )
    con.unregister("__findings")


def validate_new_files(
    con: duckdb.DuckDBPyConnection,
    spec: ExtractSpec,
    view_sql: str,
    view: str,
    schema,
    fingerprint: str,
) -> dict[str, int]:
    """Validate rows of files not yet checked under ``fingerprint`` (the findings asset's code
    version); replaces their findings.

    ``schema``: the pandera schema, or the function that builds it (called only when a file
    needs validating, so a refresh with nothing new does not import pandera)."""
    extract_type, findings_table, record_key = spec.name, spec.findings_table, spec.record_key
    migrate(con, FINDINGS)  # the findings tables (assets/_shared/migrations.py)
    con.execute(view_sql)
    todo = [
        r[0]
        for r in con.execute(
            "SELECT file_id FROM ingested_files WHERE extract_type = ? "
            "AND validated_rules IS DISTINCT FROM ? ORDER BY file_id",
            [extract_type, fingerprint],
        ).fetchall()
    ]
    if not todo:
        return {"files_validated": 0, "rows_checked": 0, "new_findings": 0}
    if inspect.isfunction(schema):
        schema = schema()
    checked, findings = collect_findings(
        con, f"SELECT * FROM {view} WHERE list_contains(?, file_id)", [todo], schema, record_key
    )
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DELETE FROM {findings_table} WHERE list_contains(?, file_id)", [todo])
    store_findings(con, findings_table, findings)
    header_findings = store_header_findings(con, spec, todo)
    con.execute(
        "UPDATE ingested_files SET validated_rules = ?, current_built = false "
        "WHERE list_contains(?, file_id)",
        [fingerprint, todo],
    )
    con.execute("COMMIT")
    return {
        "files_validated": len(todo),
        "rows_checked": checked,
        "new_findings": header_findings + (0 if findings is None else findings.height),
    }


def store_header_findings(con: duckdb.DuckDBPyConnection, spec: ExtractSpec, file_ids: list) -> int:
    """One warning per header read as a contract column after trimming / case folding.

    File-level, so ``source_row`` is 0 (the header row) and there is no record id; the column
    is the contract column and the value the header as written."""
    rule = rules()[header_rule(spec.rule_prefix)]
    return con.execute(
        f"INSERT INTO {spec.findings_table} SELECT h.file_id, f.source_file, 0, NULL, NULL, ?, ?, "
        "h.contract_column, h.header, ? || ' (got ''' || h.header || ''', read as ' "
        "|| h.contract_column || ')' FROM header_renames h JOIN ingested_files f USING (file_id) "
        "WHERE list_contains(?, h.file_id) ORDER BY h.file_id, h.position",
        [rule.rule_id, rule.severity, rule.description, file_ids],
    ).fetchall()[0][0]


def validation_result(
    context: dg.AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    spec: ExtractSpec,
    stats: dict,
) -> dg.MaterializeResult:
    """Log a validation pass and report it: counts, the findings table and findings by rule."""
    context.log.info(
        f"validated {stats['rows_checked']:,} {spec.name} rows from {stats['files_validated']} "
        f"file(s): {stats['new_findings']:,} finding(s)"
    )
    by_rule = markdown_preview(
        con,
        f"SELECT rule_id, severity, count(*) AS findings FROM {spec.findings_table} "
        "GROUP BY ALL ORDER BY findings DESC, rule_id",
    )
    return dg.MaterializeResult(
        metadata={
            **{k: dg.MetadataValue.int(v) for k, v in stats.items()},
            **table_metadata(con, spec.findings_table),
            "findings_by_rule": dg.MetadataValue.md(by_rule),
        }
    )


def findings_asset(
    *,
    name: str,
    spec: ExtractSpec,
    module: ModuleType,
    schema: "Callable[[], pa.DataFrameSchema]",
    view: str,
    deps: list[str],
    description: str,
    prepare: Callable[[duckdb.DuckDBPyConnection], str] | None = None,
) -> dg.AssetsDefinition:
    """The findings asset of one extract: ``module`` holds its typed view (``TYPED_VIEW_SQL``),
    ``schema`` makes its pandera schema over ``view``; its rules are re-run on every stored file
    whenever the asset's code version (``module`` and this machinery, with what they import and
    the reference data) differs from the one a file was validated under. ``prepare`` (optional)
    sets up what the rules read and returns data it depends on (the audit samples a case review
    is checked against), kept beside the code version.
    """

    @dg.asset(
        name=name,
        deps=deps,
        kinds={"duckdb", "pandera"},
        owners=OWNERS,
        description=description,
        metadata={"rule_catalogue": dg.MetadataValue.md(rules_markdown(spec.rule_prefix))},
        code_version=code_version_of(module, __name__),
    )
    def _findings(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            fingerprint = context.assets_def.get_asset_spec(context.asset_key).code_version
            if prepare is not None:
                fingerprint += ":" + prepare(con)
            stats = validate_new_files(
                con, spec, module.TYPED_VIEW_SQL, view, schema, fingerprint
            )  # the schema's builder: pandera is imported only when a file needs validating
            return validation_result(context, con, spec, stats)

    return _findings
