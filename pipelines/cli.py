"""`scr-pipeline` entry point (minimal; the full CLI is developed on another branch)."""

from __future__ import annotations

import argparse

from pipelines import cli_audit


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv``, run the chosen command and exit with its return code."""
    parser = argparse.ArgumentParser(prog="scr-pipeline")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    cli_audit.register(sub)
    args = parser.parse_args(argv)
    raise SystemExit(args.func(args))


if __name__ == "__main__":
    main()
