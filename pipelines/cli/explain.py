"""``scr-pipeline explain``: why an SCR counts where it counts, and which SCRs make a count.

Why: "which SCRs are behind FY2024 Q1's 140?" and "why is this SCR non-TCO?" must be answerable
by an analyst without SQL. Read-only, like ``findings``: the warehouse is opened read-only, so the
command works while the Dagster UI is up and says so plainly while a refresh is writing.
"""

from __future__ import annotations

import argparse
import csv
import sys

from assets._shared import settings
from assets._shared.errors import PipelineError
from pipelines.cli.findings import _table, open_read_only
from schemas.counting import COUNTING_MACROS, QUARTERLY_COLUMNS
from schemas.fiscal import parse_quarter_key, quarter_key
from schemas.spreadsheet_text import protect

VERSIONS_SQL = """
SELECT v.source_file, v.source_row, v.last_modified_at, v.last_modified_ts, v.status,
    v.approved_date, v.file_id, f.content_sha256,
    (v.file_id, v.source_row) = (c.file_id, c.source_row) AS is_current
FROM scr_versions v JOIN ingested_files f USING (file_id)
JOIN scr_current c ON c.scr_id = v.scr_id
WHERE v.scr_id = ?
ORDER BY v.last_modified_ts DESC NULLS FIRST, v.source_file DESC, v.file_id DESC, v.source_row DESC
"""
FINDINGS_SQL = """
SELECT source_file, source_row, rule_id, severity, message FROM scr_findings
WHERE record_id = ? ORDER BY source_file, source_row, rule_id
"""
DETERMINATIONS = "scr_determinations"
# the analysts' current, valid review of the SCR's case, for each recorded sample holding it
REVIEW_SQL = """
SELECT c.sample_id, r.reviewed_on, r.association_of_individuals, r.crosses_international_border,
    CASE WHEN r.association_of_individuals = 'Y' AND r.crosses_international_border = 'Y'
         THEN 'TCO' ELSE 'NOT_TCO' END AS verdict
FROM audit_sample_cases c JOIN case_review_current r
    ON r.case_number = c.case_number AND NOT r.rejected
WHERE c.case_number = ? ORDER BY c.sample_id
"""
AGREES = {("TCO", "TCO"), ("NON_TCO", "NOT_TCO")}
# the quarterly_measures columns a quarter can be explained by (schemas/counting.py: counts_in)
COLUMNS = QUARTERLY_COLUMNS
QUARTER_COLUMNS = (
    "scr_id", "case_number", "scr_type", "criminal_category", "determination", "non_tco_reason",
    "tco_involvement", "subject_count", "countries", "source_file", "source_row",
)  # fmt: skip


def why_current(versions: list[dict]) -> str:
    """The tie-break that made the first (current) version win, in words."""
    cur = versions[0]
    if len(versions) == 1:
        return "the only version"
    nxt = versions[1]
    if cur["last_modified_ts"] is None:
        return "its last_modified_at cannot be read, so it sorts as the latest (and is checked)"
    if nxt["last_modified_ts"] is None or cur["last_modified_ts"] > nxt["last_modified_ts"]:
        return "the latest last_modified_at"
    if cur["source_file"] != nxt["source_file"]:
        return "tie on last_modified_at; the later file name wins"
    if cur["file_id"] != nxt["file_id"]:
        return "tie on last_modified_at and file name; the later ingest wins"
    return "tie on last_modified_at in the same file; the later row wins"


def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _counts_in(con, scr_id: str) -> list[str]:
    rows = con.execute(
        f"SELECT m FROM {DETERMINATIONS}, unnest(?) AS u(m) WHERE counted AND scr_id = ? "
        "AND counts_in(m, scr_type, determination, non_tco_reason)",
        [list(COLUMNS), scr_id],
    ).fetchall()
    hit = {r[0] for r in rows}
    return [name for name in COLUMNS if name in hit]


def explain_scr(con, scr_id: str) -> str:
    """Every version, which is current and why, findings, determination and quarter."""
    cur = _rows(con, "SELECT * FROM scr_current WHERE upper(scr_id) = upper(?)", [scr_id.strip()])
    if not cur:
        raise PipelineError(f"no SCR {scr_id!r} in the warehouse; check the id (case is ignored)")
    c = cur[0]
    versions = _rows(con, VERSIONS_SQL, [c["scr_id"]])
    out = [f"SCR {c['scr_id']} (case {c['case_number']}): {len(versions)} version(s)"]
    table = [
        ("*" if v["is_current"] else "", v["source_file"], v["source_row"], v["last_modified_at"],
         v["status"], v["approved_date"] or "", (v["content_sha256"] or "")[:12])
        for v in versions
    ]  # fmt: skip
    out.append(_table(table, ["current", "file", "row", "last_modified_at", "status",
                              "approved_date", "sha256"]))  # fmt: skip
    out.append(f"current: {c['source_file']} row {c['source_row']} ({why_current(versions)})")
    findings = _rows(con, FINDINGS_SQL, [c["scr_id"]])
    if c["indicator_conflict"]:
        findings.append({"source_file": c["source_file"], "source_row": c["source_row"],
                         "rule_id": "scr.tco_involvement.conflict", "severity": "warning",
                         "message": "tco_involvement disagrees with the TCO definition test"})  # fmt: skip
    out.append(f"findings: {len(findings)}")
    if findings:
        out.append(_table([tuple(f.values()) for f in findings], list(findings[0])))
    if c["quarantined"]:
        out.append(f"determination: none, quarantined by {c['quarantine_rules']}")
    else:
        reason = f" ({c['non_tco_reason']})" if c["non_tco_reason"] else ""
        out.append(
            f"determination: {c['determination']}{reason}; tco_involvement="
            f"{c['tco_involvement'] or '(empty)'}, subject_count={c['subject_count']}, "
            f"countries={c['countries'] or '(empty)'} -> association={c['association']}, "
            f"international={c['international']}"
        )
    out.extend(analyst_lines(con, c))
    if c["counted"]:
        cols = ", ".join(_counts_in(con, c["scr_id"]))
        out.append(
            f"counts in: FY{c['fiscal_year']} Q{c['fiscal_quarter']} "
            f"({quarter_key(c['fiscal_year'], c['fiscal_quarter'])}), approved {c['approved_date']}, "
            f"in {cols}"
        )
    else:
        why = "quarantined" if c["quarantined"] else f"status {c['status']}"
        out.append(f"counts in: no quarter ({why})")
    return "\n".join(out)


