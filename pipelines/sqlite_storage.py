"""Dagster's SQLite storage, same files and schema, without a disk flush per event.

Dagster's own SQLite storage opens a new engine for every write and disposes it afterwards. The
files are in WAL mode, so closing the last connection checkpoints the WAL into the database and
flushes both to disk: each of the ~400 events of a refresh cost two to four ``fsync`` calls
(5 to 50 ms each on a busy disk; the largest share of a refresh at 100k rows).

Here each database keeps one pooled connection per thread for the life of the process, with
``PRAGMA synchronous=NORMAL``: a commit appends to the WAL, SQLite checkpoints it every 1,000
pages, and nothing is flushed per event. SQLite's documentation: in WAL mode with NORMAL the
database cannot be corrupted by a crash or a power failure; a power failure can lose the last
commits (the run history of the last seconds, never the warehouse). Other processes (the
webserver, the daemon) read the same files as before. Dagster's webserver follows a running
run by watching its ``<run id>.db`` for changes, which now happen in the WAL file: every stored
event touches the run's file so the live view updates as before.

Selected in ``dagster.template.yaml`` (``storage: custom:``); PostgreSQL storage replaces it
when ``DAGSTER_PG_*`` are set (``pipelines/instance.py``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections import OrderedDict
from collections.abc import Iterator

import sqlalchemy as db
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sql import create_engine, get_alembic_config
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)

# run shards whose connection stays open; older ones are closed (a webserver reads many runs)
MAX_OPEN_SHARDS = 8


@functools.cache
def _alembic_scripts() -> ScriptDirectory:
    """Dagster's migration scripts, read once per process (Dagster reads them twice per run)."""
    from dagster._core.storage.event_log.sqlite import sqlite_event_log

    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


def _engine(conn_string: str) -> db.engine.Engine:
    """A pooled engine whose connections write with ``synchronous=NORMAL``."""
    engine = create_engine(conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @db.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return engine


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """One engine per shard (the index and the most recent runs), kept open."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = _engine(self.conn_string_for_shard(shard))
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
                while len(self._engines) > MAX_OPEN_SHARDS + 1:  # + the index shard
                    oldest = next(k for k in self._engines if k != INDEX_SHARD_NAME)
                    self._engines.pop(oldest).dispose()
            self._engines.move_to_end(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _initdb(self, engine: db.engine.Engine, for_index_shard: bool = False) -> None:
        """A new run's database as Dagster makes it (its tables, WAL, stamped at the head
        revision), with the migration scripts read once per process (measured: 40-50 ms per
        new run database instead of 100-130 ms).
        The index shard, and any database another process is creating, go Dagster's way."""
        if for_index_shard:
            return super()._initdb(engine, for_index_shard=True)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(conn)
                if context.get_current_revision() is None:
                    SqlEventLogStorageMetadata.create_all(conn)
                    conn.execute(db.text("PRAGMA journal_mode=WAL;"))
                    context.stamp(_alembic_scripts(), "head")
                    conn.commit()
        except db.exc.DatabaseError:
            super()._initdb(engine)  # concurrent init elsewhere: Dagster's retrying path

    def store_event(self, event) -> None:
        super().store_event(event)
        if event.run_id:
            # the webserver's watcher of a running run listens to <run id>.db (see above)
            with contextlib.suppress(OSError):
                os.utime(self.path_for_shard(event.run_id))

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def delete_events(self, run_id: str) -> None:
        self._close_all()
        super().delete_events(run_id)

    def wipe(self) -> None:
        self._close_all()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


class PooledSqliteRunStorage(SqliteRunStorage):
    """Run storage (runs, tags, dynamic partitions) through one engine, kept open."""

    _shared: db.engine.Engine | None = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[db.engine.Connection]:
        if self._shared is None:
            self._shared = _engine(self._conn_string)
        with self._shared.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        if self._shared is not None:
            self._shared.dispose()
            self._shared = None
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage under ``base_dir`` (same layout), with the classes above.

    ``dagster.template.yaml``::

        storage:
          custom:
            module: pipelines.sqlite_storage
            class: PooledSqliteStorage
            config:
              base_dir: {env: DAGSTER_HOME}
    """

    def __init__(self, base_dir: str, inst_data=None):  # noqa: B042 (as Dagster's, other classes)
        self.base_dir = base_dir
        self._run_storage = PooledSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        DagsterStorage.__init__(self)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
