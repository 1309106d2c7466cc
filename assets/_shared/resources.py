"""Dagster resources: the DuckDB warehouse connection and the landing/output folders.

A field left unset is read from its environment variable at run time, through
``assets._shared.settings`` (the variable, or the project's default), so the code location needs no
variable set when it is loaded and importing it changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from assets._shared import settings
from assets._shared.errors import WarehouseBusyError, unwritable
from schemas.counting import COUNTING_MACROS
from schemas.fiscal import SQL_MACROS


class WarehouseResource(dg.ConfigurableResource):
    """The single DuckDB file; every connection gets the same limits and macros."""

    path: str | None = Field(default=None, description="unset: $SCR_WAREHOUSE (settings)")
    memory_limit: str | None = Field(
        default=None, description="unset: $SCR_DUCKDB_MEMORY_LIMIT (default 2GB)"
    )
    threads: int | None = Field(default=None, description="unset: $SCR_DUCKDB_THREADS (default 2)")
    _held: Any = PrivateAttr(default=None)  # the connection ``held_open`` keeps open

    @property
    def database(self) -> str:
        return self.path or str(settings.path_from_env("SCR_WAREHOUSE"))

    def memory_limit_setting(self) -> str:
        """The DuckDB memory limit this resource's connections get (``memory_capped`` restores it)."""
        return self.memory_limit or settings.duckdb_memory_limit()

    @contextlib.contextmanager
    def held_open(self) -> Iterator[WarehouseResource]:
        """This object keeps one connection open while the block runs (a CLI refresh: its
        runs, given this object: ``dg.ResourceDefinition.hardcoded_resource``).

        DuckDB then reuses the open database for every ``connect()`` of this process: about
        0.4 ms instead of 25-50 ms per connection (no re-reading of the catalogue, no checkpoint
        at every close; ~40 connections per refresh). Commits are as durable as before (WAL)."""
        with self.connect() as con:
            self._held = con
            try:
                yield self
            finally:
                self._held = None

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.database
        # while held open, read-only use goes through the open read-write database (DuckDB
        # refuses a second configuration of the same file in one process)
        read_only = read_only and self._held is None
        where = f"the warehouse {path} and its folder"
        config = {
            "memory_limit": self.memory_limit_setting(),
            "threads": int(self.threads or settings.duckdb_threads()),
        }
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(path, read_only=read_only, config=config)
        except duckdb.IOException as err:
            if "lock" in str(err).lower():
                raise WarehouseBusyError(
                    f"the warehouse {path} is in use by another process (another refresh "
                    "or a Dagster run); wait for it to finish and try again"
                ) from None
            if "permission denied" in str(err).lower() or "read-only" in str(err).lower():
                raise unwritable(path, where) from None
            raise
        except PermissionError as err:
            raise unwritable(err.filename or path, where) from None
        try:
            con.execute("SET preserve_insertion_order = false")
            con.execute(SQL_MACROS)
            con.execute(COUNTING_MACROS)
            yield con
        finally:
            con.close()


class FilesResource(dg.ConfigurableResource):
    """Where extracts land, where ingested files are archived, and where outputs are published."""

    landing_dir: str | None = Field(default=None, description="unset: $SCR_LANDING_DIR")
    output_dir: str | None = Field(default=None, description="unset: $SCR_OUTPUT_DIR")
    archive_dir: str | None = Field(default=None, description="unset: $SCR_ARCHIVE_DIR")
    settle_seconds: float | None = Field(
        default=None, description="unset: $SCR_SETTLE_SECONDS (default 10)"
    )

    @property
    def archive(self) -> Path:
        return Path(self.archive_dir or settings.path_from_env("SCR_ARCHIVE_DIR"))

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir or settings.path_from_env("SCR_LANDING_DIR"))

    @property
    def output(self) -> Path:
        return Path(self.output_dir or settings.path_from_env("SCR_OUTPUT_DIR"))

    @property
    def settle(self) -> int:
        return settings.settle_seconds() if self.settle_seconds is None else self.settle_seconds


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?)B?\s*", re.IGNORECASE)


def size_bytes(text: str) -> int | None:
    """A DuckDB memory size ('512MB', '2GB', '1.5 GiB') in bytes; None when not one."""
    m = _SIZE.fullmatch(text)
    if not m:
        return None
    number, unit, binary = float(m.group(1)), m.group(2).upper(), m.group(3)
    power = "KMGT".find(unit) + 1 if unit else 0
    return int(number * (1024 if binary else 1000) ** power)


@contextlib.contextmanager
def memory_capped(con: duckdb.DuckDBPyConnection, cap: str, configured: str) -> Iterator[None]:
    """DuckDB's memory limit lowered to ``cap`` while the block runs (never raised above
    ``configured``), then set back to ``configured``. The limit is the database's, shared by
    every connection to it, so it must come back: the block's big sort spills instead of
    holding its rows in memory beside Python's."""
    small, big = size_bytes(cap), size_bytes(configured)
    if small is None or big is None or small >= big:
        yield
        return
    _set_memory_limit(con, cap)
    try:
        yield
    finally:  # also when the block stops with its query's result still open on ``con``
        _set_memory_limit(con, configured)


def _set_memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> None:
    """The database's memory limit, set through a cursor of its own: ``con`` may be streaming a
    result (a SET on it would then fail and hide the error that stopped the stream)."""
    with con.cursor() as cur:
        cur.execute("SET memory_limit = ?", [limit])
