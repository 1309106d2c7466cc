"""Every kept warehouse table's DDL, and the numbered steps that make and upgrade them.

Why one place: a table kept between refreshes (the landing tables, the findings, the build
state, the measures kept by quarter, the publication history, the drawn audit samples) must
change shape the same way in every warehouse, whatever code made it. So its DDL is written only
here, as a step appended to ``MIGRATIONS``; ``schema_migrations`` records each step a warehouse
has run, and a warehouse made by earlier code (which ran the same statements ad hoc, with no
record) runs the steps it lacks. Every step is idempotent (``IF NOT EXISTS``): a warehouse made
before a step was numbered runs it and keeps what it has.

Each step belongs to one domain, and a domain runs its own steps when it first needs its tables
(``migrate(con, domain)``), so a table appears when its domain first runs, as before. Tables
rebuilt every run (``CREATE OR REPLACE TABLE ... AS SELECT``) are outputs, not DDL: they stay
beside their queries. ``tests/shared/test_ddl_in_migrations.py`` keeps every
``CREATE TABLE IF NOT EXISTS`` and ``ALTER TABLE`` of the code here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb

from assets._shared.sql import quote_ident
from schemas.extracts import EXTRACTS, ExtractSpec

# the domains, in the order a refresh first reaches them
LANDING, FINDINGS, SCR, MEASURES, AUDIT = "landing", "findings", "scr", "measures", "audit"

MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL
)
"""

