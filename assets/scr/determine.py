"""Determine: the current record of every SCR, whether it is quarantined, and its TCO
determination. Computed once here; every measure counts from these columns.

Current record (contract): latest ``last_modified_at`` (Eastern time, offsets converted); on a
tie the later file name, then the later ingest, then the later row. Versions belong to the same
SCR when their ``scr_id`` is equal after trimming and upper-casing. A version whose ``last_modified_at`` cannot be read sorts as
the latest, so an undatable correction quarantines its SCR instead of hiding behind an older
valid version. Only rows of active files are versions (a replaced or retracted file's rows do not
count); only SCRs in files that are new or changed state are rebuilt.
"""

import dagster as dg
import duckdb

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.migrations import SCR, migrate
from assets._shared.resources import WarehouseResource
from schemas.counting import COUNTING_MACROS
from schemas.fiscal import PROGRAM_START
from schemas.reference import within
from schemas.rule_blocks import value_sql
from schemas.scr_extract import CHECKBOX_FROM, TYPED_COLUMNS_SQL, TYPED_VIEW_SQL
from schemas.tco_definition import (
    ASSOCIATION_SQL,
    DETERMINATION_SQL,
    INDICATOR_CONFLICT_SQL,
    INTERNATIONAL_SQL,
    NON_TCO_REASON_SQL,
    TESTABLE_SQL,
)

# An approved date has a fiscal quarter only when it passes ``scr.approved_date.before_program``
# and ``.future``: a typo such as 9999-12-31 or 0001-01-03 is a finding on its row and falls in
# no partition (a counted SCR always has a quarter; the partition keys cover every such date).
# Values CURRENT_SQL binds (with $partial).
CURRENT_PARAMS = {"program_start": PROGRAM_START}
IN_PROGRAM_SQL = (
    "approved_d >= CAST($program_start AS DATE) "
    "AND (future_after IS NULL OR approved_d <= CAST(future_after AS DATE))"
)

# The ranking reads only the columns it orders by (the view's other parsed columns are pruned),
# and only the winning version of each SCR is parsed in full: at 10M versions this halves the
# work of parsing every version and carrying every column through the window's sort. The
# latest version is an arg_max per scr_id (a hash aggregate) rather than row_number() over a
# window (a sort of every version): the same order, latest ``last_modified_at`` with an
# undatable one first, then the later file name, the later ingest, the later row.
CURRENT_SQL = (
    """
WITH candidates AS NOT MATERIALIZED (  -- SCRs are identified by the trimmed, upper-case id
    SELECT * FROM active_raw_scr_versions
    WHERE NOT $partial OR """
    + value_sql("scr_id", identity=True)
    + """ IN (SELECT scr_id FROM __affected)
), errs AS (
    SELECT file_id, source_row, string_agg(DISTINCT rule_id, ', ' ORDER BY rule_id) AS rules
    FROM scr_findings WHERE severity = 'error' GROUP BY ALL
), ranked AS (  -- the latest version: the largest (undatable, time, file name, file, row)
    SELECT arg_max({file_id: file_id, source_row: source_row},
                   {undatable: last_modified_ts IS NULL,
                    modified: coalesce(last_modified_ts, TIMESTAMP '1900-01-01'),
                    source_file: source_file, file_id: file_id, source_row: source_row}) AS latest,
        count(*) AS versions
    FROM (SELECT """
    + TYPED_COLUMNS_SQL
    + """ FROM candidates)
    WHERE scr_id IS NOT NULL
    GROUP BY scr_id
), winners AS (
    SELECT latest.file_id, latest.source_row, versions FROM ranked
), typed AS (
    SELECT """
    + TYPED_COLUMNS_SQL
    + """, versions
    FROM (SELECT r.*, w.versions FROM candidates r JOIN winners w USING (file_id, source_row))
), cur AS (
    SELECT t.*, e.rules AS quarantine_rules, e.rules IS NOT NULL AS quarantined,
        """
    + ASSOCIATION_SQL
    + """ AS association,
        """
    + INTERNATIONAL_SQL
    + """ AS international,
        """
    + TESTABLE_SQL
    + """ AS definition_testable
    FROM typed t LEFT JOIN errs e USING (file_id, source_row)
)
SELECT scr_id, case_number, scr_type, criminal_category, subcategory, field_office, status,
    created_ts AS created_at, submitted_d AS submitted_date, approved_d AS approved_date,
    tco_involvement, subject_count_i AS subject_count, countries, last_modified_ts AS last_modified_at,
    versions, file_id, source_file, source_row, quarantined, quarantine_rules,
    association, international,
    """
    + DETERMINATION_SQL
    + """ AS determination,
    """
    + NON_TCO_REASON_SQL
    + """ AS non_tco_reason,
    """
    + INDICATOR_CONFLICT_SQL
    + """ AS indicator_conflict,
    is_counted(quarantined, status, approved_d) AS counted,
    is_dd(scr_type) AS is_dd,
    CASE WHEN """
    + IN_PROGRAM_SQL
    + """ THEN fiscal_year(approved_d) END AS fiscal_year,
    CASE WHEN """
    + IN_PROGRAM_SQL
    + """ THEN fiscal_quarter(approved_d) END AS fiscal_quarter
FROM cur
"""
)


