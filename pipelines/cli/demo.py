"""`scr-pipeline demo`'s validation loop: draw, review, refresh, as an analyst would.

Why: on a fresh demo the latest fiscal year has published counts but no reviewed sample, so
``validation_sample_due`` warns and the headline has no interval (issues 29 and 30). After its
first refresh the demo draws that year's stratified sample through `audit draw --design
stratified` itself (:func:`pipelines.cli.audit_draw.draw`, the same job), lands a filled
worksheet (:mod:`pipelines.demo.reviews`) and refreshes again. One printed line per step.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from datetime import date

from assets._shared import settings

PRECISION = 0.1  # half-width 10% of the published count: a modest sample, the demo stays quick
SECOND_REVIEW = 0.1  # share of sampled cases marked for an independent second review


def due_year() -> tuple[int | None, list[int]]:
    """The year ``validation_sample_due`` looks at (its own rule), and the years reviewed."""
    from assets.audit.estimates import sample_due
    from pipelines.cli.findings import open_read_only

    con = open_read_only(settings.path_from_env("SCR_WAREHOUSE"))
    try:
        return sample_due(con)
    finally:
        con.close()


def draw_argv(fiscal_year: int, seed: int) -> list[str]:
    """The `scr-pipeline` arguments of the demo's draw (printed, so anyone can redo it)."""
    return ["audit", "draw", "--design", "stratified", "--fiscal-year", str(fiscal_year),
            "--precision", f"{PRECISION:g}", "--second-review", f"{SECOND_REVIEW:g}",
            "--seed", str(seed)]  # fmt: skip


def _design(sample_id: int) -> tuple[list[dict], dict[str, int]]:
    from pipelines.cli.findings import open_read_only

    con = open_read_only(settings.path_from_env("SCR_WAREHOUSE"))
    try:
        cur = con.execute(
            "SELECT case_number, stratum, rank, role FROM audit_sample_frame WHERE sample_id = ?",
            [sample_id],
        )
        frame = [dict(zip(("case_number", "stratum", "rank", "role"), r, strict=True))
                 for r in cur.fetchall()]  # fmt: skip
        sizes = dict(con.execute("SELECT stratum, sample_size FROM audit_sample_strata "
                                 "WHERE sample_id = ?", [sample_id]).fetchall())  # fmt: skip
    finally:
        con.close()
    return frame, sizes


def land_reviews(res: dict, truths: dict[str, str], seed: int) -> tuple[str, dict]:
    """Fill the drawn worksheet with the demo analysts' answers; land it as case_reviews_<date>.csv."""
    from pipelines.demo.reviews import COLUMNS, fill

    with open(res["worksheet"], newline="", encoding="utf-8") as f:
        sheet = list(csv.DictReader(f))
    frame, sizes = _design(res["sample_id"])
    today = date.today().isoformat()
    rows, summary = fill(sheet, frame, sizes, truths, seed, today)
    path = settings.path_from_env("SCR_LANDING_DIR") / f"case_reviews_{today}.csv"
    tmp = path.with_name(path.name + ".part")  # ignored by the landing scan until renamed
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return str(path), summary


def estimate_line(fiscal_year: int) -> str:
    """The refreshed headline estimate of the year (the stratified overall row)."""
    from assets.audit.estimates import headline
    from pipelines.cli.findings import open_read_only

    con = open_read_only(settings.path_from_env("SCR_WAREHOUSE"))
    try:
        cur = con.execute(
            "SELECT * FROM measure_estimates WHERE fiscal_year = ? AND method = 'stratified' "
            "AND criminal_category IS NULL ORDER BY sample_id DESC LIMIT 1",
            [fiscal_year],
        )
        names = [d[0] for d in cur.description]
        found = cur.fetchall()
    finally:
        con.close()
    return headline(dict(zip(names, found[0], strict=True)) if found else None)


def validation_loop(
    args: argparse.Namespace,
    truths: dict[str, str],
    parse: Callable[[list[str]], argparse.Namespace],
    refresh: Callable[[], int],
) -> int:
    """Draw the due year's stratified sample, land its reviews, refresh; one line per step."""
    from pipelines.cli.audit_draw import draw

    latest, reviewed = due_year()
    if latest is None or latest in reviewed:
        why = f"FY{latest} already has a reviewed sample" if latest else "no published year"
        print(f"demo: validation loop skipped: {why} (nothing drawn, no reviews landed)")
        return 0
    argv = draw_argv(latest, args.seed)
    draw_args = parse(argv)
    draw_args.debug, draw_args.wait = args.debug, args.wait
    res = draw(draw_args)
    print(
        f"demo: 1/3 drew validation sample {res['sample_id']} for FY{latest} (the latest fiscal "
        f"year with published counts; `scr-pipeline {' '.join(argv)}`): {res['sample_scrs']:,} "
        f"SCRs of {res['sample_size']:,} cases in {res['strata']} strata, "
        f"{res['second_review_cases']} case(s) marked for a second review",
        flush=True,
    )
    path, done = land_reviews(res, truths, args.seed)
    print(
        f"demo: 2/3 filled {done['cases']:,} case reviews ({done['flipped']} answer(s) not the "
        f"truth, {len(done['unreviewable'])} UNREVIEWABLE and {done['spares_used']} spare(s) "
        f"reviewed in its place, "
        f"{done['second_reviews']} second review(s), {done['adjudicated']} adjudication) "
        f"into {path}",
        flush=True,
    )
    code = refresh()
    if code == 0:
        print(f"demo: 3/3 refreshed: {estimate_line(latest)}")
    return code
