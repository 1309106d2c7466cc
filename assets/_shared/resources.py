"""Dagster resources: the DuckDB warehouse connection and the landing/output folders.

Configured with ``EnvVar`` so values are read at run time (and hidden in the UI); defaults come
from ``assets._shared.settings``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from assets._shared.errors import WarehouseBusyError, unwritable
from schemas.fiscal import SQL_MACROS

# Runs that write the DuckDB warehouse carry this tag; the run queue admits one at a time
# (dagster.template.yaml). Here, beside the warehouse, so assets and jobs share it.
WRITER_TAG = {"scr/warehouse-writer": "true"}


class WarehouseResource(dg.ConfigurableResource):
    """The single DuckDB file; every connection gets the same limits and macros."""

    path: str
    memory_limit: str = "2GB"
    threads: int = 2

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        where = f"the warehouse {self.path} and its folder"
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(
                self.path,
                read_only=read_only,
                config={"memory_limit": self.memory_limit, "threads": int(self.threads)},
            )
        except duckdb.IOException as err:
            if "lock" in str(err).lower():
                raise WarehouseBusyError(
                    f"the warehouse {self.path} is in use by another process (another refresh "
                    "or a Dagster run); wait for it to finish and try again"
                ) from None
            if "permission denied" in str(err).lower() or "read-only" in str(err).lower():
                raise unwritable(self.path, where) from None
            raise
        except PermissionError as err:
            raise unwritable(err.filename or self.path, where) from None
        try:
            con.execute("SET preserve_insertion_order = false")
            con.execute(SQL_MACROS)
            yield con
        finally:
            con.close()


class FilesResource(dg.ConfigurableResource):
    """Where extracts land, where ingested files are archived, and where outputs are published."""

    landing_dir: str
    output_dir: str
    archive_dir: str = "data/archive"
    settle_seconds: int = 10

    @property
    def archive(self) -> Path:
        return Path(self.archive_dir)

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)

    @property
    def output(self) -> Path:
        return Path(self.output_dir)


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """Resources bound to the contract's environment variables."""
    return {
        "warehouse": WarehouseResource(
            path=dg.EnvVar("SCR_WAREHOUSE"),
            memory_limit=dg.EnvVar("SCR_DUCKDB_MEMORY_LIMIT"),
            threads=dg.EnvVar.int("SCR_DUCKDB_THREADS"),
        ),
        "files": FilesResource(
            landing_dir=dg.EnvVar("SCR_LANDING_DIR"),
            output_dir=dg.EnvVar("SCR_OUTPUT_DIR"),
            archive_dir=dg.EnvVar("SCR_ARCHIVE_DIR"),
            settle_seconds=dg.EnvVar.int("SCR_SETTLE_SECONDS"),
        ),
    }