# scr_current's code version: what Dagster records, and what build_state compares
CODE_VERSION = code_version_of(__name__)


def built_version(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """The code version that built table ``name`` (``build_state`` holds code versions only)."""
    migrate(con, SCR)  # build_state (a table from before code versions is made anew)
    stored = con.execute("SELECT code_version FROM build_state WHERE name = ?", [name]).fetchall()
    return stored[0][0] if stored else None


def build_current(con: duckdb.DuckDBPyConnection, code_version: str = "") -> dict[str, int]:
    """(Re)build current records for SCRs in files not yet reflected; returns counts.

    Everything is rebuilt when the table is new or was built by another code version of
    ``scr_current`` (this module, the schemas it imports, the reference data); the asset
    passes the one Dagster records, callers without a context get ``CODE_VERSION``.
    """
    code_version = code_version or CODE_VERSION
    # is_counted / is_dd, also on a connection the warehouse resource did not open; the import
    # puts schemas/counting.py in scr_current's code version
    con.execute(COUNTING_MACROS)
    con.execute(TYPED_VIEW_SQL)
    sql = CURRENT_SQL
    full = (
        built_version(con, "scr_current") != code_version
        or not con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'scr_current'"
        ).fetchall()[0][0]
    )
    con.execute(  # a full build reads every SCR anyway: no need to list them first
        # every row of a touched file, active or not: a replaced file's SCRs are rebuilt too
        "CREATE OR REPLACE TEMP TABLE __affected AS SELECT DISTINCT scr_id FROM (SELECT "
        + TYPED_COLUMNS_SQL
        + " FROM raw_scr_versions) WHERE NOT ? AND scr_id IS NOT NULL AND file_id IN (SELECT "
        "file_id FROM ingested_files WHERE extract_type = 'scr_extract' AND NOT current_built)",
        [full],
    )
    affected = con.execute("SELECT count(*) FROM __affected").fetchall()[0][0]
    con.execute("BEGIN TRANSACTION")
    if full:
        con.execute(
            f"CREATE OR REPLACE TABLE scr_current AS {sql}", {"partial": False} | CURRENT_PARAMS
        )
        con.execute("INSERT OR REPLACE INTO build_state VALUES ('scr_current', ?)", [code_version])
    elif affected:
        con.execute("DELETE FROM scr_current WHERE scr_id IN (SELECT scr_id FROM __affected)")
        con.execute(f"INSERT INTO scr_current {sql}", {"partial": True} | CURRENT_PARAMS)
    con.execute("UPDATE ingested_files SET current_built = true WHERE extract_type = 'scr_extract'")
    con.execute("COMMIT")
    return {"scrs_rebuilt": _count(con, "scr_current") if full else int(affected)}


