"""Evaluate the SCR rules (polars expressions, the pandera schema) in a fresh interpreter.

``tests/test_scr_rules_fast.py`` calls :func:`call`, which runs one function of this module in a
new Python process and returns its JSON result. Why: polars' thread pool does not survive
``os.fork()`` (a polars query in a forked child waits forever for threads that were not copied),
and mutmut forks every mutant's test run from the process that already ran the tests. A fresh
interpreter imports the same code from the same tree, and inherits ``MUTANT_UNDER_TEST`` from the
environment, so a mutant switched on in the test is switched on here too.

    python tests/rules/rules_worker.py <function> '<json list of arguments>'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INGESTED = dt.datetime(2024, 6, 1, 12, 0)  # UTC, as ingest stores it


def call(function: str, *args, env: dict[str, str] | None = None):
    """``function(*args)`` of this module in a fresh interpreter (``env`` added to the
    environment); its JSON result."""
    out = subprocess.run(
        [sys.executable, str(Path(__file__)), function, json.dumps(args)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"rules_worker {function} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def raw_connection(ddl: str, rows: list[dict[str, str]]):
    """In-memory DuckDB with the raw SCR table made by ``ddl`` (the ingest DDL, passed in: its
    module imports Dagster, slow to start); ``rows`` as file 1, rows 1..n (an empty string is a
    missing value, as ingest stores it)."""
    import duckdb

    from schemas.extracts import SCR

    con = duckdb.connect(":memory:")
    con.execute(ddl)
    cols = list(SCR.columns)
    con.executemany(
        f"INSERT INTO raw_scr_versions (file_id, source_file, source_row, ingested_at, "
        f"{', '.join(cols)}) VALUES (1, 'scr_extract_a.csv', ?, ?, {', '.join('?' * len(cols))})",
        [[n, INGESTED, *[r.get(c) or None for c in cols]] for n, r in enumerate(rows, start=1)],
    )
    return con


def findings(ddl: str, rows: list[dict[str, str]]) -> list[list]:
    """[source_row, rule_id, value shown, scr_id] for every failed check of one batch, as
    validation finds them: the typed select list built now, the schema built now."""
    import pandera.errors
    import polars as pl

    from schemas.rule_blocks import finding_value_column
    from schemas.scr_extract import scr_version_schema, typed_columns_sql

    con = raw_connection(ddl, rows)
    table = con.sql(
        f"SELECT {typed_columns_sql()} FROM raw_scr_versions ORDER BY source_row"
    ).to_arrow_table()
    df = pl.from_arrow(table)
    try:
        scr_version_schema().validate(df, lazy=True)
        return []
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases.select("check", "index").to_dicts()
    from schemas.reference import rules

    out = []
    for c in cases:
        row = df.row(c["index"], named=True)
        column = finding_value_column(c["check"], rules()[c["check"]].column)
        out.append([row["source_row"], c["check"], row[column], row["scr_id"]])
    return out


def frame_checks() -> dict[str, list]:
    """Rule blocks that the SCR rules do not use as such, on a four-row frame."""
    import polars as pl

    from schemas import rule_blocks

    df = pl.DataFrame(
        {
            "n": [None, -1, 0, 1],
            "labels": [None, "a|b", "a;b", "a|c"],
            "t": [None, dt.datetime(2024, 6, 2, 8, 0), dt.datetime(2024, 6, 2, 8, 0, 1), None],
            "future_after": [dt.datetime(2024, 6, 2, 8, 0)] * 4,
        }
    )
    got = df.select(
        rule_blocks.at_least("n", 0).alias("min0"),
        rule_blocks.labels_known("labels", ["a", "b"], separator="|").alias("pipe"),
        rule_blocks.labels_known("labels", ["a", "b"]).alias("semi"),
        rule_blocks.not_future("t").alias("future"),
    )
    return got.to_dict(as_series=False)


def reference_rows(name: str) -> list[dict[str, str]]:
    """The rows of a reference CSV as ``schemas.reference`` reads them."""
    from schemas.reference import _rows

    return _rows(name)


def _apply_sql_mutant() -> None:
    """Under ``tests/mutation/run.py --sql`` the SQL mutant under test, written to
    ``$SQL_MUTANT_FILE`` by the mutation worker, is switched on here too (a fresh interpreter
    does not see the worker's in-memory patch)."""
    path = os.environ.get("SQL_MUTANT_FILE")
    if not path:
        return
    sys.path.insert(0, str(ROOT / "tests" / "mutation"))
    import sql_mutants

    import schemas.scr_extract  # noqa: F401 - in memory before patching

    mutant = json.loads(Path(path).read_text())
    sql_mutants.patch(mutant["old"], mutant["new"])


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    _apply_sql_mutant()
    print(json.dumps(globals()[sys.argv[1]](*json.loads(sys.argv[2]))))
