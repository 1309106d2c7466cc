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
    return dg.TableSchema(columns=[dg.TableColumn(name, dtype) for name, dtype in rows])


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
