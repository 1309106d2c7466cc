"""The audit toolkit's warehouse tables: the recorded samples (simple and stratified).

Why its own module: the draw, the stratified design and every statistic over the reviews need
the tables; none of them should import the draw job (or each other) to create them. Their DDL
is the audit domain's steps in ``assets/_shared/migrations.py``.
"""

import duckdb

from assets._shared.migrations import AUDIT, AUDIT_DDL, STRATIFIED_DDL, migrate

__all__ = ["AUDIT_DDL", "STRATIFIED_DDL", "ensure_audit_tables"]


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    migrate(con, AUDIT)