def analyst_lines(con, c: dict) -> list[str]:
    """The analysts' verdict on the SCR's case beside its determination (none when unreviewed)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if not {"audit_sample_cases", "case_review_current"} <= tables:
        return []
    out = []
    for r in _rows(con, REVIEW_SQL, [c["case_number"]]):
        det = c["determination"]
        if det in ("TCO", "NON_TCO"):
            word = "agrees with" if (det, r["verdict"]) in AGREES else "disagrees with"
            versus = f"{word} the determination {det}"
        else:
            versus = f"the determination is {det or 'none (quarantined)'}: not compared"
        out.append(
            f"analysts' verdict: {r['verdict']} (audit sample {r['sample_id']}, reviewed "
            f"{r['reviewed_on']}: association_of_individuals={r['association_of_individuals']}, "
            f"crosses_international_border={r['crosses_international_border']}); {versus}"
        )
    return out


def quarter_scrs(con, key: str, column: str) -> tuple[int | None, list[tuple]]:
    """(the published count of ``column`` in quarter ``key``, the SCRs behind it)."""
    fy, q = parse_quarter_key(key)
    published = (
        con.execute(
            f'SELECT "{column}" FROM quarterly_measures WHERE fiscal_year = ? AND fiscal_quarter = ?',
            [fy, q],
        ).fetchall()
        or [None]
    )[0]
    scrs = con.execute(
        f"SELECT {', '.join(QUARTER_COLUMNS)} FROM {DETERMINATIONS} WHERE counted "
        "AND fiscal_year = ? AND fiscal_quarter = ? "
        "AND counts_in(?, scr_type, determination, non_tco_reason) ORDER BY scr_id",
        [fy, q, column],
    ).fetchall()
    return (None if published is None else int(published[0])), scrs


def cmd_explain(args: argparse.Namespace) -> int:
    if bool(args.scr_id) == bool(args.quarter):
        raise PipelineError("give either an SCR id or --quarter (e.g. --quarter FY2024-Q1)")
    if args.quarter:
        args.quarter = args.quarter.strip().upper()
        try:
            parse_quarter_key(args.quarter)
        except ValueError as err:
            raise PipelineError(str(err)) from None
    path = settings.path_from_env("SCR_WAREHOUSE")
    con = open_read_only(path)
    try:
        con.execute(COUNTING_MACROS)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if DETERMINATIONS not in tables or "scr_current" not in tables:
            raise PipelineError(f"the warehouse {path} has no determinations; run a refresh first")
        if args.scr_id:
            print(explain_scr(con, args.scr_id))
            return 0
        count, scrs = quarter_scrs(con, args.quarter, args.column)
    finally:
        con.close()
    if args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(QUARTER_COLUMNS)
        w.writerows([protect(v) for v in row] for row in scrs)  # opened in a spreadsheet
        return 0
    fy, q = parse_quarter_key(args.quarter)
    shown = "no published row" if count is None else f"{count:,}"
    print(
        f"FY{fy} Q{q} {args.column}: {shown} (quarterly_measures); {len(scrs):,} SCR(s) behind it"
    )
    if scrs:
        print(_table([tuple(r) for r in scrs], list(QUARTER_COLUMNS)))
    if count is not None and count != len(scrs):
        print("warning: the count and the SCR list differ; run `scr-pipeline refresh`")
        return 1
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` to the ``scr-pipeline`` command line."""
    p = sub.add_parser(
        "explain",
        help="why an SCR counts where it does, or which SCRs make a quarter's count (read-only)",
        description="explain SCR_ID: every version of the SCR (file, row, last_modified_at), which "
        "one is current and why, its findings, its TCO determination with the prong values and "
        "the quarter it counts in. explain --quarter FY2024-Q1 [--column dd_tco] [--csv]: the "
        "published count and the SCRs behind it. Opens the warehouse read-only.",
    )
    p.add_argument(
        "scr_id",
        nargs="?",
        help="an SCR id (case is ignored); when its case was reviewed in an audit sample, the "
        "analysts' verdict is shown beside the determination",
    )
    p.add_argument(
        "--quarter",
        metavar="FY<year>-Q<n>",
        help="a fiscal quarter, e.g. FY2024-Q1 (Oct-Dec 2023); the old form 2024-Q1 is refused "
        "with the key to write instead",
    )
    p.add_argument(
        "--column",
        default="dd_total",
        choices=COLUMNS,
        help="the quarterly_measures column to explain (default dd_total)",
    )
    p.add_argument("--csv", action="store_true", help="print the SCRs as CSV (for a spreadsheet)")
    p.set_defaults(func=cmd_explain)
