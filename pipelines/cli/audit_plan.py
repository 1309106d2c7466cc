"""`scr-pipeline audit plan`: the stratified design for one fiscal year's published count.

Why: before drawing, OAO needs to see how many SCRs each stratum needs for the target precision
and what interval to expect, and to argue about the anticipated rates. The design is
:func:`assets.audit.stratified_sample.design` (the same one `audit draw --design stratified`
draws); this module reads the warehouse read-only and prints it.
"""

from __future__ import annotations

import argparse
import json


def plan_for(args: argparse.Namespace) -> dict:
    """The design from a read-only warehouse connection (temp tables only)."""
    from assets._shared import settings
    from assets.audit.stratified_sample import design, parse_rate_overrides
    from pipelines.cli.findings import open_read_only

    rates = parse_rate_overrides(args.rate)
    con = open_read_only(settings.path_from_env("SCR_WAREHOUSE"))
    try:
        return design(con, args.fiscal_year, args.precision, args.confidence, args.size, rates)
    finally:
        con.close()


def print_plan(res: dict) -> None:
    conf = f"{100 * res['confidence']:g}%"
    print(
        f"Stratified validation sample for FY{res['fiscal_year']}: {res['frame_scrs']:,} counted "
        f"disruption/dismantlement SCRs, {res['published_tco']:,} published TCO-validated"
    )
    print(
        f"  target half-width {res['target_half_width']:.1f} SCRs ({100 * res['precision']:g}% "
        f"of the published count) at {conf}; anticipated rates: {res['rates_from']}; strata "
        f"under {res['merge_below']} SCRs merged into '<determination> / other categories'"
    )
    width = max(len("stratum"), *(len(s["stratum"]) for s in res["strata"]))
    print(f"  {'stratum':<{width}}  {'N_h':>7}  {'rate':>6}  {'n_h':>5}  {'half-width':>10}")
    for s in res["strata"]:
        print(
            f"  {s['stratum']:<{width}}  {s['population']:>7,}  {s['anticipated_rate']:>6.3f}  "
            f"{s['sample_size']:>5,}  {s['expected_half_width']:>10.1f}"
        )
    print(f"  {'total':<{width}}  {res['frame_scrs']:>7,}  {'':>6}  {res['sample_size']:>5,}  "
          f"{res['expected_half_width']:>10.1f}")  # fmt: skip
    print(
        f"Expected: {res['expected_total']:,.0f} TCO-related, {conf} interval "
        f"{res['expected_lower']:,} to {res['expected_upper']:,} (+/- "
        f"{res['expected_half_width']:.1f}) from {res['sample_size']:,} sampled SCRs"
    )
    print(
        f"Draw it: scr-pipeline audit draw --design stratified --fiscal-year {res['fiscal_year']} "
        f"--precision {res['precision']:g} --seed <a seed fixed in advance>"
    )


def cmd_plan(args: argparse.Namespace) -> int:
    res = plan_for(args)
    if args.json:
        print(json.dumps(res))
    else:
        print_plan(res)
    return 0


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def fiscal_year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"expected a fiscal year such as 2024, got {text!r}")
    return int(text)


def add_design_arguments(p: argparse.ArgumentParser, fy_required: bool = True) -> None:
    """Arguments shared by `audit plan` and `audit draw --design stratified`."""
    p.add_argument("--fiscal-year", type=fiscal_year, required=fy_required,
                   help="the fiscal year whose published count is validated, e.g. 2024")  # fmt: skip
    p.add_argument(
        "--precision",
        type=fraction,
        default=0.05,
        help="target half-width as a share of the published TCO-validated count (default 0.05)",
    )
    p.add_argument(
        "--rate",
        action="append",
        metavar="STRATUM=P",
        help="anticipated TCO rate of a stratum, or of every stratum of a determination "
        "(TCO=0.9); repeatable",
    )


def register(audit_sub: argparse._SubParsersAction) -> None:
    """Add `plan` to the `audit` sub-commands."""
    p = audit_sub.add_parser(
        "plan",
        help="the stratified sample design for one fiscal year's published count",
        description=(
            "Frame: the fiscal year's counted disruption/dismantlement SCRs. Strata: "
            "determination (TCO, NON_TCO, UNDETERMINED) x criminal category; a category with "
            "fewer than 30 SCRs joins '<determination> / other categories'. Anticipated TCO "
            "rates per determination from the latest reviewed sample ((x + 1/2)/(n + 1)), else "
            "TCO 0.80, NON_TCO 0.20, UNDETERMINED 0.50. The total size is the smallest whose "
            "Neyman allocation (n_h proportional to N_h sqrt(P_h(1-P_h)), at least 10 and at "
            "most N_h per stratum) gives an expected half-width within the target. Reads the "
            "warehouse only."
        ),
    )
    add_design_arguments(p)
    p.add_argument("--confidence", type=fraction, default=0.90, help="default 0.90")
    p.add_argument("--size", type=int, default=None, help="allocate this total instead")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_plan)
