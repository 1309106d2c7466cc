"""The refresh plan walked in-process, stage by stage, with progress: ``scr-pipeline refresh``
and the rebuild of ``scr-pipeline verify`` (pipelines/orchestration/verify.py).

Called under the one-refresh lock once the stamp said something changed
(pipelines/orchestration/refresh_stamp.py); what to run after the ingest run is decided by
``refresh_plan.decide_after_ingest``, as the daemon decides. Failures are our own exception
types (``PipelineError``), ``dg.Failure`` or a blocking check that failed, raised by Dagster's
``execute_in_process``; each becomes one actionable message (``RefreshFailed``) instead of a
traceback.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from assets._shared.errors import PipelineError, WarehouseBusyError
from assets._shared.resources import WarehouseResource
from assets._shared.settings import path_from_env
from pipelines.orchestration.refresh_plan import (
    AFTER_TAG,
    INGEST,
    LANDING_TAG,
    PUBLISH,
    REFRESH_TAG,
    TRIGGER_TAG,
    RunPlan,
    current_differences,
    decide_after_ingest,
    landing_fingerprint,
    metadata_of_run,
)
from pipelines.orchestration.refresh_stamp import stamp_path, write_stamp
from schemas.extracts import EXTRACTS

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
CHECK_FAILED_HINT = (
    "Nothing further was published; the previous outputs stand. Inspect the warehouse tables "
    "named above (run with --debug for details)."
)


class RefreshFailed(PipelineError):
    """A stage failed; the message names what went wrong (file, column, rule)."""


@dataclass
class RefreshResult:
    run_ids: list[str] = field(default_factory=list)
    changed_quarters: list[str] = field(default_factory=list)
    metadata: dict[str, dict] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)


def check_descriptions(defs: dg.Definitions) -> dict[str, str]:
    """'asset: check' -> what the check verifies, from the public ``AssetsDefinition.check_specs``
    of the location's assets (the failure Dagster raises names a blocking check, not what it is)."""
    return {
        f"{spec.asset_key.to_user_string()}: {spec.name}": spec.description or ""
        for assets_def in defs.assets or []
        if isinstance(assets_def, dg.AssetsDefinition)
        for spec in assets_def.check_specs
    }


def failed_checks_text(error_text: str, descriptions: dict[str, str]) -> str:
    """Dagster's 'N blocking asset check(s) failed ...' lines ('asset: check1,check2') as one
    line, each check with what it verifies."""
    heading, named = [], []
    for line in filter(None, (line.strip() for line in error_text.splitlines())):
        asset, sep, names = line.partition(": ")
        if not sep or " " in asset:  # the heading line
            heading.append(line)
            continue
        for name in names.split(","):
            about = descriptions.get(f"{asset}: {name}")
            named.append(f"{asset}: {name}" + (f" ({about})" if about else ""))
    return " ".join([*heading, "; ".join(named)]).strip()


def execute_job(
    job: dg.JobDefinition, debug: bool, descriptions: dict[str, str] | None = None, **kwargs
) -> dg.ExecuteInProcessResult:
    """``job.execute_in_process`` with our errors as they were raised: a ``PipelineError``
    unchanged (a ``WarehouseBusyError`` exits 3), ``dg.Failure`` as its description, a blocking
    check that failed as Dagster names it with what it verifies (``descriptions``,
    ``check_descriptions``), Ctrl-C as KeyboardInterrupt; ``debug`` re-raises the original (with
    its traceback)."""
    try:
        return job.execute_in_process(
            run_config=kwargs.pop("run_config", None) or ({} if debug else QUIET),
            raise_on_error=True,
            **kwargs,
        )
    except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
        raise KeyboardInterrupt from None  # Ctrl-C: the CLI prints one line and exits 130
    except PipelineError as err:
        if debug or isinstance(err, WarehouseBusyError):
            raise
        raise RefreshFailed(str(err)) from None
    except dg.Failure as err:
        if debug:
            raise
        raise RefreshFailed(err.description or "a step failed") from None
    except dg.DagsterError as err:  # a blocking asset check failed (Dagster names asset: check)
        if debug:
            raise
        text = failed_checks_text(str(err), descriptions or {})
        raise RefreshFailed(f"{text}. {CHECK_FAILED_HINT}") from None
    except Exception as err:
        if debug:
            raise
        raise RefreshFailed(
            f"{type(err).__name__}: {err} (run with --debug for the traceback)"
        ) from None


