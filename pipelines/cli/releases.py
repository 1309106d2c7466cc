"""``scr-pipeline releases``: the kept releases of SCR_OUTPUT_DIR, oldest first.

Why: what ``SCR_OUTPUT_DIR`` shows is a symlink to one release (assets/publish/releases.py);
an operator or auditor needs to see which releases are kept, which one is current, and where
each lives, without reading the file system. Read-only; imports no Dagster.
"""

from __future__ import annotations

import argparse
import json


def cmd_releases(args: argparse.Namespace) -> int:
    """List the releases (a table, or one JSON array with ``--json``)."""
    from assets._shared import settings
    from assets.publish.releases import kept_root, list_releases, releases_root

    output = settings.path_from_env("SCR_OUTPUT_DIR")
    releases = list_releases(output)
    if args.json:
        print(json.dumps(releases))
        return 0
    if not releases:
        print(f"no release in {releases_root(output)} yet (run scr-pipeline refresh)")
        return 0
    print(f"{'':2}{'release':<36} {'published at':<26} {'refresh':<14} {'files':>6}")
    for r in releases:
        print(
            f"{'*' if r['current'] else '':2}{r['id']:<36} {r['published_at'] or '?':<26} "
            f"{r['refresh_id'] or '?':<14} {r['files']:>6}"
        )
    current = next((r["path"] for r in releases if r["current"]), None)
    print(f"* current: {output} -> {current}" if current else f"{output} is not a link yet")
    if kept_root(output).is_dir():
        print(
            f"files kept from earlier releases (not written by the pipeline): {kept_root(output)}"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "releases",
        help="list the kept releases of SCR_OUTPUT_DIR (which one is current)",
        description="SCR_OUTPUT_DIR is a symlink to the current release; each publish writes "
        "a new release in <SCR_OUTPUT_DIR>.releases/<id>/ and switches the link in one step. "
        "Lists every kept release (SCR_KEEP_RELEASES, default 8), oldest first: id, published "
        "at, refresh id, number of files, and which one is current. Read-only.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON array: id, published_at, refresh_id, files, current, path",
    )
    p.set_defaults(func=cmd_releases)
