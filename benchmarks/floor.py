"""The floor: the pipeline's set work as bare DuckDB SQL, no framework, no warehouse file.

Why: to know how close the pipeline is to the fastest way to do the same work on this machine.
Same inputs, same rules, same outputs: read every SCR extract, parse and check every row
against the contract's error rules (one finding per failed rule), pick each SCR's current
record, quarantine it when it breaks a rule, determine TCO, count per fiscal quarter (with
fiscal-year-to-date sums) and per quarter and category, and write Parquet. DuckDB defaults
(memory up to 80% of RAM, one thread per core) unless ``--memory-limit``/``--threads``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import duckdb

from assets._shared.sql import load_sql
from schemas.counting import COUNTING_MACROS
from schemas.fiscal import SQL_MACROS
from schemas.reference import country_codes, criminal_categories

MEASURES_SQL = Path(__file__).resolve().parents[1] / "assets" / "measures" / "quarterly.sql"

# The same constants as schemas/scr_extract.py (tests pin them equal); copied so that the floor
# does not import pandera and polars, which is framework start-up time the floor should not pay.
SCR_TYPES = ("INITIAL", "DISRUPTION", "DISMANTLEMENT")
STATUSES = ("APPROVED", "PENDING", "RETURNED", "REJECTED", "WITHDRAWN")
CHECKBOX_FROM = dt.datetime(2023, 7, 18)
_DATE_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TS_RE = (
    _DATE_RE + r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)

COLUMNS = (
    "scr_id", "case_number", "scr_type", "criminal_category", "subcategory", "field_office",
    "status", "created_at", "submitted_date", "approved_date", "tco_involvement",
    "subject_count", "countries", "last_modified_at",
)  # fmt: skip


def _parsed(col: str, regex: str, sql_type: str) -> str:
    return f"CASE WHEN regexp_full_match({col}, '{regex}') THEN TRY_CAST({col} AS {sql_type}) END"


# rule_id -> SQL that is true where a row FAILS the rule (over blank-as-null, typed columns).
FAILS = {
    "scr.scr_id.required": "scr_id IS NULL",
    "scr.scr_id.length": "length(scr_id) > 40",
    "scr.case_number.required": "case_number IS NULL",
    "scr.case_number.length": "length(case_number) > 40",
    "scr.scr_type.required": "scr_type IS NULL",
    "scr.scr_type.enum": "NOT list_contains($scr_types, scr_type)",
    "scr.criminal_category.required": "criminal_category IS NULL",
    "scr.criminal_category.enum": "NOT list_contains($categories, criminal_category)",
    "scr.field_office.required": "field_office IS NULL",
    "scr.status.required": "status IS NULL",
    "scr.status.enum": "NOT list_contains($statuses, status)",
    "scr.created_at.required": "created_at IS NULL",
    "scr.created_at.format": "created_at IS NOT NULL AND created_ts IS NULL",
    "scr.submitted_date.required": "submitted_date IS NULL",
    "scr.submitted_date.format": "submitted_date IS NOT NULL AND submitted_d IS NULL",
    "scr.submitted_date.after_created": "submitted_d < CAST(created_ts AS DATE)",
    "scr.approved_date.format": "approved_date IS NOT NULL AND approved_d IS NULL",
    "scr.approved_date.required_when_approved": "status = 'APPROVED' AND approved_date IS NULL",
    "scr.approved_date.only_when_approved": "approved_date IS NOT NULL "
    "AND status IS DISTINCT FROM 'APPROVED'",
    "scr.approved_date.after_submitted": "approved_d < submitted_d",
    "scr.approved_date.before_program": "approved_d < DATE '2010-10-01'",
    "scr.tco_involvement.enum": "tco_involvement NOT IN ('Y', 'N')",
    "scr.tco_involvement.required_from_2023_07_18": "created_ts >= $checkbox_from "
    "AND tco_involvement IS NULL",
    "scr.subject_count.integer": "NOT regexp_full_match(subject_count, '-?[0-9]+')",
    "scr.subject_count.range": "regexp_full_match(subject_count, '-?[0-9]+') "
    "AND subject_count_i IS NULL",
    "scr.subject_count.min": "subject_count_i < 1",
    "scr.countries.format": "NOT (regexp_full_match(countries, '[A-Z]{2}(;[A-Z]{2})*') AND "
    "list_bool_and(list_transform(string_split(countries, ';'), "
    "lambda c: list_contains($codes, c))))",
    "scr.last_modified_at.required": "last_modified_at IS NULL",
    "scr.last_modified_at.format": "last_modified_at IS NOT NULL AND last_modified_ts IS NULL",
}


def versions_sql(files: list[Path]) -> str:
    """Every row of every file with provenance, blanks as NULL, typed columns and failed rules."""
    raw = " UNION ALL ".join(
        f"SELECT {i} AS file_id, '{f.name}' AS source_file, row_number() OVER () AS source_row, "
        f"* FROM read_csv('{f}', header = true, all_varchar = true)"
        for i, f in enumerate(files, start=1)
    )
    blank = ", ".join(f"nullif(trim({c}), '') AS {c}" for c in COLUMNS)
    failed = ", ".join(f"CASE WHEN {sql} THEN '{rule}' END" for rule, sql in FAILS.items())
    return f"""
    WITH raw AS ({raw}),
    b AS (SELECT file_id, source_file, source_row, {blank} FROM raw),
    t AS (
        SELECT *, {_parsed("created_at", _TS_RE, "TIMESTAMP")} AS created_ts,
            {_parsed("submitted_date", _DATE_RE, "DATE")} AS submitted_d,
            {_parsed("approved_date", _DATE_RE, "DATE")} AS approved_d,
            {_parsed("last_modified_at", _TS_RE, "TIMESTAMP")} AS last_modified_ts,
            {_parsed("subject_count", "[+-]?[0-9]{1,18}", "BIGINT")} AS subject_count_i
        FROM b
    )
    SELECT *, list_filter([{failed}], lambda r: r IS NOT NULL) AS failed FROM t
    """


CURRENT_SQL = """
WITH cur AS (
    SELECT *, len(failed) > 0 AS quarantined, subject_count_i >= 2 AS association,
        len(list_filter(string_split(countries, ';'), lambda c: c <> 'US')) > 0 AS international,
        subject_count_i IS NOT NULL AND countries IS NOT NULL AS testable
    FROM versions WHERE scr_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY scr_id ORDER BY last_modified_ts DESC NULLS FIRST,
        source_file DESC, source_row DESC) = 1
)
SELECT scr_id, case_number, scr_type, criminal_category, status, approved_d, quarantined, failed,
    source_file, source_row,
    CASE WHEN quarantined THEN NULL WHEN tco_involvement = 'N' THEN 'NON_TCO'
         WHEN testable THEN CASE WHEN association AND international THEN 'TCO' ELSE 'NON_TCO' END
         WHEN tco_involvement = 'Y' THEN 'TCO' ELSE 'UNDETERMINED' END AS determination,
    CASE WHEN quarantined THEN NULL WHEN tco_involvement = 'N' THEN 'indicator_no'
         WHEN testable AND NOT (association AND international) THEN
            CASE WHEN NOT association AND NOT international THEN 'both'
                 WHEN NOT association THEN 'no_association' ELSE 'no_border_crossing' END
         END AS non_tco_reason,
    is_counted(quarantined, status, approved_d) AS counted, is_dd(scr_type) AS is_dd,
    fiscal_year(approved_d) AS fiscal_year, fiscal_quarter(approved_d) AS fiscal_quarter