# -- landing (assets/landing): the files, their rows and their story --------------------------
FILES_DDL = """
CREATE TABLE IF NOT EXISTS ingested_files (
    file_id INTEGER PRIMARY KEY, extract_type VARCHAR NOT NULL, source_file VARCHAR NOT NULL,
    content_sha256 VARCHAR NOT NULL, size_bytes BIGINT, rows_read BIGINT, extra_columns VARCHAR[],
    ingested_at TIMESTAMP NOT NULL, run_id VARCHAR,
    validated_rules VARCHAR, current_built BOOLEAN DEFAULT false
)
"""

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS landing_events (
    event_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, event VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL, extract_type VARCHAR, sha256 VARCHAR, previous_sha256 VARCHAR,
    size_bytes BIGINT, "at" TIMESTAMP NOT NULL, ingested_at TIMESTAMP, reason VARCHAR,
    who VARCHAR, file_id INTEGER, run_id VARCHAR, in_manifest BOOLEAN NOT NULL DEFAULT false
)
"""

LIFECYCLE_COLUMNS = (
    ("state", "VARCHAR DEFAULT 'active'"),
    ("landed_seq", "BIGINT"),
    ("removed_at", "TIMESTAMP"),
    ("state_changed_at", "TIMESTAMP"),
    ("state_reason", "VARCHAR"),
)


def raw_table_ddl(spec: ExtractSpec) -> str:
    cols = ", ".join(f"{quote_ident(c)} VARCHAR" for c in spec.columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(spec.raw_table)} (file_id INTEGER NOT NULL, "
        f"source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, content_sha256 VARCHAR, "
        f"ingested_at TIMESTAMP, {cols}, extra JSON)"
    )


def _tables_as_first_made(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(FILES_DDL)
    for spec in EXTRACTS:
        con.execute(raw_table_ddl(spec))


def _landing_fingerprint(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS mtime_ns BIGINT")


def _second_reader_count(con: duckdb.DuckDBPyConnection) -> None:
    # the file's records by a second reader (assets/landing/csv_records.py); NULL for .xlsx
    con.execute("ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS records_in_file BIGINT")


def _lifecycle(con: duckdb.DuckDBPyConnection) -> None:
    """File states and events (a warehouse from before them gets states by name: the landing
    domain's data step, assets/landing/tables.py, run right after this in the same step)."""
    con.execute(EVENTS_DDL)
    for col, typ in LIFECYCLE_COLUMNS:
        con.execute(f"ALTER TABLE ingested_files ADD COLUMN IF NOT EXISTS {col} {typ}")


def contract_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A column the contract gained (an optional case-review column) exists in its raw table:
    it follows ``schemas/extracts.py`` rather than a numbered step (cheap, idempotent; the
    landing domain runs it each time)."""
    have = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND database_name = current_database()"
        ).fetchall()
    }
    for spec in EXTRACTS:
        for c in spec.columns:
            if (spec.raw_table, c) not in have:
                con.execute(
                    f"ALTER TABLE {quote_ident(spec.raw_table)} "
                    f"ADD COLUMN IF NOT EXISTS {quote_ident(c)} VARCHAR"
                )


# -- findings (assets/_shared/validation.py): one table per extract type; the header renames --
FINDINGS_COLUMNS = (
    "file_id INTEGER, source_file VARCHAR, source_row BIGINT, record_id VARCHAR, "
    "case_number VARCHAR, rule_id VARCHAR, severity VARCHAR, column_name VARCHAR, "
    "failure_value VARCHAR, message VARCHAR"
)

# header read as a contract column after trimming / case folding: written at ingest, reported
# by validation
HEADER_RENAMES_DDL = (
    "CREATE TABLE IF NOT EXISTS header_renames (file_id INTEGER NOT NULL, position INTEGER, "
    "header VARCHAR NOT NULL, contract_column VARCHAR NOT NULL)"
)


def _header_renames(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(HEADER_RENAMES_DDL)


def _findings_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(HEADER_RENAMES_DDL)  # (idempotent) what the header findings report
    for spec in EXTRACTS:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_ident(spec.findings_table)} ({FINDINGS_COLUMNS})"
        )


# -- scr (assets/scr/determine.py): the code version each kept table was built by -------------
def _build_state(con: duckdb.DuckDBPyConnection) -> None:
    """A table from before code versions held a hash of SQL (``fingerprint``), no version: it
    is made anew (one full rebuild of scr_current follows)."""
    old = con.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'build_state' AND column_name = 'fingerprint'"
    ).fetchall()[0][0]
    if old:
        con.execute("DROP TABLE build_state")
    con.execute(
        "CREATE TABLE IF NOT EXISTS build_state (name VARCHAR PRIMARY KEY, code_version VARCHAR)"
    )


# -- measures (assets/measures): kept by quarter, and the publication history -----------------
# Their shapes are those of the queries that fill them (tests/shared/test_migrations.py
# compares): a query that gains a column needs a step here that adds it.
QUARTER_COLUMNS = (
    "fiscal_year INTEGER, fiscal_quarter INTEGER, quarter_start DATE, quarter_end DATE, "
    "initial_approved BIGINT, disruptions BIGINT, dismantlements BIGINT, dd_total BIGINT, "
    "dd_tco BIGINT, dd_non_tco BIGINT, dd_undetermined BIGINT, initial_tco BIGINT, "
    "fytd_initial_approved BIGINT, fytd_dd_total BIGINT, fytd_dd_tco BIGINT, "
    "fytd_initial_tco BIGINT, pct_all DOUBLE, pct_tco DOUBLE"
)
MEASURE_TABLES_DDL = (
    f"CREATE TABLE IF NOT EXISTS quarterly_measures ({QUARTER_COLUMNS})",
    """CREATE TABLE IF NOT EXISTS category_measures (
        fiscal_year INTEGER, fiscal_quarter INTEGER, criminal_category VARCHAR, dd_total BIGINT,
        dd_tco BIGINT, dd_non_tco BIGINT, no_association BIGINT, no_border_crossing BIGINT,
        "both" BIGINT, indicator_no BIGINT, dd_undetermined BIGINT)""",
    # the values a restated quarter had before (assets/measures/quarterly.py)
    f"""CREATE TABLE IF NOT EXISTS quarterly_measures_history (
        {QUARTER_COLUMNS}, superseded_at TIMESTAMP, run_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS scr_determinations (
        scr_id VARCHAR, case_number VARCHAR, scr_type VARCHAR, criminal_category VARCHAR,
        field_office VARCHAR, status VARCHAR, approved_date DATE, counted BOOLEAN,
        quarantined BOOLEAN, quarantine_rules VARCHAR, determination VARCHAR,
        non_tco_reason VARCHAR, tco_involvement VARCHAR, indicator_conflict BOOLEAN,
        subject_count BIGINT, countries VARCHAR, last_modified_at TIMESTAMP,
        source_file VARCHAR, source_row BIGINT, content_sha256 VARCHAR, fiscal_year INTEGER,
        fiscal_quarter INTEGER)""",
)
# what was published when, and what changed between publications (assets/measures/restatements.py)
PUBLICATION_TABLES_DDL = (
    "CREATE TABLE IF NOT EXISTS publications (refresh_id VARCHAR PRIMARY KEY, "
    "published_at TIMESTAMP)",
    """CREATE TABLE IF NOT EXISTS published_contributions (
        counted BOOLEAN, scr_type VARCHAR, criminal_category VARCHAR, determination VARCHAR,
        non_tco_reason VARCHAR, fiscal_year INTEGER, fiscal_quarter INTEGER,
        source_file VARCHAR, source_row BIGINT, scr_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS restatement_runs (
        refresh_id VARCHAR, computed_at TIMESTAMP, previous_refresh_id VARCHAR,
        restatements BIGINT)""",
    """CREATE TABLE IF NOT EXISTS restatements (
        fiscal_year INTEGER, fiscal_quarter INTEGER, previous_refresh_id VARCHAR,
        previous_published_at TIMESTAMP, new_refresh_id VARCHAR, new_refreshed_at TIMESTAMP,
        scr_id VARCHAR, before_counted BOOLEAN, after_counted BOOLEAN, before_scr_type VARCHAR,
        after_scr_type VARCHAR, before_criminal_category VARCHAR,
        after_criminal_category VARCHAR, before_determination VARCHAR,
        after_determination VARCHAR, before_non_tco_reason VARCHAR,
        after_non_tco_reason VARCHAR, before_fiscal_year INTEGER, after_fiscal_year INTEGER,
        before_fiscal_quarter INTEGER, after_fiscal_quarter INTEGER, cause_file VARCHAR,
        cause_row BIGINT, changed_fields VARCHAR)""",
)

# -- audit (assets/audit): the drawn samples, operator records ---------------------------------
AUDIT_DDL = (
    """CREATE TABLE IF NOT EXISTS audit_samples (
        sample_id INTEGER PRIMARY KEY, seed BIGINT NOT NULL, fiscal_years VARCHAR NOT NULL,
        fiscal_year_from INTEGER NOT NULL, fiscal_year_to INTEGER NOT NULL,
        population INTEGER NOT NULL, population_scrs INTEGER NOT NULL,
        sample_size INTEGER NOT NULL, sample_scrs INTEGER NOT NULL,
        method VARCHAR NOT NULL, drawn_at TIMESTAMP NOT NULL, run_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS audit_sample_population (
        sample_id INTEGER NOT NULL, case_number VARCHAR NOT NULL, criminal_category VARCHAR,
        field_office VARCHAR, scr_count INTEGER, draw_rank INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit_sample_cases (
        sample_id INTEGER NOT NULL, case_number VARCHAR NOT NULL, draw_order INTEGER NOT NULL,
        criminal_category VARCHAR, field_office VARCHAR, scr_count INTEGER,
        scr_ids VARCHAR[], scr_types VARCHAR[], approved_dates DATE[], scrs VARCHAR)""",
)
STRATIFIED_DDL = (
    """CREATE TABLE IF NOT EXISTS audit_sample_strata (
        sample_id INTEGER NOT NULL, stratum VARCHAR NOT NULL, determination VARCHAR,
        criminal_category VARCHAR, population INTEGER NOT NULL, sample_size INTEGER NOT NULL,
        spares INTEGER NOT NULL, anticipated_rate DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS audit_sample_frame (
        sample_id INTEGER NOT NULL, scr_id VARCHAR NOT NULL, case_number VARCHAR NOT NULL,
        stratum VARCHAR NOT NULL, rank INTEGER NOT NULL, role VARCHAR NOT NULL,
        second_review BOOLEAN NOT NULL, determination VARCHAR, criminal_category VARCHAR)""",
)


def _statements(*ddl: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    def apply(con: duckdb.DuckDBPyConnection) -> None:
        for statement in ddl:
            con.execute(statement)

    return apply


@dataclass(frozen=True)
class Migration:
    version: int
    domain: str
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


# In the order they came; append, never edit or renumber a step a warehouse may have run.
MIGRATIONS = (
    Migration(1, LANDING, "ingested_files and one raw table per extract type", _tables_as_first_made),
    Migration(2, LANDING, "ingested_files.mtime_ns: the landing fingerprint", _landing_fingerprint),
    Migration(3, LANDING, "ingested_files.records_in_file: a second reader's count", _second_reader_count),
    Migration(4, LANDING, "landing_events and file states (the lifecycle)", _lifecycle),
    Migration(5, LANDING, "header_renames: headers read as a contract column", _header_renames),
    Migration(6, FINDINGS, "one findings table per extract type", _findings_tables),
    Migration(7, SCR, "build_state: the code version that built a table", _build_state),
    Migration(8, MEASURES, "quarterly, category and history measures; scr_determinations",
              _statements(*MEASURE_TABLES_DDL)),
    Migration(9, MEASURES, "publications, published_contributions, restatement_runs, restatements",
              _statements(*PUBLICATION_TABLES_DDL)),
    Migration(10, AUDIT, "audit_samples, their population and cases", _statements(*AUDIT_DDL)),
    Migration(11, AUDIT, "stratified samples: strata and frame", _statements(*STRATIFIED_DDL)),
)  # fmt: skip

Step = Callable[[duckdb.DuckDBPyConnection], None]


def migrate(
    con: duckdb.DuckDBPyConnection, domain: str, then: Mapping[int, Step] | None = None
) -> list[int]:
    """Run the steps of ``domain`` this warehouse lacks, in order, each with its record in
    ``schema_migrations`` in one transaction (the caller's, when it holds one); ``then``: a
    domain's data step to run right after a step, in the same transaction. Returns the
    versions run (none, after the first call: two cheap statements)."""
    con.execute(MIGRATIONS_DDL)
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    ran = []
    for step in MIGRATIONS:
        if step.domain != domain or step.version in done:
            continue
        own = _begin(con)
        try:
            step.apply(con)
            if then and step.version in then:
                then[step.version](con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [step.version, step.description, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
            if own:
                con.execute("COMMIT")
        except BaseException:
            if own:
                con.execute("ROLLBACK")
            raise
        ran.append(step.version)
    return ran


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """A transaction of the step's own, unless the caller holds one (the step then commits or
    rolls back with the caller's work). A failed BEGIN would abort the caller's transaction,
    so it is asked first: outside one, every statement is a transaction with a new id."""
    if (
        con.execute("SELECT txid_current()").fetchall()
        == con.execute("SELECT txid_current()").fetchall()
    ):
        return False
    con.execute("BEGIN TRANSACTION")
    return True
