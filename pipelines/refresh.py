"""``scr-pipeline refresh``: run the refresh job in-process, stage by stage, with progress.

One refresh at a time (a lock file beside the warehouse); failures become one actionable
message (``RefreshFailed``) instead of a traceback.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets._shared.errors import PipelineError, WarehouseBusyError, innermost_message, unwritable
from assets._shared.partitions import FISCAL_QUARTERS
from assets._shared.resources import WarehouseResource
from assets._shared.settings import DEFAULTS as SETTINGS
from assets._shared.settings import PROJECT_ROOT, path_from_env
from assets._shared.settings import value as settings_value
from pipelines.refresh_plan import (
    AFTER_TAG,
    INGEST,
    JOB_NAME,
    LANDING_TAG,
    PUBLISH,
    REFRESH_TAG,
    RunPlan,
    changed_quarters_of_run,
    landing_fingerprint,
    refresh_plan,
    stage_check_keys,
    stage_keys,
)
from schemas.extracts import EXTRACTS

INTERRUPTED_ERROR = "DagsterExecutionInterruptedError"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class RefreshFailed(PipelineError):
    """A stage failed; the message names what went wrong (file, column, rule)."""


@dataclass
class RefreshResult:
    run_ids: list[str] = field(default_factory=list)
    changed_quarters: list[str] = field(default_factory=list)
    metadata: dict[str, dict] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)


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


def _failed_checks(result: dg.ExecuteInProcessResult) -> str:
    """'check: description' for every failed asset check of the run."""
    failed = [ev for ev in result.get_asset_check_evaluations() if not ev.passed]
    return "; ".join(
        f"check {ev.check_name} on {ev.asset_key.to_user_string()} failed"
        + (f" ({ev.description})" if ev.description else "")
        for ev in failed
    )


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The innermost error of the first failed step, without a traceback."""
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            if _error_chain_has(error, "DagsterAssetCheckFailedError"):
                return (
                    f"{_failed_checks(result)}. Nothing further was published; the previous "
                    "outputs stand. Inspect the warehouse tables named above (run with --debug "
                    "for details)."
                )
            text, is_user_error = innermost_message(error)
            if is_user_error:
                return text
            return f"step {event.step_key} failed: {text} (run with --debug for the traceback)"
    return "the run failed (see the Dagster UI or run with --debug)"


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for ev in result.get_asset_materialization_events():
        mat = ev.step_materialization_data.materialization
        out.setdefault(mat.asset_key.to_user_string(), {}).update(
            {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
        )
    return out


def _execute(
    defs: dg.Definitions, instance: dg.DagsterInstance, plan: RunPlan, debug: bool
) -> dg.ExecuteInProcessResult:
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(JOB_NAME).get_subset(
        asset_selection=set(stage_keys(graph, plan.stage)),
        asset_check_selection=set(stage_check_keys(graph, plan.stage)),
    )
    result = job.execute_in_process(
        instance=instance,
        tags={"scr/trigger": "cli"} | plan.run_tags(),
        run_config={} if debug else QUIET,
        raise_on_error=debug,
    )
    if not result.success:
        if _interrupted(result):
            raise KeyboardInterrupt  # Ctrl-C: the CLI prints one line and exits 130
        message = failure_message(result)
        if _failed_with(result, "WarehouseBusyError"):
            raise WarehouseBusyError(message)  # exit code 3, like a held refresh lock
        raise RefreshFailed(message)
    return result


def _error_chain_has(error, cls_name: str) -> bool:
    while error is not None:
        if error.cls_name == cls_name:
            return True
        error = error.cause
    return False


def _interrupted(result: dg.ExecuteInProcessResult) -> bool:
    """Whether Dagster turned a Ctrl-C into a step or run failure."""
    return any(
        _error_chain_has(getattr(event.event_specific_data, "error", None), INTERRUPTED_ERROR)
        for event in result.all_events
        if event.is_failure
    )


def _failed_with(result: dg.ExecuteInProcessResult, cls_name: str) -> bool:
    """Whether a step failed with ``cls_name`` (at any depth of its error chain)."""
    return any(
        _error_chain_has(event.step_failure_data.error, cls_name)
        for event in result.all_events
        if event.is_step_failure
    )


def current_differences() -> list[str]:
    """Read-only: what the published outputs lack compared with what the warehouse implies."""
    from assets.publish.outputs import published_differences

    warehouse = path_from_env("SCR_WAREHOUSE")
    if not warehouse.exists():
        return ["the warehouse does not exist yet"]
    with WarehouseResource(path=str(warehouse)).connect(read_only=True) as con:
        return published_differences(path_from_env("SCR_OUTPUT_DIR"), con)


def run_publish(defs: dg.Definitions, instance: dg.DagsterInstance, debug: bool = False) -> dict:
    """The publish stage alone (checks, then files): e.g. after an audit draw recorded a sample."""
    tags = {REFRESH_TAG: uuid.uuid4().hex[:12], "scr/trigger": "cli"}
    return _metadata(_execute(defs, instance, RunPlan(PUBLISH, tags=tags), debug))


def run_refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    progress: Callable[[str], None] = print,
    debug: bool = False,
) -> RefreshResult:
    """Walk the refresh plan (pipelines/refresh_plan.py): ingest, measure each block of changed
    quarters, then publish (checks first, files last); the first failure stops it. With nothing
    new, publish still runs when the published outputs differ from the warehouse (repair)."""
    stamp = _stamp_path()
    stamp.unlink(missing_ok=True)  # written again only when this refresh succeeds
    with WarehouseResource().held_open():  # the runs' connections reuse the open database
        out = _run_refresh(defs, instance, progress, debug)
    _write_stamp(stamp, instance)  # after the warehouse is closed (and checkpointed)
    return out


