"""A refresh with nothing new, answered without importing Dagster; and the one-refresh lock.

Why: "nothing new" is the most frequent answer (the quarterly schedule, an operator checking),
and importing Dagster and opening its instance cost more than the check itself. After a
successful refresh a small stamp beside the warehouse records everything the next refresh's
result depends on (and, for the operator, the refresh's run ids and time); when none of it
changed, the CLI says "nothing new" without a run.

One rule for "nothing new" (``nothing_new``), read by the stamp here and by the plan
(``refresh_plan.decide``) on the same facts (``RefreshFacts``): no new or changed landing file
(``landing_fingerprint``, the one the landing sensor uses too), no changed quarter, no stale
stage, no published output that differs. A run started elsewhere (the daemon, the UI) voids the
stamp when it starts (``void_stamp``, called from the warehouse binding of the code location,
pipelines/orchestration/warehouse.py). Dagster's own files are never read here. Before
"nothing new", every published file's sha256 is checked against the manifest
(``published_content_ok``). This module imports neither Dagster nor the asset code beyond the
file-system helpers of assets/landing/scan.py and assets/publish/manifest.py
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
from dataclasses import dataclass
from pathlib import Path

from assets._shared.code_version import all_code_versions
from assets._shared.errors import WarehouseBusyError, unwritable
from assets._shared.settings import DEFAULTS as SETTINGS
from assets._shared.settings import (
    PROJECT_ROOT,
    REFRESH_STAMP_SUFFIX,
    path_from_env,
    settle_seconds,
)
from assets._shared.settings import value as settings_value
from assets.landing.scan import is_control_file, is_ignored, is_unsettled
from schemas.extracts import spec_for

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


def landing_fingerprint() -> tuple[str, list[str]]:
    """The landing dir as ingest sees it, one fingerprint for the sensor, the CLI and the stamp:
    every settled entry named like an extract or its ``.sha256`` control file, as
    ``name:size:mtime_ns`` (what ingest compares to skip a file it has read), a non-regular one
    (a symlink, a folder) as ``name:<kind>`` (ingest refuses it by name).

    A file still being written (changed less than SCR_SETTLE_SECONDS ago), a hidden or partial
    file or a name that is no extract's is left out, so a later tick sees it once it settled."""
    landing = path_from_env("SCR_LANDING_DIR")
    settle = settle_seconds()
    entries = []
    if landing.is_dir():
        for p in sorted(landing.iterdir(), key=lambda p: p.name):
            if is_ignored(p.name) or not (spec_for(p.name) or is_control_file(p.name)):
                continue
            st = p.lstat()
            if p.is_symlink() or not p.is_file():
                entries.append(f"{p.name}:{'symlink' if p.is_symlink() else 'not a file'}")
            elif not is_unsettled(st, settle):
                entries.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16], entries


@dataclass(frozen=True)
class RefreshFacts:
    """What decides whether a refresh has anything to do, gathered after its ingest (the plan)
    or from the stamp (before any run): the one input of ``nothing_new``."""

    changed_quarters: tuple[str, ...] = ()  # fiscal quarters whose counted SCRs changed
    new_files: int = 0  # new or changed landing files, and landing events (removed, retracted)
    stale_stages: frozenset[str] = frozenset()  # stages whose code or settings changed
    differences: tuple[str, ...] = ()  # published outputs that differ from the warehouse


def nothing_new(facts: RefreshFacts) -> bool:
    """The one "nothing new" rule: the stamp's fast path and the plan both decide by it."""
    return not (
        facts.changed_quarters or facts.new_files or facts.stale_stages or facts.differences
    )


def _listing(folder: Path) -> list[str]:
    """Every entry with size, mtime (ns), inode and mode: any write, rename or copy changes it."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        rel = p.relative_to(folder).as_posix()
        out.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_mode}")
    return out


def output_listing() -> list[str]:
    """The release the output link points to and every file in it as the last publish left
    it (partitions, manifest and any stray file included): a changed, removed or added file
    runs the full plan, which repairs it."""
    output = path_from_env("SCR_OUTPUT_DIR")
    link = os.readlink(output) if output.is_symlink() else "(not a link)"
    return [f"-> {link}", *_listing(output)]


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def refresh_state() -> dict[str, str] | None:
    """What a refresh with nothing new depends on, one digest per fact, or None when it cannot
    be known cheaply.

    ``files``: the landing fingerprint; ``code`` and ``settings``: the code and reference data
    and every setting that can change a result (stale stages); ``warehouse``: the file's size
    and mtime (any write changes them; a WAL file left by a writer that did not close means
    unknown; one that cannot be written, too); ``outputs``: every published file as the last
    publish left it."""
    warehouse = path_from_env("SCR_WAREHOUSE")
    if not warehouse.exists() or Path(str(warehouse) + ".wal").exists():
        return None
    if not (os.access(warehouse, os.W_OK) and os.access(warehouse.parent, os.W_OK)):
        return None  # the full plan names the problem (a refresh could not write its results)
    st = warehouse.stat()
    settings = {n: settings_value(n) for n in sorted(SETTINGS) if n not in _NOT_IN_RESULT}
    return {
        "files": landing_fingerprint()[0],
        "settings": _digest(settings),
        "code": code_fingerprint(),
        "warehouse": _digest([st.st_size, st.st_mtime_ns]),
        "outputs": _digest(output_listing()),
    }


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


def void_stamp() -> None:
    """A run is about to write the warehouse: the next refresh must run its plan."""
    with contextlib.suppress(OSError):
        stamp_path().unlink(missing_ok=True)


def facts_since_last_refresh() -> RefreshFacts | None:
    """The facts of ``nothing_new`` as far as the stamp can tell without a run, or None when it
    cannot tell (no stamp, no warehouse, a writer that did not close).

    A changed landing fingerprint is a new file; changed code or settings a stale stage; a
    write to the warehouse by anything else counts as a changed quarter (it may have changed
    any); a changed output listing or a file whose content no longer matches the manifest is a
    difference."""
    try:
        recorded = json.loads(stamp_path().read_text())["state"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    now = refresh_state()
    if not isinstance(recorded, dict) or now is None or set(recorded) != set(now):
        return None
    changed = {k for k in now if now[k] != recorded[k]}
    differences = ("the published files changed",) if "outputs" in changed else ()
    return RefreshFacts(
        changed_quarters=("unknown: the warehouse was written",) if "warehouse" in changed else (),
        new_files=int("files" in changed),
        stale_stages=frozenset(changed & {"code", "settings"}),
        differences=differences or tuple(_published_content_differences()),
    )


def unchanged_since_last_refresh() -> bool:
    """True when nothing a refresh depends on changed since the last successful one, published
    files included (their listing, then their content against the manifest), and no run opened
    the warehouse for writing since (read-only; else the full plan runs, and repairs outputs
    that differ)."""
    facts = facts_since_last_refresh()
    return facts is not None and nothing_new(facts)


def _published_content_differences() -> list[str]:
    """Every published file whose content no longer has its manifest's sha256 (or that is
    unlisted): size, mtime and inode can be restored after an edit, the content cannot
    (issue 28)."""
    from assets.publish.manifest import check_manifest  # file system only: no Dagster

    return check_manifest(path_from_env("SCR_OUTPUT_DIR"))


def published_content_ok() -> bool:
    return not _published_content_differences()
