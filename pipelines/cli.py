"""``scr-pipeline``: the operator's command line (demo, refresh, ui, findings, audit).

Errors a person can act on are printed as one line on stderr with a non-zero exit; a traceback
only with ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import warnings
from pathlib import Path

from pipelines import cli_audit, cli_audit_draw, cli_explain, cli_findings, settings
from pipelines.errors import PipelineError

EXIT_FAILED, EXIT_BUSY = 1, 3


def _instance():
    from pipelines.instance import get_instance

    return get_instance()


def cmd_refresh(args: argparse.Namespace) -> int:
    from pipelines.definitions import defs
    from pipelines.refresh import refresh_lock, run_refresh

    print(f"refresh: landing dir {settings.path_from_env('SCR_LANDING_DIR')}")
    with refresh_lock(wait=args.wait), _instance() as instance:
        from pipelines.instance import wait_for_queued_runs

        wait_for_queued_runs(instance, wait=args.wait)
        run_refresh(defs, instance, debug=args.debug)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo_extracts import write_demo_extracts

    landing = settings.path_from_env("SCR_LANDING_DIR")
    summary = write_demo_extracts(landing, seed=args.seed, scale=args.scale)
    files = summary.get("files", {})
    print(
        f"demo: wrote {len(files)} extract file(s) to {landing} (seed {args.seed}, scale {args.scale})"
    )
    return cmd_refresh(args)


def cmd_ui(args: argparse.Namespace) -> int:
    os.chdir(settings.PROJECT_ROOT)
    _instance().dispose()
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (Ctrl-C to stop)")
    return subprocess.call(cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scr-pipeline",
        description="TCO-validated disruption/dismantlement measures from SCR extracts. Paths come "
        "from SCR_LANDING_DIR, SCR_WAREHOUSE, SCR_OUTPUT_DIR and DAGSTER_HOME (see README).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and Dagster logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("refresh", help="ingest new extracts and refresh every output")
    p.add_argument(
        "--wait", action="store_true", help="wait for a running refresh instead of exiting"
    )
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("demo", help="write realistic demo extracts, then refresh")
    p.add_argument("--seed", type=int, default=2023, help="random seed (same seed, same files)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the number of cases")
    p.add_argument("--wait", action="store_true", help="wait for a running refresh")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)

    cli_audit_draw.register(cli_audit.register(sub))
    cli_findings.register(sub)
    cli_explain.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv``, run the chosen command and exit with its return code."""
    settings.apply_defaults()
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere: `scr-pipeline refresh --debug` too
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    if not args.debug:
        warnings.filterwarnings("ignore")
    try:
        code = args.func(args)
    except PipelineError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        from pipelines.errors import WarehouseBusyError

        code = EXIT_BUSY if isinstance(err, WarehouseBusyError) else EXIT_FAILED
    except Exception as err:  # an unexpected failure: still one line unless --debug
        if args.debug:
            raise
        print(f"error: {type(err).__name__}: {err} (run with --debug for details)", file=sys.stderr)
        code = EXIT_FAILED
    raise SystemExit(code)


if __name__ == "__main__":
    main()