# --- a refresh with nothing new, without a Dagster run ----------------------------------------
# After a successful refresh, a small stamp beside the warehouse records everything the next
# refresh's result depends on. When nothing of it changed and the published outputs match the
# warehouse, the CLI says "nothing new" without importing the code location or starting a run.
STAMP_SUFFIX = ".refresh-stamp"
_CODE_DIRS = ("assets", "schemas", "pipelines")


def _stamp_path() -> Path:
    return Path(str(path_from_env("SCR_WAREHOUSE")) + STAMP_SUFFIX)


def _code_fingerprint() -> str:
    """The project's code and reference data (rules, catalogues, templates): a new rule or a
    changed measure query must be applied by the next refresh even with no new files."""
    h = hashlib.sha256()
    for top in _CODE_DIRS:
        for path in sorted((PROJECT_ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _landing_listing() -> list[str]:
    """Every entry of the landing dir with size, mtime (ns) and inode: stricter than the
    sensor's fingerprint, so any change at all runs the full plan."""
    landing = path_from_env("SCR_LANDING_DIR")
    if not landing.is_dir():
        return []
    out = []
    for p in sorted(landing.iterdir()):
        st = p.lstat()
        out.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_mode}")
    return out


def refresh_state(instance: dg.DagsterInstance) -> str | None:
    """What a refresh with nothing new depends on, or None when it cannot be known cheaply.

    The landing dir (every entry: name, size, mtime, inode), every setting, the code and reference data,
    the warehouse file (size and mtime: any write changes them; a WAL file left by a writer that
    did not close means unknown; one that cannot be written, too) and the latest Dagster run of this instance (any run, from the
    CLI, the daemon or the UI; it must have succeeded)."""
    warehouse = path_from_env("SCR_WAREHOUSE")
    if not warehouse.exists() or Path(str(warehouse) + ".wal").exists():
        return None
    if not (os.access(warehouse, os.W_OK) and os.access(warehouse.parent, os.W_OK)):
        return None  # the full plan names the problem (a refresh could not write its results)
    runs = instance.get_runs(limit=1)
    if not runs or runs[0].status != dg.DagsterRunStatus.SUCCESS:
        return None
    st = warehouse.stat()
    state = {
        "landing": _landing_listing(),
        "settings": {name: settings_value(name) for name in sorted(SETTINGS)},
        "code": _code_fingerprint(),
        "warehouse": [st.st_size, st.st_mtime_ns],
        "latest_run": runs[0].run_id,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _write_stamp(stamp: Path, instance: dg.DagsterInstance) -> None:
    state = refresh_state(instance)
    if state is None:
        return
    with contextlib.suppress(OSError):  # only a shortcut: a refresh never fails for it
        tmp = stamp.with_name(stamp.name + ".tmp")
        tmp.write_text(state)
        tmp.replace(stamp)


def unchanged_since_last_refresh(instance: dg.DagsterInstance) -> bool:
    """True when nothing a refresh depends on changed since the last successful one and the
    published outputs are exactly what the warehouse implies (read-only; else a refresh runs,
    and repairs the outputs when they differ)."""
    stamp = _stamp_path()
    try:
        recorded = stamp.read_text()
    except OSError:
        return False
    return recorded == refresh_state(instance) and not current_differences()


def _run_refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    progress: Callable[[str], None],
    debug: bool,
) -> RefreshResult:
    out = RefreshResult()
    t0 = time.monotonic()
    tags = {REFRESH_TAG: uuid.uuid4().hex[:12], "scr/trigger": "cli"}
    fingerprint, _ = landing_fingerprint()
    first = _execute(defs, instance, RunPlan(INGEST, tags=tags | {LANDING_TAG: fingerprint}), debug)
    out.run_ids.append(first.run_id)
    out.metadata.update(_metadata(first))
    _report_ingest(out.metadata, progress)
    out.changed_quarters = changed_quarters_of_run(instance, first.run_id) or []
    new_files = sum(out.metadata.get(k, {}).get("new_files", 0) for k in out.metadata)
    new_files += sum(out.metadata.get(k, {}).get("lifecycle_events", 0) for k in out.metadata)
    if not out.changed_quarters and not new_files:
        out.differences = current_differences()
    keys = instance.get_dynamic_partitions(FISCAL_QUARTERS.name)
    plans = refresh_plan(out.changed_quarters, keys, bool(new_files or out.differences))
    if not plans:
        progress(
            f"nothing new: the published outputs match the warehouse ({time.monotonic() - t0:.1f}s)"
        )
        return out
    if out.differences:
        more = f" and {len(out.differences) - 1} more" if len(out.differences) > 1 else ""
        progress(
            f"[repair] published outputs differ from the warehouse: {out.differences[0]}{more}"
        )
    for plan in plans:
        label = " to ".join(plan.partition_range) if plan.partition_range else plan.stage
        progress(f"[{plan.stage}] {label} ...")
        plan = RunPlan(plan.stage, plan.partition_range, tags | {AFTER_TAG: first.run_id})
        result = _execute(defs, instance, plan, debug)
        out.run_ids.append(result.run_id)
        out.metadata.update(_metadata(result))
    pub = out.metadata.get("published_outputs", {})
    progress(
        f"[publish] {len(out.changed_quarters)} quarter(s) re-measured; "
        f"{pub.get('files_written', 0)} file(s) written, {pub.get('files_removed', 0)} removed; "
        f"output in {path_from_env('SCR_OUTPUT_DIR')} ({time.monotonic() - t0:.1f}s)"
    )
    if "path" in pub:
        progress(f"[report] open {pub['path']} in a browser")
    return out


def _report_ingest(meta: dict[str, dict], progress: Callable[[str], None]) -> None:
    raw = [(key, meta.get(key, {})) for key in (s.raw_table for s in EXTRACTS)]
    for key, m in raw:
        if m.get("new_files"):
            progress(f"[ingest] {key}: {m['new_files']} new file(s), {m['rows_read']:,} rows read")
        for note in m.get("lifecycle_notes") or []:
            progress(f"[ingest] {note}")
    if not any(m.get("new_files") for _, m in raw):
        seen = sum(m.get("files_already_ingested", 0) for _, m in raw)
        progress(
            f"[ingest] no new extract files in {path_from_env('SCR_LANDING_DIR')} "
            f"({seen} already ingested)"
        )
    v = meta.get("scr_findings", {})
    progress(
        f"[validate] {v.get('rows_checked', 0):,} SCR rows checked, "
        f"{v.get('new_findings', 0):,} new finding(s)"
    )
    c = meta.get("scr_current", {})
    progress(
        f"[determine] {c.get('dagster/row_count', 0):,} SCRs: {c.get('counted', 0):,} counted, "
        f"{c.get('quarantined', 0):,} quarantined, {c.get('indicator_conflicts', 0):,} indicator conflicts"
    )
    q = meta.get("changed_quarters", {})
    progress(f"[plan] {q.get('changed_count', 0)} fiscal quarter(s) changed")
