"""Alerts: someone is told when a run fails or a closed quarter's measure is late.

Every alert is appended, as one JSON object per line, to ``DAGSTER_HOME/alerts/alerts.jsonl``
(the record that survives a webhook outage) and, when ``SCR_ALERT_WEBHOOK_URL`` is set, POSTed
to it as JSON. What each alert means and what to do: docs/RUNBOOK.md, "Alerts".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from assets._shared.errors import PipelineError
from assets._shared.resources import FilesResource
from assets._shared.settings import path_from_env
from assets._shared.tags import RANGE_END, RANGE_START, STAGE_TAG, TRIGGER_TAG
from schemas.fiscal import last_closed_quarter, quarter_bounds, quarter_key

WEBHOOK_ENV = "SCR_ALERT_WEBHOOK_URL"
DUE_AFTER_DAYS = 45  # a closed quarter's measure is late this many days after the quarter ends
WEBHOOK_TIMEOUT_SECONDS = 10


def alerts_path() -> Path:
    return path_from_env("DAGSTER_HOME") / "alerts" / "alerts.jsonl"


def _parts(url: str) -> urllib.parse.SplitResult | None:
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None


def webhook_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook (no http(s) scheme, no host, a bad port...), or None."""
    parts = _parts(url)
    if parts is None:
        return "it cannot be parsed as a URL"
    if parts.scheme not in ("http", "https"):
        return "it does not start with http:// or https://"
    if not parts.hostname:
        return "it has no host name"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "it contains spaces or control characters"
    try:
        parts.port  # noqa: B018 - raises on a non-numeric or out-of-range port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    return None


def redact(text: str, url: str) -> str:
    """``text`` with the secret parts of ``url`` masked: user info, path segments (webhook
    tokens live there), query and fragment. The URL itself shows only scheme://host:port/***;
    a malformed one only as ``<malformed URL>``. Every message that may quote the URL goes
    through here (log lines, alerts.jsonl, errors)."""
    if not url:
        return text
    parts = _parts(url)
    if webhook_problem(url) is None and parts is not None:
        port = f":{parts.port}" if parts.port else ""
        shown = f"{parts.scheme}://{parts.hostname}{port}/***"
    else:
        shown = "<malformed URL>"
    secrets = {url}
    if parts is not None:
        secrets |= {parts.query, parts.fragment, parts.netloc.rpartition("@")[0]}
        secrets |= {p for p in re.split(r"[/@:?&=#]", url) if len(p) >= 3}
        secrets -= {parts.scheme, parts.hostname or ""}
    out = text.replace(url, "\x00")  # the URL as a whole first, its parts wherever quoted
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        out = out.replace(secret, "***")
    return out.replace("\x00", shown)


_reported: set[str] = set()


def report_webhook_config(url: str | None = None, stream=None) -> str | None:
    """At start-up: say once (per process and URL) that the webhook URL is malformed.

    Alerts are still recorded in alerts.jsonl; only the POST is skipped."""
    url = os.environ.get(WEBHOOK_ENV, "") if url is None else url
    problem = webhook_problem(url) if url else None
    if problem is None:
        return None
    message = (
        f"configuration error: {WEBHOOK_ENV} ({redact(url, url)}) is malformed: {problem}. "
        f"Alerts are recorded in {alerts_path()} only until it is fixed."
    )
    if url not in _reported:
        _reported.add(url)
        print(message, file=stream or sys.stderr)
    return message


def post_json(url: str, payload: dict) -> int:
    """POST ``payload`` as JSON; raises on a network error or a non-2xx answer."""
    req = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "scr-pipeline-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_SECONDS) as resp:
        return resp.status


def deliver(alert: dict, path: Path | None = None, webhook_url: str | None = None) -> dict:
    """Post the alert (if a webhook is configured), then record it with the delivery outcome.

    A webhook that cannot be reached (or a malformed URL) does not lose the alert: the line in
    the JSONL file says ``"webhook": "failed: ..."`` / ``"not sent: ..."``, secrets redacted.
    """
    url = os.environ.get(WEBHOOK_ENV, "") if webhook_url is None else webhook_url
    record = dict(alert)
    if url and (problem := webhook_problem(url)):
        report_webhook_config(url)
        record["webhook"] = f"not sent: {WEBHOOK_ENV} is malformed ({problem})"
    elif url:
        try:
            record["webhook"] = f"delivered ({post_json(url, alert)})"
        except Exception as err:  # any failure to deliver: the alert is still recorded
            record["webhook"] = redact(f"failed: {type(err).__name__}: {err}", url)
    path = alerts_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")
    return record


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- failed runs ------------------------------------------------------------------------------


def person_message(err: BaseException | None) -> str:
    """What a person reads about a failed step: our own errors (``PipelineError``) and
    ``dg.Failure`` by their message alone; anything else with its type."""
    if err is None:
        return "unknown error"
    if isinstance(err, PipelineError):
        return str(err)
    if isinstance(err, dg.Failure):
        return err.description or type(err).__name__
    return f"{type(err).__name__}: {err}"


