"""``scr-pipeline``: the operator's command line (demo, refresh, ui, findings, audit).

Errors a person can act on are printed as one line on stderr with a non-zero exit; a traceback
only with ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from assets._shared import settings
from assets._shared.errors import PipelineError
from pipelines.cli import audit as cli_audit
from pipelines.cli import audit_draw as cli_audit_draw
from pipelines.cli import explain as cli_explain
from pipelines.cli import findings as cli_findings
from pipelines.cli import releases as cli_releases
from pipelines.orchestration.instance import get_instance

EXIT_FAILED, EXIT_BUSY, EXIT_INTERRUPTED = 1, 3, 130
_REFRESH_INTERRUPTED = (
    "interrupted: nothing was published by this refresh; run scr-pipeline refresh again"
)
INTERRUPTED = {"refresh": _REFRESH_INTERRUPTED, "demo": _REFRESH_INTERRUPTED}


def cmd_refresh(args: argparse.Namespace, before_refresh=None) -> int:
    """Nothing new is answered from the stamp before Dagster is imported; else the full plan."""
    from assets.landing.scan import wait_until_settled
    from pipelines.orchestration.instance import wait_for_queued_runs
    from pipelines.orchestration.refresh_stamp import refresh_lock, unchanged_since_last_refresh

    landing = settings.path_from_env("SCR_LANDING_DIR")
    print(f"refresh: landing dir {landing}")
    with refresh_lock(wait=args.wait):
        wait_until_settled(landing, settings.settle_seconds(), lambda s: print(s, flush=True))
        t0 = time.monotonic()
        if before_refresh is None and unchanged_since_last_refresh():
            return _nothing_new(t0)
        with get_instance() as instance:
            wait_for_queued_runs(instance, wait=args.wait)
            if before_refresh:
                before_refresh()
            from pipelines.cli.refresh import run_refresh
            from pipelines.orchestration.definitions import defs

            run_refresh(defs, instance, debug=args.debug)
    return 0


def _nothing_new(t0: float) -> int:
    print(
        "nothing new: the published outputs match the warehouse (no file, setting, code "
        f"or run since the last refresh; {time.monotonic() - t0:.1f}s)"
    )
    return 0


def cmd_retract(args: argparse.Namespace) -> int:
    """Record the retraction (under the refresh lock), then refresh so it takes effect."""
    from assets._shared.resources import WarehouseResource
    from assets.landing.ingest import ensure_tables
    from assets.landing.retract import retract_file

    def retract() -> None:
        path = settings.path_from_env("SCR_WAREHOUSE")
        warehouse = WarehouseResource(
            path=str(path),
            memory_limit=os.environ["SCR_DUCKDB_MEMORY_LIMIT"],
            threads=int(os.environ["SCR_DUCKDB_THREADS"]),
        )
        if not path.exists():
            raise PipelineError(
                f"{args.file}: nothing has been ingested yet; nothing was retracted"
            )
        with warehouse.connect() as con:
            ensure_tables(con)
            done = retract_file(
                con,
                args.file,
                args.reason,
                os.environ.get("USER") or None,
                settings.path_from_env("SCR_ARCHIVE_DIR"),
            )
        print(f"retract: {done['file']} (sha {done['sha256'][:12]}) retracted: {args.reason}")

    return cmd_refresh(args, before_refresh=retract)


def cmd_verify(args: argparse.Namespace) -> int:
    """Rebuild from the archive in a temporary place; exit 1 listing every difference."""
    from pipelines.orchestration import verify
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.refresh_stamp import refresh_lock

    keep = Path(args.keep).resolve() if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    with refresh_lock(wait=args.wait):  # a refresh publishing meanwhile would be a false alarm
        result = verify.verify(defs, lambda s: print(s, flush=True), keep)
    return verify.report(result)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo.extracts import write_demo_extracts

    landing = settings.path_from_env("SCR_LANDING_DIR")
    summary = write_demo_extracts(landing, seed=args.seed, scale=args.scale)
    os.environ["SCR_SETTLE_SECONDS"] = "0"  # the demo wrote these files itself: nothing to wait for
    files = summary.get("files", {})
    print(
        f"demo: wrote {len(files)} extract file(s) to {landing} (seed {args.seed}, scale {args.scale})"
    )
    code = cmd_refresh(args)
    if code or args.no_review:
        return code
    from pipelines.cli.demo import validation_loop

    return validation_loop(
        args, summary["case_truths"], build_parser().parse_args, lambda: cmd_refresh(args)
    )


def automation_lines() -> list[str]:
    """The sensors and schedules of the code location, each with its status at start."""
    from pipelines.orchestration.definitions import defs

    lines = []
    for kind, items in (("sensor", defs.sensors or []), ("schedule", defs.schedules or [])):
        for item in items:
            status = getattr(item.default_status, "value", str(item.default_status)).lower()
            lines.append(f"  {kind} {item.name} ({status})")
    return lines


def cmd_ui(args: argparse.Namespace) -> int:
    """``dagster dev`` (webserver and daemon: the automation runs) or, with --no-automation,
    the webserver alone (nothing runs by itself); says which before it starts."""
    os.chdir(settings.PROJECT_ROOT)
    get_instance().dispose()
    where = ["-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)]
    if args.no_automation:
        cmd = [str(Path(sys.executable).with_name("dagster-webserver")), *where]
        print(
            f"Dagster UI on http://127.0.0.1:{args.port} without the daemon: no sensor or "
            "schedule runs (launch runs from the UI or run scr-pipeline refresh). Ctrl-C to stop."
        )
    else:
        cmd = [str(Path(sys.executable).with_name("dagster")), "dev", *where]
        print(
            f"Dagster UI on http://127.0.0.1:{args.port} with the daemon, which starts these "
            "sensors and schedules (running ones act at once: a new landing file is ingested, "
            "a late quarter alerts):"
        )
        print("\n".join(automation_lines()))
        print("Without them: scr-pipeline ui --no-automation (or make ui-quiet). Ctrl-C to stop.")
    sys.stdout.flush()
    return subprocess.call(cmd)


def report_webhook_config() -> None:
    """A malformed alert webhook URL is a configuration error, said once at start-up."""
    if os.environ.get("SCR_ALERT_WEBHOOK_URL"):
        from pipelines.orchestration.alerts import report_webhook_config as report

        report()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scr-pipeline",
        description="TCO-validated disruption/dismantlement measures from SCR extracts. Paths come "
        "from SCR_LANDING_DIR, SCR_WAREHOUSE, SCR_OUTPUT_DIR and DAGSTER_HOME (see docs/REFERENCE.md).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and Dagster logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("refresh", help="ingest new extracts and refresh every output")
    p.add_argument(
        "--wait", action="store_true", help="wait for a running refresh instead of exiting"
    )
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser(
        "demo",
        help="write realistic demo extracts, refresh, then run the validation loop",
        description="Write realistic demo extracts into the landing dir and refresh. Then, as an "
        "analyst would, draw the stratified validation sample of the latest fiscal year with "
        "published counts (audit draw --design stratified --precision 0.1 --second-review 0.1 "
        "--seed SEED), land its filled worksheet as case_reviews_<date>.csv (the demo's ground "
        "truth with a few answers wrong, second reviews, one adjudication, one unreviewable "
        "case) and refresh again: the report's headline shows the estimate and its interval.",
    )
    p.add_argument("--seed", type=int, default=2023, help="random seed (same seed, same files)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the number of cases")
    p.add_argument(
        "--no-review",
        action="store_true",
        help="stop after the first refresh: no sample drawn, no reviews landed",
    )
    p.add_argument("--wait", action="store_true", help="wait for a running refresh")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "retract",
        help="withdraw an ingested file from every measure, then refresh",
        description="Withdraw the current content of an ingested landing file from every "
        "measure (it stays in the archive and in ingest_reconciliation with the reason), then "
        "run a refresh. New content landed later under the same name counts again.",
    )
    p.add_argument("file", metavar="FILE", help="the landing file name, e.g. scr_extract_x.csv")
    p.add_argument("--reason", required=True, help="why it is withdrawn (recorded with the time)")
    p.add_argument("--wait", action="store_true", help="wait for a running refresh")
    p.set_defaults(func=cmd_retract)

    p = sub.add_parser(
        "verify",
        help="rebuild from the archive and compare every published output (exit 1 if any differs)",
        description="Rebuild the warehouse from SCR_ARCHIVE_DIR alone in a temporary directory, "
        "refresh it there and compare every file under SCR_OUTPUT_DIR (partitions included) with "
        "the rebuild, and each published file with _manifest.json. Exit 0 when identical, 1 "
        "listing each difference. Changes nothing.",
    )
    p.add_argument("--keep", metavar="DIR", help="keep the rebuild in a new folder under DIR")
    p.add_argument("--wait", action="store_true", help="wait for a running refresh")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "ui",
        help="start the Dagster UI on 127.0.0.1 (with its sensors and schedules)",
        description="Start the Dagster UI with the daemon (dagster dev), which runs the sensors "
        "and schedules listed at start, or with --no-automation the webserver alone.",
    )
    p.add_argument("--port", type=int, default=3000)
    p.add_argument(
        "--no-automation",
        action="store_true",
        help="webserver only: no sensor or schedule runs (no daemon)",
    )
    p.set_defaults(func=cmd_ui)

    cli_audit_draw.register(cli_audit.register(sub))
    cli_findings.register(sub)
    cli_explain.register(sub)
    cli_releases.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv``, run the chosen command and exit with its return code."""
    settings.apply_defaults()  # this process and what it starts (dagster dev) see the defaults
    report_webhook_config()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere: `scr-pipeline refresh --debug` too
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    if not args.debug:
        warnings.filterwarnings("ignore")
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:  # `scr-pipeline findings | head -1`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        code = 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(INTERRUPTED.get(args.command, "interrupted"), file=sys.stderr)
        code = EXIT_INTERRUPTED
    except PipelineError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        from assets._shared.errors import WarehouseBusyError

        code = EXIT_BUSY if isinstance(err, WarehouseBusyError) else EXIT_FAILED
    except Exception as err:  # an unexpected failure: still one line unless --debug
        if args.debug:
            raise
        print(f"error: {type(err).__name__}: {err} (run with --debug for details)", file=sys.stderr)
        code = EXIT_FAILED
    raise SystemExit(code)


if __name__ == "__main__":
    main()
