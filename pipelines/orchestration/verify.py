"""``scr-pipeline verify``: is the published measure reproducible from the archive alone?

Why: an auditor redoes the measure from the files that went in. Verify does that: it rebuilds a
warehouse from the archive (every archived file replayed in manifest order, retractions and
replacements applied: ``assets.landing.rebuild.ingest_from_archive``) in a temporary directory, runs an
ordinary refresh there in this process (``run_refresh``, as the CLI; its own warehouse, output
dir, an in-memory Dagster instance and an empty landing dir), and compares every published file, partitions included, with the rebuild.
The published files are also checked against their own ``_manifest.json``.
The code location whose refresh rebuilds is a parameter: the CLI passes ``defs`` and the code
location hands itself to the weekly check (``verify_check(lambda: defs)``), so this module
never imports the location that holds its check.

Drawn audit samples are operator records, not files: their three tables are copied from the
warehouse (read-only) so the rebuild draws nothing. So is the publication history (what was
published when): the rebuild's refresh is then compared as the next refresh of the same history;
its tables are made by the measures' migration steps (keys too) and filled by name.
Nothing published is changed.
"""

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from assets._shared.errors import PipelineError
from assets._shared.migrations import MEASURES, migrate
from assets._shared.settings import path_from_env
from assets._shared.sql import quote_literal
from assets.audit.tables import ensure_audit_tables
from assets.landing.archive import MANIFEST as ARCHIVE_MANIFEST
from assets.landing.archive import read_manifest
from assets.landing.rebuild import ingest_from_archive
from assets.publish.manifest import check_manifest, compare_output_dirs, list_files
from assets.publish.manifest import read_manifest as read_output_manifest
from pipelines.orchestration.alerts import record_step_failure
from pipelines.orchestration.refresh_plan import TRIGGER_TAG, VERIFY_CHECK, run_request
from schemas.extracts import EXTRACTS

AUDIT_TABLES = ("audit_samples", "audit_sample_population", "audit_sample_cases",
                "audit_sample_strata", "audit_sample_frame")  # fmt: skip
# The publication history: what was published when, what changed between publications, and
# the values a restated quarter had before (quarterly_measures_history).
# It is a record of past refreshes, not a function of the files, so it is copied too; the
# rebuild then restates nothing if the published outputs still follow from the archive (and a
# stale publication shows up as a new restatement, i.e. a difference).
HISTORY_TABLES = ("publications", "published_contributions", "restatement_runs", "restatements",
                  "quarterly_measures_history")  # fmt: skip
CHECK_NAME = VERIFY_CHECK.name  # on published_outputs


@dataclass
class VerifyResult:
    differences: list[str] = field(default_factory=list)
    files_compared: int = 0
    archive_events: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.differences


def _copy_records(con: duckdb.DuckDBPyConnection, live_warehouse: Path) -> int:
    """Copy the drawn audit samples (operator records) and the publication history from the
    live warehouse, read-only; returns the number of audit-sample rows copied."""
    ensure_audit_tables(con)
    try:
        con.execute(f"ATTACH {quote_literal(str(live_warehouse))} AS live (READ_ONLY)")
    except duckdb.Error as err:
        if "lock" in str(err).lower():
            raise PipelineError(
                f"the warehouse {live_warehouse} is busy (a refresh or the UI is writing to "
                "it); run verify again when it is free"
            ) from None
        raise PipelineError(f"cannot open the warehouse {live_warehouse}: {err}") from None
    try:
        live = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'live'"
            ).fetchall()
        }
        copied = 0
        for table in AUDIT_TABLES:
            if table in live:
                con.execute(f"INSERT INTO {table} SELECT * FROM live.{table}")
                copied += con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        migrate(con, MEASURES)  # the history's tables as every warehouse has them, keys too
        for table in HISTORY_TABLES:
            if table in live:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM live.{table}")
        return copied
    finally:
        con.execute("DETACH live")


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The rebuild's paths for the block: settings are read from the environment at run time."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _refresh_in(
    location: dg.Definitions, env: dict[str, str], progress: Callable[[str], None]
) -> None:
    """An ordinary refresh (``run_refresh``, what ``scr-pipeline refresh`` calls) of the code
    ``location``, in this process, with the rebuild's paths and an in-memory Dagster instance."""
    from pipelines.orchestration.refresh_walk import run_refresh

    lines: list[str] = []
    try:
        with _environment(env), dg.DagsterInstance.ephemeral() as instance:
            result = run_refresh(location, instance, progress=lines.append)
    except PipelineError as err:
        for line in lines:
            progress(f"  rebuild {line}")
        raise PipelineError(f"the rebuild's refresh failed: {err}") from None
    # the rebuild's landing dir is empty on purpose: its "removed from the landing dir" notes
    # are expected (the archive keeps counting) and are summarised, not listed
    raw = [result.metadata.get(spec.raw_table, {}) for spec in EXTRACTS]
    removed = sum(m.get("removed", 0) for m in raw)
    notes = {f"[ingest] {n}" for m in raw for n in m.get("lifecycle_notes") or []}
    for line in lines:
        if line.startswith("[") and (not removed or line not in notes):
            progress(f"  rebuild {line}")
    if removed:
        progress(f"  rebuild: {removed} archived file(s) replayed from the archive alone")