def _steps_path(run_id: str) -> Path:
    return alerts_path().parent / "steps" / f"{run_id}.jsonl"


@dg.failure_hook(name="record_step_failure")
def record_step_failure(context: dg.HookContext) -> None:
    """Every failed step of a job of this code location records its typed error (the hook's
    ``op_exception``) for the run's failure alert, which reads it back."""
    path = _steps_path(context.run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"step": context.step_key, "message": person_message(context.op_exception)}
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def recorded_step_failures(run_id: str) -> list[dict]:
    """The failed steps ``record_step_failure`` recorded for a run, in order."""
    path = _steps_path(run_id)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def assets_of_step(repository_def, step_key: str) -> list[str]:
    """Asset keys computed by the failed step (several for a multi-asset)."""
    if repository_def is None:
        return []
    for assets_def in repository_def.assets_defs_by_key.values():
        try:
            name = assets_def.op.name
        except dg.DagsterError:  # an asset without an op (not computed here)
            continue
        if name == step_key:
            return sorted(k.to_user_string() for k in assets_def.keys)
    return []


def run_failure_alert(context: dg.RunFailureSensorContext) -> dict:
    """What failed (run, stage, quarters, step, assets) and why, in one JSON object."""
    run = context.dagster_run
    steps = [
        {
            "step": s["step"],
            "assets": assets_of_step(context.repository_def, s["step"]),
            "message": s["message"],
        }
        for s in recorded_step_failures(run.run_id)
    ]
    quarters = [run.tags[t] for t in (RANGE_START, RANGE_END) if t in run.tags]
    return {
        "kind": "run_failure",
        "recorded_at": _now(),
        "run_id": run.run_id,
        "job": run.job_name,
        "stage": run.tags.get(STAGE_TAG),
        "trigger": run.tags.get(TRIGGER_TAG),
        "quarters": quarters,
        "assets": sorted({a for s in steps for a in s["assets"]}),
        "steps": steps,
        "message": steps[0]["message"] if steps else (context.failure_event.message or ""),
    }


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Records every failed run of this code location (run id, stage, failed step and "
    "assets, the error) in DAGSTER_HOME/alerts/alerts.jsonl and POSTs it to "
    "SCR_ALERT_WEBHOOK_URL when that is set.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    record = deliver(run_failure_alert(context))
    context.log.info(f"alert recorded for failed run {record['run_id']}: {record['message']}")


# --- late measures ----------------------------------------------------------------------------


def due_quarter(today: dt.date, due_after_days: int = DUE_AFTER_DAYS) -> tuple[int, int]:
    """The latest fiscal quarter whose measure is due by ``today`` (ended > 45 days ago)."""
    return last_closed_quarter(today - dt.timedelta(days=due_after_days))


def quarter_published(output_dir: Path, fiscal_year: int, fiscal_quarter: int) -> bool:
    """Whether the quarter's measure row is in the published Parquet (what OAO reads)."""
    part = output_dir / "quarterly_measures" / f"fiscal_year={fiscal_year}"
    files = list((part / f"fiscal_quarter={fiscal_quarter}").glob("*.parquet"))
    return sum(pq.read_metadata(f).num_rows for f in files) > 0


def late_measure_alert(today: dt.date, output_dir: Path) -> dict | None:
    """An alert when the due quarter has no published measure; None when it is on time."""
    fy, q = due_quarter(today)
    if quarter_published(output_dir, fy, q):
        return None
    _, end = quarter_bounds(fy, q)
    due = end + dt.timedelta(days=DUE_AFTER_DAYS)
    return {
        "kind": "late_measure",
        "recorded_at": _now(),
        "quarter": quarter_key(fy, q),
        "quarter_end": end.isoformat(),
        "due": due.isoformat(),
        "days_late": (today - due).days,
        "message": f"fiscal quarter {quarter_key(fy, q)} ended {end} and has no published "
        f"measure in {output_dir / 'quarterly_measures'} (due {due}, {(today - due).days} "
        "day(s) late)",
    }


@dg.sensor(
    name="measure_freshness",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=6 * 3600,
    description=f"Alerts (once per quarter) when a closed fiscal quarter has no published measure "
    f"{DUE_AFTER_DAYS} days after it ended.",
)
def measure_freshness(context: dg.SensorEvaluationContext, files: FilesResource):
    alert = late_measure_alert(dt.date.today(), files.output)
    if alert is None:
        fy, q = due_quarter(dt.date.today())
        return dg.SkipReason(f"on time: {quarter_key(fy, q)} is published")
    if context.cursor == alert["quarter"]:
        return dg.SkipReason(f"LATE: {alert['message']} (alert already sent)")
    deliver(alert)
    context.update_cursor(alert["quarter"])
    return dg.SkipReason(f"LATE, alert sent: {alert['message']}")
