"""``scr-pipeline findings`` and ``scr-pipeline rules``: what validation found, and the rules.

Why: an operator or auditor must see which rows were quarantined and why without opening the
warehouse by hand. Both commands only read: the warehouse is opened read-only, so they never
block or change a refresh; while a refresh is writing they say so instead of showing DuckDB's
lock error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from assets._shared import settings
from assets._shared.errors import PipelineError, WarehouseBusyError
from assets._shared.sql import load_sql


def open_read_only(path: Path):
    """A read-only connection, or a message a person can act on (missing / busy warehouse)."""
    import duckdb

    if not path.exists():
        raise PipelineError(f"no warehouse at {path}; run `scr-pipeline refresh` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as err:
        if "lock" in str(err).lower():
            raise WarehouseBusyError(
                f"the warehouse {path} is busy: a refresh is writing to it right now. "
                "Try again when it has finished."
            ) from None
        raise PipelineError(
            f"cannot open the warehouse {path}: {str(err).splitlines()[0]}"
        ) from None


def _table(rows: list[tuple], names: list[str]) -> str:
    cells = [names] + [["" if v is None else str(v).replace("\n", " ") for v in r] for r in rows]
    widths = [min(max(len(c[i]) for c in cells), 80) for i in range(len(names))]
    widths[-1] = max(len(c[-1]) for c in cells)  # the last column (message) is never cut
    return "\n".join(
        "  ".join(c[i][: widths[i]].ljust(widths[i]) for i in range(len(names))).rstrip()
        for c in cells
    )


def cmd_findings(args: argparse.Namespace) -> int:
    from assets._shared.findings import with_findings
    from schemas.reference import rules

    if (
        args.rule
        and args.rule not in rules()
        and not any(r.startswith(args.rule + ".") for r in rules())
    ):
        raise PipelineError(f"unknown rule {args.rule!r}; `scr-pipeline rules` lists them")
    path = settings.path_from_env("SCR_WAREHOUSE")
    con = open_read_only(path)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "scr_current" not in tables:
            raise PipelineError(f"the warehouse {path} has no validated data; run a refresh first")
        filters = {"rule": args.rule, "file": args.file}
        cur = con.execute(with_findings(con, load_sql(__file__, "summary")), filters)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        details = []
        if args.details:
            detail = with_findings(con, load_sql(__file__, "detail"))
            details = con.execute(detail, filters | {"limit": args.details})
            details = (details.fetchall(), [d[0] for d in details.description])
        quarantined = con.execute("SELECT count(*) FROM scr_current WHERE quarantined").fetchall()[
            0
        ]
    finally:
        con.close()
    errors = sum(r[3] for r in rows if r[1] == "error")
    warnings = sum(r[3] for r in rows if r[1] == "warning")
    scope = " ".join(s for s in (args.rule and f"rule {args.rule}", args.file and args.file) if s)
    print(
        f"findings{' for ' + scope if scope else ''} in {path}: {errors:,} error(s), "
        f"{warnings:,} warning(s); {quarantined[0]:,} current SCR(s) quarantined in total"
    )
    if rows:
        print(_table(rows, names))
    if details and details[0]:
        print()
        print(_table(*details))
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from schemas.reference import rules, rules_markdown

    rows = [
        (r.rule_id, r.severity, r.column, r.description)
        for r in rules().values()
        if r.rule_id.startswith(args.prefix)
    ]
    text = (
        rules_markdown(args.prefix)
        if args.markdown
        else _table(rows, ["rule_id", "severity", "column", "description"])
    )
    try:
        print(text)
    except BrokenPipeError:  # `scr-pipeline rules | head` is fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``findings`` and ``rules`` to the ``scr-pipeline`` command line."""
    p = sub.add_parser(
        "findings",
        help="summarize validation findings by rule and file (read-only)",
        description="Count validation findings (errors quarantine an SCR, warnings keep it) by "
        "rule and landing file, read from the warehouse without writing to it.",
    )
    p.add_argument("--rule", help="only this rule_id (or a prefix such as scr.approved_date)")
    p.add_argument("--file", help="only findings from this landing file name")
    p.add_argument(
        "--details",
        type=int,
        nargs="?",
        const=50,
        default=0,
        metavar="N",
        help="also list the first N findings one by one (default 50)",
    )
    p.set_defaults(func=cmd_findings)

    p = sub.add_parser(
        "rules",
        help="print the validation rule catalogue (rule_id, severity, description)",
        description="The rules every extract row is checked against, from "
        "schemas/reference/*_rules.csv (scr., rr., cr.).",
    )
    p.add_argument(
        "--markdown", action="store_true", help="as a markdown table (for docs/VALIDATION.md)"
    )
    p.add_argument(
        "--prefix", default="", help="only rules whose id starts with this (scr., rr., cr.)"
    )
    p.set_defaults(func=cmd_rules)
