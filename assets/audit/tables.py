"""The audit toolkit's warehouse tables: the recorded samples (simple and stratified).

Why its own module: the draw, the stratified design and every statistic over the reviews need
the tables; none of them should import the draw job (or each other) to create them.
"""

import duckdb

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
    *STRATIFIED_DDL,
)


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in AUDIT_DDL:
        con.execute(ddl)