def _count(con: duckdb.DuckDBPyConnection, table: str, where: str = "true", params=None) -> int:
    return int(
        con.execute(f"SELECT count(*) FROM {table} WHERE {where}", params or []).fetchall()[0][0]
    )


CHECKS = [
    dg.AssetCheckSpec(
        "tco_indicator_complete",
        asset="scr_current",
        description="Every current SCR created on or after 2023-07-18 carries the TCO-involvement "
        "checkbox (Y/N). Missing ones are quarantined and listed in validation_findings; fails "
        "when more than max_share of them miss it (schemas/reference/check_thresholds.csv).",
    ),
    dg.AssetCheckSpec(
        "tco_indicator_conflicts",
        asset="scr_current",
        description="Current SCRs whose checkbox disagrees with the TCO definition test on "
        "subject_count and countries (a warning: the SCR still counts, by the checkbox's 'N'); "
        "fails when more than max_share of SCRs with a checkbox conflict "
        "(schemas/reference/check_thresholds.csv).",
    ),
    dg.AssetCheckSpec(
        "schema_validity",
        asset="scr_current",
        description="Current SCR records that break an error rule (quarantined, never counted); "
        "fails when more than max_share of current SCRs are quarantined "
        "(schemas/reference/check_thresholds.csv).",
    ),
]


@dg.asset(
    deps=["scr_findings"],
    check_specs=CHECKS,
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per SCR: its current version, quarantine status, TCO determination "
    "(TCO / NON_TCO + reason / UNDETERMINED) and the fiscal quarter it counts in.",
    code_version=CODE_VERSION,
)
def scr_current(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    with warehouse.connect() as con:
        stats = build_current(
            con, context.assets_def.get_asset_spec(context.asset_key).code_version
        )
        total = _count(con, "scr_current")
        quarantined = _count(con, "scr_current", "quarantined")
        conflicts = _count(con, "scr_current", "indicator_conflict")
        since = "created_at >= CAST(? AS TIMESTAMP)"  # the checkbox exists since CHECKBOX_FROM
        post = _count(con, "scr_current", since, [CHECKBOX_FROM])
        post_missing = _count(
            con, "scr_current", f"{since} AND tco_involvement IS NULL", [CHECKBOX_FROM]
        )
        counted = _count(con, "scr_current", "counted")
        with_box = _count(con, "scr_current", "tco_involvement IS NOT NULL")
        context.log.info(
            f"{total:,} SCRs ({stats['scrs_rebuilt']:,} rebuilt): {counted:,} approved and counted, "
            f"{quarantined:,} quarantined, {conflicts:,} indicator conflicts"
        )
        dets = markdown_preview(
            con,
            "SELECT coalesce(determination, 'QUARANTINED') AS determination, non_tco_reason, "
            "count(*) AS scrs FROM scr_current GROUP BY ALL ORDER BY scrs DESC",
        )
        yield dg.MaterializeResult(
            metadata={
                **table_metadata(con, "scr_current"),
                "scrs_rebuilt": dg.MetadataValue.int(stats["scrs_rebuilt"]),
                "counted": dg.MetadataValue.int(counted),
                "quarantined": dg.MetadataValue.int(quarantined),
                "indicator_conflicts": dg.MetadataValue.int(conflicts),
                "determinations": dg.MetadataValue.md(dets),
            }
        )
    ok, figures = within(post_missing, post, "scr_current", "tco_indicator_complete")
    yield dg.AssetCheckResult(
        check_name="tco_indicator_complete",
        passed=ok,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"created_from_2023_07_18": post, "missing_checkbox": post_missing, **figures},
    )
    ok, figures = within(conflicts, with_box, "scr_current", "tco_indicator_conflicts")
    yield dg.AssetCheckResult(
        check_name="tco_indicator_conflicts",
        passed=ok,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"conflicts": conflicts, "with_checkbox": with_box, **figures},
    )
    ok, figures = within(quarantined, total, "scr_current", "schema_validity")
    yield dg.AssetCheckResult(
        check_name="schema_validity",
        passed=ok,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"current_scrs": total, "quarantined": quarantined, **figures},
    )
