"""``scr-pipeline refresh``: run the refresh job in-process, stage by stage, with progress.

Called under the one-refresh lock once the stamp said something changed
(pipelines/orchestration/refresh_stamp.py); failures become one actionable message (``RefreshFailed``)
instead of a traceback.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from assets._shared.errors import PipelineError, WarehouseBusyError, innermost_message
from assets._shared.resources import WarehouseResource
from assets._shared.settings import path_from_env
from pipelines.orchestration.refresh_plan import (
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
)
from pipelines.orchestration.refresh_stamp import stamp_path, write_stamp
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
        asset_selection=set(plan.asset_keys(graph)),
        asset_check_selection=set(plan.check_keys(graph)),
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
    """Walk the refresh plan (pipelines/orchestration/refresh_plan.py): the ingest run, then one run that
    measures the range of changed quarters and publishes (checks first, files last); the first
    failure stops it. With nothing new, publish still runs when the published outputs differ
    from the warehouse (repair)."""
    stamp_path().unlink(missing_ok=True)  # written again only when this refresh succeeds
    with WarehouseResource().held_open():  # the runs' connections reuse the open database
        out = _run_refresh(defs, instance, progress, debug)
    write_stamp(out.run_ids)  # after the warehouse is closed (and checkpointed)
    return out


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
    plan = refresh_plan(out.changed_quarters, bool(new_files or out.differences))
    if plan is None:
        progress(
            f"nothing new: the published outputs match the warehouse ({time.monotonic() - t0:.1f}s)"
        )
        return out
    if out.differences:
        more = f" and {len(out.differences) - 1} more" if len(out.differences) > 1 else ""
        progress(
            f"[repair] published outputs differ from the warehouse: {out.differences[0]}{more}"
        )
    span = f"measures {' to '.join(plan.partition_range)}, then " if plan.partition_range else ""
    progress(f"[{plan.stage}] {span}publish ...")
    plan = RunPlan(plan.stage, plan.partition_range, tags | {AFTER_TAG: first.run_id})
    result = _execute(defs, instance, plan, debug)
    out.run_ids.append(result.run_id)
    out.metadata.update(_metadata(result))
    _report_reviews(out.metadata, progress)
    pub = out.metadata.get("published_outputs", {})
    progress(
        f"[publish] {len(out.changed_quarters)} quarter(s) re-measured; "
        f"{pub.get('files_written', 0)} file(s) written, {pub.get('files_removed', 0)} removed, "
        f"{pub.get('partitions_reused', 0)} unchanged quarter file(s) kept; "
        f"output in {path_from_env('SCR_OUTPUT_DIR')} ({time.monotonic() - t0:.1f}s)"
    )
    _report_release(pub, progress)
    if "path" in pub:
        progress(f"[report] open {pub['path']} in a browser")
    return out


def _report_release(pub: dict, progress: Callable[[str], None]) -> None:
    """The release now shown, an adopted output dir, and every file kept for a person."""
    if pub.get("adopted"):
        progress(f"[publish] {pub['adopted']}")
    if pub.get("release_id"):
        pruned = len(pub.get("releases_pruned") or [])
        progress(
            f"[publish] release {pub['release_id']} in {pub.get('release_dir', '')}"
            + (f"; {pruned} older release(s) removed" if pruned else "")
        )
    kept = pub.get("kept_files") or []
    if kept:
        progress(
            f"[publish] kept {len(kept)} file(s) the pipeline did not write: {', '.join(kept)} "
            f"(copied to {pub.get('kept_dir', '')})"
        )


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
    errors, warnings = _scr_finding_counts()
    progress(
        f"[validate] {v.get('rows_checked', 0):,} SCR rows checked, "
        f"{v.get('new_findings', 0):,} new finding(s); SCR findings: {errors:,} errors "
        f"(quarantined) and {warnings:,} warnings"
    )
    c = meta.get("scr_current", {})
    progress(
        f"[determine] {c.get('dagster/row_count', 0):,} SCRs: {c.get('counted', 0):,} counted, "
        f"{c.get('quarantined', 0):,} quarantined, {c.get('indicator_conflicts', 0):,} indicator conflicts"
    )
    q = meta.get("changed_quarters", {})
    progress(f"[plan] {q.get('changed_count', 0)} fiscal quarter(s) changed")


def _scr_finding_counts() -> tuple[int, int]:
    """SCR (errors, warnings) as the report counts them (``assets.publish.export.findings_sql``):
    the findings of the files in force plus the indicator-conflict warnings on current SCRs.
    Counted here without that query's ORDER BY (a sort of every finding: 2.8 s at 3M)."""
    from assets._shared.metadata import existing_tables
    from schemas.reference import rules
    from schemas.tco_definition import INDICATOR_CONFLICT_RULE

    with WarehouseResource().connect(read_only=True) as con:
        if not {"scr_findings", "scr_current"} <= existing_tables(con):
            return 0, 0
        errors, warnings = con.execute(
            "SELECT count(*) FILTER (severity = 'error'), count(*) FILTER (severity = 'warning') "
            "FROM scr_findings WHERE file_id IN "
            "(SELECT file_id FROM ingested_files WHERE state = 'active')"
        ).fetchall()[0]
        (conflicts,) = con.execute(
            "SELECT count(*) FROM scr_current WHERE indicator_conflict"
        ).fetchall()[0]
    if rules()[INDICATOR_CONFLICT_RULE].severity == "error":
        return errors + conflicts, warnings
    return errors, warnings + conflicts


def _report_reviews(meta: dict[str, dict], progress: Callable[[str], None]) -> None:
    """One line for the case reviews, when the refresh checked them: the review findings in
    force (errors leave the review out) with the first few named, and cases in dispute."""
    c = meta.get("case_review_current")
    if c is None or not (c.get("dagster/row_count") or c.get("review_errors")):
        return
    checked = meta.get("case_review_findings", {}).get("rows_checked", 0)
    errors, warnings = c.get("review_errors", 0), c.get("review_warnings", 0)
    line = f"[reviews] {checked:,} review row(s) checked: {errors:,} errors"
    if errors:
        line += " (each review left out; an earlier valid review of the case stays in force)"
    line += f" and {warnings:,} warnings"
    named, last_file = [], None
    for f in c.get("first_review_errors") or []:
        where = f"row {f['row']} {f['column']} ({f['rule']})"
        named.append(where if f["file"] == last_file else f"{f['file']} {where}")
        last_file = f["file"]
    if named:
        line += ": " + "; ".join(named)
        if errors > len(named):
            line += f"; and {errors - len(named):,} more in validation_findings.parquet"
    if c.get("in_dispute"):
        line += (
            f"; {c['in_dispute']:,} case(s) in dispute (first and second reviews disagree) "
            "await an adjudication review"
        )
    progress(line)
