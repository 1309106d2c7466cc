"""Export helpers: the rows and paths of the published files (staging and the atomic renames are
in ``assets/publish/manifest.py``).

Only ``published_outputs`` (assets/publish/published_outputs.py) publishes, through the registry
in ``outputs.py``; these helpers build what it writes.
Partition columns live in the path only (hive layout), so DuckDB and pyarrow both read them
back as integers.
"""

from collections.abc import Iterator

import duckdb
import pyarrow as pa

from assets._shared.sql import quote_ident


def partition_path(table: str, fiscal_year: int, fiscal_quarter: int) -> str:
    """Where a quarter's rows of a partitioned table are published (hive layout)."""
    return f"{table}/fiscal_year={fiscal_year}/fiscal_quarter={fiscal_quarter}/data.parquet"


def partition_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of a partition file: the table's, without the partition keys (the path)."""
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND column_name NOT IN ('fiscal_year', 'fiscal_quarter') ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


# A partitioned table whose rows are one per key: its key orders it totally, so the sort need not
# compare every column (scr_determinations has one row per SCR, from scr_current's GROUP BY
# scr_id): at 10M rows 5.8 instead of 7.3 CPU s, the same bytes. A table not listed is ordered by
# every column.
UNIQUE_KEYS = {"scr_determinations": ("scr_id",)}


def _order_by(table: str, cols: list[str]) -> str:
    """A total order (category first, then the table's unique key or every column), so the same
    rows give the same bytes."""
    first = [c for c in ("criminal_category",) if c in cols]
    rest = [c for c in UNIQUE_KEYS.get(table, cols) if c not in first]
    return ", ".join(map(quote_ident, first + rest)) or "1"


def partition_rows(
    con: duckdb.DuckDBPyConnection, table: str, fy: int, q: int, cols: list[str] | None = None
) -> pa.Table:
    """One partition's rows; ``cols`` from ``partition_columns`` (looked up when not given)."""
    cols = partition_columns(con, table) if cols is None else cols
    select = ", ".join(map(quote_ident, cols))
    sql = (
        f"SELECT {select} FROM {quote_ident(table)} WHERE fiscal_year = ? AND fiscal_quarter = ? "
        f"ORDER BY {_order_by(table, cols)}"
    )
    return con.sql(sql, params=[fy, q]).to_arrow_table()


def partitions_rows(
    con: duckdb.DuckDBPyConnection, table: str, counts: dict[tuple, int], cols: list[str]
) -> Iterator[tuple[tuple, pa.Table]]:
    """Each partition of ``counts`` ((fiscal_year, fiscal_quarter) -> its row count) with the
    rows ``partition_rows`` gives it, from one ordered, streamed query instead of one scan of
    the table per partition: at most one partition and one batch are held at a time."""
    keys = sorted(k for k in counts if None not in k)
    select = ", ".join(map(quote_ident, cols))
    reader = con.sql(
        f"SELECT {select} FROM {quote_ident(table)} SEMI JOIN (SELECT unnest(?::INTEGER[]) AS fiscal_year, "
        "unnest(?::INTEGER[]) AS fiscal_quarter) k USING (fiscal_year, fiscal_quarter) "
        f"ORDER BY fiscal_year, fiscal_quarter, {_order_by(table, cols)}",
        params=[[k[0] for k in keys], [k[1] for k in keys]],
    ).to_arrow_reader()
    pending: list[pa.RecordBatch] = []  # rows read but not yet handed out
    for key in [k for k in counts if None in k]:  # a NULL key matches no row (as = NULL does)
        yield key, reader.schema.empty_table()
    for key in keys:
        need, parts = counts[key], []
        while need:
            if not pending:
                try:
                    pending.append(reader.read_next_batch())
                except StopIteration:
                    raise RuntimeError(f"{table}: fewer rows than counted per partition") from None
            batch = pending.pop(0)
            parts.append(batch.slice(0, need))
            if batch.num_rows > need:
                pending.insert(0, batch.slice(need))
            need -= parts[-1].num_rows
        yield key, pa.Table.from_batches(parts, reader.schema).combine_chunks()
    if any(b.num_rows for b in pending) or next(iter(reader), None) is not None:
        raise RuntimeError(f"{table}: more rows than counted per partition")