def _metadata(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Each asset the run materialized: the metadata of its newest materialization by the run
    (read back from the instance's asset records)."""
    keys = {e.asset_key for e in result.all_events if e.is_step_materialization}
    return {k.to_user_string(): metadata_of_run(instance, k, result.run_id) for k in keys}


def _execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    plan: RunPlan,
    debug: bool,
    warehouse: WarehouseResource | None = None,
) -> dg.ExecuteInProcessResult:
    """One run of the plan: the job of its stages (their assets and checks, never the weekly
    verify: pipelines/orchestration/jobs.py);
    ``warehouse``: the resource object (held open) the run's assets use, passed as it is."""
    resources = {"warehouse": dg.ResourceDefinition.hardcoded_resource(warehouse)}
    return execute_job(
        defs.get_job_def(plan.job_name()),
        debug,
        check_descriptions(defs),
        instance=instance,
        tags={TRIGGER_TAG: "cli"} | plan.run_tags(),
        **({"resources": resources} if warehouse is not None else {}),
    )


def run_publish(defs: dg.Definitions, instance: dg.DagsterInstance, debug: bool = False) -> dict:
    """The publish stage alone (checks, then files): e.g. after an audit draw recorded a sample."""
    tags = {REFRESH_TAG: uuid.uuid4().hex[:12], TRIGGER_TAG: "cli"}
    result = _execute(defs, instance, RunPlan(PUBLISH, tags=tags), debug)
    return _metadata(instance, result)


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
    with WarehouseResource().held_open() as warehouse:  # its runs reuse the open database
        out = _run_refresh(defs, instance, progress, debug, warehouse)
    write_stamp(out.run_ids)  # after the warehouse is closed (and checkpointed)
    return out


def _run_refresh(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    progress: Callable[[str], None],
    debug: bool,
    warehouse: WarehouseResource,
) -> RefreshResult:
    out = RefreshResult()
    t0 = time.monotonic()
    tags = {REFRESH_TAG: uuid.uuid4().hex[:12], TRIGGER_TAG: "cli"}
    fingerprint, _ = landing_fingerprint()
    ingest = RunPlan(INGEST, tags=tags | {LANDING_TAG: fingerprint})
    first = _execute(defs, instance, ingest, debug, warehouse)
    out.run_ids.append(first.run_id)
    out.metadata.update(_metadata(instance, first))
    _report_ingest(out.metadata, progress, warehouse)
    decision = decide_after_ingest(
        instance, first.run_id, defs, differences=lambda: current_differences(warehouse)
    )
    out.changed_quarters = list(decision.facts.changed_quarters)
    out.differences = list(decision.facts.differences)
    plan = decision.plan
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
    result = _execute(defs, instance, plan, debug, warehouse)
    out.run_ids.append(result.run_id)
    out.metadata.update(_metadata(instance, result))
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


def _report_ingest(
    meta: dict[str, dict], progress: Callable[[str], None], warehouse: WarehouseResource
) -> None:
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
    errors, warnings = _scr_finding_counts(warehouse)
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


def _scr_finding_counts(warehouse: WarehouseResource) -> tuple[int, int]:
    """SCR (errors, warnings) as the report counts them (``assets._shared.findings.findings_sql``):
    the findings of the files in force plus the indicator-conflict warnings on current SCRs.
    Counted here without that query's ORDER BY (a sort of every finding: 2.8 s at 3M)."""
    from assets._shared.metadata import existing_tables
    from schemas.reference import rules
    from schemas.tco_definition import INDICATOR_CONFLICT_RULE

    with warehouse.connect(read_only=True) as con:
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