FROM cur
"""

# The measures are the pipeline's own named SQL (assets/measures/quarterly.sql), over this
# floor's scr_current, with the counting macros of schemas/counting.py: the same rules, once.
QUARTERLY_SQL = load_sql(MEASURES_SQL, "quarter_rows")
CATEGORY_SQL = load_sql(MEASURES_SQL, "category_rows")


def params(sql: str) -> dict:
    values = {
        "scr_types": list(SCR_TYPES),
        "statuses": list(STATUSES),
        "categories": list(criminal_categories()),
        "codes": sorted(country_codes()),
        "checkbox_from": CHECKBOX_FROM,
        "filtered": False,
        "years": [],
    }
    return {k: v for k, v in values.items() if f"${k}" in sql}


def run(landing: Path, out: Path, memory_limit: str | None, threads: int | None) -> dict:
    config = {k: v for k, v in (("memory_limit", memory_limit), ("threads", threads)) if v}
    con = duckdb.connect(config=config)
    con.execute(SQL_MACROS)
    con.execute(COUNTING_MACROS)
    files = sorted(landing.glob("scr_extract_*.csv"))
    steps: dict[str, float] = {}
    t = time.monotonic()

    def step(name: str, sql: str) -> None:
        nonlocal t
        con.execute(sql, params(sql))
        steps[name] = round(time.monotonic() - t, 2)
        t = time.monotonic()

    step("read_validate", f"CREATE TABLE versions AS {versions_sql(files)}")
    step("current_determine", f"CREATE TABLE scr_current AS {CURRENT_SQL}")
    out.mkdir(parents=True, exist_ok=True)
    for table, sql in (("quarterly_measures", QUARTERLY_SQL), ("category_measures", CATEGORY_SQL)):
        step(
            table,
            f"COPY ({sql}) TO '{out / table}' (FORMAT parquet, PARTITION_BY "
            "(fiscal_year, fiscal_quarter), OVERWRITE)",
        )
    step(
        "findings_export",
        f"COPY (SELECT scr_id, case_number, unnest(failed) AS rule_id, source_file, source_row "
        f"FROM versions WHERE len(failed) > 0) TO '{out / 'validation_findings.parquet'}'",
    )
    rows, findings = con.execute("SELECT count(*), sum(len(failed)) FROM versions").fetchall()[0]
    return {"rows": rows, "findings": int(findings or 0), "steps_s": steps}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Bare-DuckDB floor for the SCR refresh.")
    parser.add_argument("landing", type=Path, help="directory with scr_extract_*.csv")
    parser.add_argument("out", type=Path, help="output directory for Parquet")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit (default: DuckDB's own)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's own)")
    args = parser.parse_args(argv)
    print(run(args.landing, args.out, args.memory_limit, args.threads))


if __name__ == "__main__":
    main()
