"""Every validation finding in one query, owned by the validation layer.

Why here: the published ``validation_findings.parquet``, the report's findings sections and
``scr-pipeline findings`` all read the same rows, so the query lives once, beside the
validation that writes the findings tables, and nothing reaches up into publish for it. Readers
that filter or count read ``all_findings`` through ``with_findings`` and bind their own
parameters; no one cuts this statement apart.
"""

import duckdb

from assets._shared.metadata import existing_tables
from assets._shared.sql import quote_ident, quote_literal
from schemas.extracts import EXTRACTS
from schemas.reference import rules
from schemas.tco_definition import INDICATOR_CONFLICT_RULE

FINDINGS_NAME = "all_findings"  # what readers call every finding (``with_findings``)
FINDINGS_ORDER = "source_file, source_row, rule_id"


def _union_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The findings of the files in force, plus indicator-conflict warnings on current SCRs.

    Only catalogue constants (extract names, the conflict rule's id, severity and words) are
    written into the statement, through the one quoting helper; the rows come from tables."""
    existing = existing_tables(con)
    parts = [
        f"SELECT {'record_id' if s.name == 'scr_extract' else 'CAST(NULL AS VARCHAR)'} AS scr_id, "
        "case_number, rule_id, severity, message, source_file, source_row, column_name, "
        f"failure_value, {quote_literal(s.name)} AS extract_type, record_id "
        f"FROM {quote_ident(s.findings_table)} "
        "WHERE file_id IN (SELECT file_id FROM ingested_files WHERE state = 'active')"
        for s in EXTRACTS
        if s.findings_table in existing
    ]
    conflict = rules()[INDICATOR_CONFLICT_RULE]  # the catalogue's words, then what was found
    parts.append(
        f"SELECT scr_id, case_number, {quote_literal(conflict.rule_id)}, "
        f"{quote_literal(conflict.severity)}, {quote_literal(conflict.description)} "
        "|| ' (got tco_involvement ' || tco_involvement || ', subject_count ' || subject_count "
        "|| ', countries ' || countries || ')', source_file, source_row, 'tco_involvement', "
        "tco_involvement, 'scr_extract', scr_id FROM scr_current WHERE indicator_conflict"
    )
    return " UNION ALL ".join(parts)


def findings_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Every finding, in the published file's order (``validation_findings.parquet``)."""
    return f"{_union_sql(con)} ORDER BY {FINDINGS_ORDER}"


def with_findings(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """``sql``, a statement that reads ``all_findings``, with that name bound to every finding.

    A common table expression rather than a view: reading leaves no object behind, not even a
    temp view (which would show among the connection's tables and change what they list)."""
    return f"WITH {FINDINGS_NAME} AS ({_union_sql(con)}) {sql}"
