"""A refresh with nothing new, answered without importing Dagster; and the one-refresh lock.

Why: "nothing new" is the most frequent answer (the quarterly schedule, an operator checking),
and importing Dagster and opening its instance cost more than the check itself. After a
successful refresh a small stamp beside the warehouse records everything the next refresh's
result depends on (and, for the operator, the refresh's run ids and time); when none of it
changed, the CLI says "nothing new" without a run. A run started elsewhere (the daemon, the UI)
removes the stamp through the code it runs: every asset opens the warehouse through
``WarehouseResource.connect``, which removes it before writing. Dagster's own files are never
read here. Before "nothing new", every published file's sha256 is checked against the
manifest (``published_content_ok``). This module imports neither Dagster nor the asset code
beyond the file-system helpers of assets/publish/manifest.py
(tests/orchestration/test_refresh_nothing_new.py checks it).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from assets._shared.code_version import all_code_versions
from assets._shared.errors import WarehouseBusyError, unwritable
from assets._shared.settings import DEFAULTS as SETTINGS
from assets._shared.settings import PROJECT_ROOT, REFRESH_STAMP_SUFFIX, path_from_env
from assets._shared.settings import value as settings_value

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
    return Path(str(path_from_env("SCR_WAREHOUSE")) + REFRESH_STAMP_SUFFIX)


def code_fingerprint() -> dict[str, str]:
    """The code version of every asset module (the function each asset's ``code_version`` comes
    from, assets/_shared/code_version.py): a new rule, a changed measure query or template must
    be applied by the next refresh even with no new files. Code that only decides when runs
    happen (pipelines/) changes no result and is not in it."""
    return all_code_versions(PROJECT_ROOT)


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
    """The release the output link points to and every file in it as the last publish left
    it (partitions, manifest and any stray file included): a changed, removed or added file
    runs the full plan, which repairs it."""
    output = path_from_env("SCR_OUTPUT_DIR")
    link = os.readlink(output) if output.is_symlink() else "(not a link)"
    return [f"-> {link}", *_listing(output, recursive=True)]


def refresh_state() -> str | None:
    """What a refresh with nothing new depends on, or None when it cannot be known cheaply.

    The landing dir (every entry: name, size, mtime, inode), every setting that can change a
    result, the code and reference data, the warehouse file (size and mtime: any write changes
    them; a WAL file left by a writer that did not close means unknown; one that cannot be
    written, too) and every published file as the last publish left it."""
    warehouse = path_from_env("SCR_WAREHOUSE")
    if not warehouse.exists() or Path(str(warehouse) + ".wal").exists():
        return None
    if not (os.access(warehouse, os.W_OK) and os.access(warehouse.parent, os.W_OK)):
        return None  # the full plan names the problem (a refresh could not write its results)
    st = warehouse.stat()
    state = {
        "landing": landing_listing(),
        "settings": {n: settings_value(n) for n in sorted(SETTINGS) if n not in _NOT_IN_RESULT},
        "code": code_fingerprint(),
        "warehouse": [st.st_size, st.st_mtime_ns],
        "outputs": output_listing(),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def write_stamp(run_ids: list[str]) -> None:
    """After a successful refresh (warehouse closed): record the state it left, and which runs
    and when (for the operator; the comparison reads the state alone)."""
    state = refresh_state()
    if state is None:
        return
    stamp = stamp_path()
    record = {"state": state, "run_ids": run_ids, "written_at": time.time()}
    with contextlib.suppress(OSError):  # only a shortcut: a refresh never fails for it
        tmp = stamp.with_name(stamp.name + ".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(stamp)


def unchanged_since_last_refresh() -> bool:
    """True when nothing a refresh depends on changed since the last successful one, published
    files included (their listing, then their content against the manifest), and no run opened
    the warehouse for writing since (read-only; else the full plan runs, and repairs outputs
    that differ)."""
    try:
        recorded = json.loads(stamp_path().read_text())["state"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded == refresh_state() and published_content_ok()


def published_content_ok() -> bool:
    """Every published file still has its manifest's sha256 (and no file is unlisted): size,
    mtime and inode can be restored after an edit, the content cannot (issue 28)."""
    from assets.publish.manifest import check_manifest  # file system only: no Dagster

    return not check_manifest(path_from_env("SCR_OUTPUT_DIR"))