def verify(
    location: dg.Definitions, progress: Callable[[str], None] = print, keep: Path | None = None
) -> VerifyResult:
    """Rebuild from the archive into a temporary place and compare every published output.
    ``location``: the code location whose refresh rebuilds (passed by the caller, the CLI or
    the check, so this module never imports the location that holds its check)."""
    t0 = time.monotonic()
    archive = path_from_env("SCR_ARCHIVE_DIR")
    output = path_from_env("SCR_OUTPUT_DIR")
    warehouse = path_from_env("SCR_WAREHOUSE")
    if not (archive / ARCHIVE_MANIFEST).is_file():
        raise PipelineError(
            f"no archive manifest at {archive / ARCHIVE_MANIFEST}; nothing has been ingested "
            "yet (run scr-pipeline refresh first, or set SCR_ARCHIVE_DIR)"
        )
    if read_output_manifest(output) is None:
        raise PipelineError(
            f"nothing published in {output} (no readable _manifest.json); run scr-pipeline "
            "refresh first, or set SCR_OUTPUT_DIR"
        )
    events = read_manifest(archive)
    root = Path(tempfile.mkdtemp(prefix="scr-verify-", dir=keep))
    try:
        for sub in ("landing", "archive", "dagster_home"):
            (root / sub).mkdir()
        # the rebuild's refresh records its own landing events: into a copy of the manifest
        shutil.copy2(archive / ARCHIVE_MANIFEST, root / "archive" / ARCHIVE_MANIFEST)
        progress(f"verify: rebuilding from {len(events)} archive event(s) in {archive}")
        with duckdb.connect(str(root / "warehouse.duckdb")) as con:
            counts = ingest_from_archive(con, archive, "verify")
            samples = _copy_records(con, warehouse)
        progress(
            f"verify: {counts['files']} file(s), {counts['rows']:,} row(s) read from the archive"
            + (f"; {samples:,} audit-sample record(s) copied" if samples else "")
        )
        env = {
            "SCR_LANDING_DIR": str(root / "landing"),
            "SCR_ARCHIVE_DIR": str(root / "archive"),
            "SCR_WAREHOUSE": str(root / "warehouse.duckdb"),
            "SCR_OUTPUT_DIR": str(root / "output"),
            "DAGSTER_HOME": str(root / "dagster_home"),
            "SCR_SETTLE_SECONDS": "0",
        }
        _refresh_in(location, env, progress)
        diffs = check_manifest(output) + compare_output_dirs(output, root / "output")
        compared = len(set(list_files(output)) | set(list_files(root / "output")))
        if keep is not None:
            progress(f"verify: the rebuild is kept in {root}")
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return VerifyResult(diffs, compared, len(events), time.monotonic() - t0)


def report(result: VerifyResult, progress: Callable[[str], None] = print) -> int:
    """Print the outcome; the exit code is 0 when identical, 1 when anything differs."""
    output = path_from_env("SCR_OUTPUT_DIR")
    if result.ok:
        progress(
            f"verify: OK: the {result.files_compared} published file(s) in {output} equal a "
            f"rebuild from the archive ({result.seconds:.1f}s)"
        )
        return 0
    progress(
        f"verify: {len(result.differences)} difference(s) between {output} and a rebuild "
        "from the archive:"
    )
    for d in result.differences:
        progress(f"  {d}")
    progress("run scr-pipeline refresh to republish what the warehouse implies, then verify again")
    return 1


def verify_check(location: Callable[[], dg.Definitions]) -> dg.AssetChecksDefinition:
    """The weekly check on ``published_outputs``; ``location()`` gives the code location whose
    refresh rebuilds (the location holding this check: definitions.py passes it, read when the
    check runs)."""

    @dg.asset_check(
        asset="published_outputs",
        name=CHECK_NAME,
        description="Weekly (scr_verify job): a rebuild from the archive alone gives every "
        "published file (partitions included); fails listing each difference. Same as "
        "`scr-pipeline verify`.",
    )
    def check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        from pipelines.orchestration.refresh_stamp import refresh_lock

        with refresh_lock(wait=True):  # not while a refresh publishes
            result = verify(location(), progress=context.log.info)
        return dg.AssetCheckResult(
            passed=result.ok,
            severity=dg.AssetCheckSeverity.ERROR,
            description="published outputs equal a rebuild from the archive"
            if result.ok
            else f"{len(result.differences)} difference(s): {result.differences[0]}",
            metadata={
                "differences": dg.MetadataValue.json(result.differences[:100]),
                "difference_count": dg.MetadataValue.int(len(result.differences)),
                "files_compared": dg.MetadataValue.int(result.files_compared),
                "archive_events": dg.MetadataValue.int(result.archive_events),
                "seconds": dg.MetadataValue.float(round(result.seconds, 1)),
            },
        )

    return check


verify_job = dg.define_asset_job(
    "scr_verify",
    selection=dg.AssetSelection.checks(VERIFY_CHECK),
    hooks={record_step_failure},  # a failed step's typed error, for the run's failure alert
    description="Rebuild from the archive in a temporary place and compare every published "
    "output (the asset check published_outputs:reproducible_from_archive).",
)


@dg.schedule(
    job=verify_job,
    cron_schedule="0 5 * * 1",
    execution_timezone="America/New_York",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly, Monday 05:00 Eastern: is the published measure reproducible from the "
    "archive? (the result shows on published_outputs as an asset check)",
)
def weekly_verify(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return run_request(
        None,
        context.repository_def,
        run_key=f"verify-{context.scheduled_execution_time:%Y-%m-%d}",
        tags={TRIGGER_TAG: "schedule"},
    )
