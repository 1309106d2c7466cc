"""A refresh with nothing new, answered without importing Dagster; and the one-refresh lock.

Why: "nothing new" is the most frequent answer (the quarterly schedule, an operator checking),
and importing Dagster and opening its instance cost more than the check itself. After a
successful refresh a small stamp beside the warehouse records everything the next refresh's
result depends on; when none of it changed, the CLI says "nothing new" without a run.
This module imports neither Dagster nor the asset code
(tests/orchestration/test_refresh_nothing_new.py checks it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from assets._shared.errors import WarehouseBusyError, unwritable
from assets._shared.settings import DEFAULTS as SETTINGS
from assets._shared.settings import PROJECT_ROOT, path_from_env
from assets._shared.settings import value as settings_value

STAMP_SUFFIX = ".refresh-stamp"
_CODE_DIRS = ("assets", "schemas", "pipelines")
# settings that change how long a refresh waits, never what it computes
_NOT_IN_RESULT = frozenset({"SCR_SETTLE_SECONDS"})


@contextlib.contextmanager
def refresh_lock(wait: bool = False) -> Iterator[None]:
    """Only one refresh per warehouse; a second one waits or is told who holds the lock."""
    lock_path = Path(str(path_from_env("SCR_WAREHOUSE")) + ".refresh.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a+")  # noqa: SIM115 (closed by the with below)
    except PermissionError:
        raise unwritable(lock_path, f"the warehouse folder {lock_path.parent}") from None
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise WarehouseBusyError(
                f"another refresh is running (pid {holder}); wait for it to finish or use --wait"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def stamp_path() -> Path:
    return Path(str(path_from_env("SCR_WAREHOUSE")) + STAMP_SUFFIX)


def code_fingerprint() -> str:
    """The project's code and reference data (rules, catalogues, templates): a new rule or a
    changed measure query must be applied by the next refresh even with no new files."""
    h = hashlib.sha256()
    for top in _CODE_DIRS:
        for path in sorted((PROJECT_ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _listing(folder: Path, recursive: bool) -> list[str]:
    """Every entry with size, mtime (ns), inode and mode: any write, rename or copy changes it."""
    if not folder.is_dir():
        return []
    paths = folder.rglob("*") if recursive else folder.iterdir()
    out = []
    for p in sorted(paths):
        st = p.lstat()
        rel = p.relative_to(folder).as_posix()
        out.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_mode}")
    return out


def landing_listing() -> list[str]:
    """The landing dir, stricter than the sensor's fingerprint: any change runs the full plan."""
    return _listing(path_from_env("SCR_LANDING_DIR"), recursive=False)


def output_listing() -> list[str]:
    """Every file under the output dir as the last publish left it (partitions, manifest and
    any stray file included): a changed, removed or added file runs the full plan, which
    repairs it."""
    return _listing(path_from_env("SCR_OUTPUT_DIR"), recursive=True)


def _runs_db() -> Path | None:
    """The SQLite run history under DAGSTER_HOME, or None when runs go elsewhere (PostgreSQL)."""
    from pipelines.instance import postgres_configured

    if postgres_configured(os.environ):
        return None
    return path_from_env("DAGSTER_HOME") / "history" / "runs.db"


def latest_run_id(instance=None) -> str | None:
    """The id of the latest Dagster run of this instance when it succeeded, else None. A run
    queued or started by the daemon or the UI since the last refresh is the latest one and has
    not succeeded yet, so the full plan runs (and waits for it).

    Without ``instance``: straight from the SQLite run history (Dagster's ``runs`` table,
    read-only), None when the history is in PostgreSQL."""
    if instance is not None:
        import dagster as dg

        runs = instance.get_runs(limit=1)
        ok = runs and runs[0].status == dg.DagsterRunStatus.SUCCESS
        return runs[0].run_id if ok else None
    db = _runs_db()
    if db is None or not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            latest = con.execute("SELECT run_id, status FROM runs ORDER BY id DESC LIMIT 1")
            rows = latest.fetchall()
    except sqlite3.Error:
        return None  # a history this code does not know: the full plan decides
    return rows[0][0] if rows and rows[0][1] == "SUCCESS" else None


def refresh_state(instance=None) -> str | None:
    """What a refresh with nothing new depends on, or None when it cannot be known cheaply.

    The landing dir (every entry: name, size, mtime, inode), every setting that can change a
    result, the code and reference data, the warehouse file (size and mtime: any write changes
    them; a WAL file left by a writer that did not close means unknown; one that cannot be
    written, too), every published file as the last publish left it and the latest Dagster run
    of this instance (any run, from the CLI, the daemon or the UI; it must have succeeded)."""
    warehouse = path_from_env("SCR_WAREHOUSE")
    if not warehouse.exists() or Path(str(warehouse) + ".wal").exists():
        return None
    if not (os.access(warehouse, os.W_OK) and os.access(warehouse.parent, os.W_OK)):
        return None  # the full plan names the problem (a refresh could not write its results)
    run_id = latest_run_id(instance)
    if run_id is None:
        return None
    st = warehouse.stat()
    state = {
        "landing": landing_listing(),
        "settings": {n: settings_value(n) for n in sorted(SETTINGS) if n not in _NOT_IN_RESULT},
        "code": code_fingerprint(),
        "warehouse": [st.st_size, st.st_mtime_ns],
        "outputs": output_listing(),
        "latest_run": run_id,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def write_stamp(instance=None) -> None:
    """After a successful refresh (warehouse closed): record the state it left."""
    state = refresh_state(instance)
    if state is None:
        return
    stamp = stamp_path()
    with contextlib.suppress(OSError):  # only a shortcut: a refresh never fails for it
        tmp = stamp.with_name(stamp.name + ".tmp")
        tmp.write_text(state)
        tmp.replace(stamp)


def unchanged_since_last_refresh(instance=None) -> bool:
    """True when nothing a refresh depends on changed since the last successful one, published
    files included (read-only; else the full plan runs, and repairs outputs that differ)."""
    try:
        recorded = stamp_path().read_text()
    except OSError:
        return False
    return recorded == refresh_state(instance)
