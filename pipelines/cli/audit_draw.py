"""`scr-pipeline audit draw`: draw, record and export a reproducible audit sample.

Why: the analysts' entry point to the re-audit. The work happens in the `audit_draw` Dagster job
(assets/audit/sample.py); this module parses arguments, holds the refresh lock while the job
writes the warehouse, and prints what was drawn and what to do next.
"""

from __future__ import annotations

import argparse
import json

from assets.audit.stats import sample_size
from pipelines.cli.audit_plan import add_design_arguments

OIG_POPULATION = 5_016  # the OIG's population of cases, FY2017-FY2022


def sizing_help() -> str:
    """The --help paragraph on how many cases give +/- 5 points on the agreement rate, computed
    by assets.audit.stats.sample_size (90% confidence, the OIG's)."""
    worst = sample_size(OIG_POPULATION, 0.90, 0.05, 0.5)
    likely = sample_size(OIG_POPULATION, 0.90, 0.05, 0.9)
    return (
        "How many cases: to measure the agreement rate (analysts vs the automated TCO "
        "determination) within +/- 5 points at 90% confidence, draw "
        f"{worst['n']} cases from a population of {OIG_POPULATION:,} ({worst['n0']} from a very "
        "large one) when nothing is known about the rate (50%, the most cautious assumption; "
        f"the OIG's {worst['n']}), or {likely['n']} ({likely['n0']}) if agreement is expected "
        "near 90%. For your population and assumptions: "
        "`scr-pipeline audit sample-size --population N --expected-rate P`."
    )


def draw(args: argparse.Namespace) -> dict:
    """Run the `audit_draw` Dagster job in-process under the refresh lock; return its summary
    (also the demo's draw: one code path)."""
    from assets._shared.errors import PipelineError
    from pipelines.cli.refresh import QUIET, execute_job, run_publish
    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.instance import get_instance
    from pipelines.orchestration.refresh_stamp import refresh_lock

    config = {"fiscal_years": args.fiscal_years, "size": args.size_given or 258, "seed": args.seed}
    if args.design == "simple" and (args.fiscal_year or args.second_review or args.rate):
        raise PipelineError(
            "--fiscal-year, --second-review and --rate go with --design stratified "
            "(the simple design takes --fiscal-years and --size)"
        )
    if args.design == "stratified":
        if args.fiscal_year is None:
            raise PipelineError("--design stratified needs --fiscal-year YYYY")
        config |= {
            "design": "stratified",
            "fiscal_year": args.fiscal_year,
            "size": args.size_given or 0,
            "precision": args.precision,
            "spares": args.spares,
            "second_review": args.second_review,
            "rates": args.rate or [],
        }
    run_config = {"ops": {"draw_audit_sample": {"config": config}}} | ({} if args.debug else QUIET)
    with refresh_lock(wait=args.wait), get_instance() as instance:
        result = execute_job(
            defs.get_job_def("audit_draw"),
            args.debug,
            run_config=run_config,
            instance=instance,
            tags={"scr/trigger": "cli"},
        )
        run_publish(defs, instance, debug=args.debug)  # the sample's files, through the registry
    return result.output_for_node("draw_audit_sample")


def cmd_draw(args: argparse.Namespace) -> int:
    """Handle `audit draw`: draw, then print what was recorded and what to do next."""
    res = draw(args)
    if args.json:
        print(json.dumps(res))
        return 0
    if args.design == "stratified":
        print_stratified(res)
        return 0
    print(
        f"Drew sample {res['sample_id']}: {res['sample_size']:,} of {res['population']:,} cases "
        f"with counted SCRs in {res['fiscal_years']} (seed {res['seed']})"
    )
    print(
        f"  SCRs of the sampled cases      {res['sample_scrs']:>9,} (population {res['population_scrs']:,})"
    )
    print(f"  recorded in the warehouse      audit_samples, sample_id {res['sample_id']}")
    print(f"  cases                          {res['cases_file']}")
    print(f"  review worksheet (Excel)       {res['worksheet_xlsx']}")
    print(f"  review worksheet (CSV)         {res['worksheet']}")
    print(
        "  (in SCR_WORKSHEET_DIR, yours to fill: never overwritten; a read-only copy is "
        "published under audit_sample/_worksheets/)"
    )
    print(
        "Next: fill reviewed_on (a date, or YYYY-MM-DD), association_of_individuals and "
        "crosses_international_border (Y/N) for every case, save the worksheet in the landing dir "
        "as case_reviews_<YYYY-MM-DD>.xlsx (or .csv) and run `scr-pipeline refresh`; the "
        "projection is written to audit_projection.parquet."
    )
    return 0


def print_stratified(res: dict) -> None:
    """What a stratified draw recorded, and what to do next."""
    from pipelines.cli.audit_plan import print_plan

    print_plan(res["plan"])
    root = res["cases_file"].rsplit("/", 1)[0]
    print(
        f"Drew sample {res['sample_id']} (stratified, seed {res['seed']}): {res['sample_scrs']:,} "
        f"SCRs of {res['sample_size']:,} cases in {res['strata']} strata, {res['spares']} spare(s) "
        f"per stratum; {res['second_review_cases']:,} case(s) marked for a second review"
    )
    print(f"  strata, frame                  {root}/strata.parquet, {root}/frame.parquet")
    print(f"  review worksheet (Excel)       {res['worksheet_xlsx']}")
    print(f"  review worksheet (CSV)         {res['worksheet']}")
    print(
        "Next: review every case with spare = N (a case file that cannot be reviewed: "
        "review_outcome UNREVIEWABLE, then review the next spare case of its stratum); cases "
        "with second_review = Y also get an independent review with review_role = second. "
        "Land the filled worksheet as case_reviews_<YYYY-MM-DD>.xlsx (or .csv) and run "
        "`scr-pipeline refresh`: the estimate is in measure_estimates.parquet "
        "(method stratified)."
    )


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _fiscal_years(text: str) -> str:
    import warnings

    from assets._shared.errors import PipelineError

    with warnings.catch_warnings():  # importing the asset modules warns about beta parameters
        warnings.simplefilter("ignore")
        from assets.audit.sample import parse_fiscal_years

    try:
        parse_fiscal_years(text)
    except PipelineError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--fiscal-years ")) from None
    return text


def register(audit_sub: argparse._SubParsersAction) -> None:
    """Add `draw` to the `audit` sub-commands returned by :func:`pipelines.cli.audit.register`."""
    dr = audit_sub.add_parser(
        "draw",
        help="draw a reproducible random sample of cases from the warehouse",
        description=(
            "Simple random sample without replacement of the cases that have at least one "
            "counted (approved, valid) SCR approved in the fiscal years given. Cases are ranked "
            "by SHA-256 of '<seed>:<case_number>': the same seed and population always give the "
            "same cases. The sample is recorded in the warehouse (audit_samples, "
            "audit_sample_cases) and exported to SCR_OUTPUT_DIR/audit_sample/; the review "
            "worksheet to fill, as .xlsx (Y/N drop-downs, a sheet explaining the two prongs) and "
            "as CSV, is written to SCR_WORKSHEET_DIR (default data/worksheets), never over an "
            "existing file (a taken name gets a -2, -3 ... suffix). "
            "Needs a refreshed warehouse; waits for no refresh unless --wait. With --design "
            "stratified: the validation sample of one --fiscal-year's published count instead, "
            "its SCRs ranked within each stratum by SHA-256 of '<seed>:<scr_id>' (`audit plan "
            "--help` says how it is sized), with spares and second-review marks."
        ),
        epilog=sizing_help(),
    )
    dr.add_argument(
        "--fiscal-years",
        type=_fiscal_years,
        default="2017-2022",
        help="fiscal years of approval, e.g. 2017-2022 or 2023 (default 2017-2022)",
    )
    dr.add_argument(
        "--size",
        type=_positive_int,
        default=None,
        dest="size_given",
        help="cases to draw (default 258, the OIG's); with --design stratified: SCRs in total "
        "(instead of --precision)",
    )
    dr.add_argument(
        "--design",
        choices=("simple", "stratified"),
        default="simple",
        help="simple (default): a simple random sample of cases over --fiscal-years, as the OIG; "
        "stratified: the validation sample of one --fiscal-year's published count (SCRs by "
        "determination x category, Neyman allocation; see `audit plan --help`)",
    )
    add_design_arguments(dr, fy_required=False)
    dr.add_argument(
        "--spares", type=_count, default=2, help="spares per stratum (stratified; default 2)"
    )
    dr.add_argument(
        "--second-review",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="share of sampled cases marked for an independent second review (stratified): the "
        "cases ranked first by SHA-256 of '<seed>:second:<case_number>'",
    )
    dr.add_argument(
        "--seed",
        type=int,
        required=True,
        help="random seed; fix it before drawing and record it (same seed, same sample)",
    )
    dr.add_argument(
        "--wait", action="store_true", help="wait for a running refresh instead of exiting"
    )
    dr.add_argument("--json", action="store_true", help="print one JSON object")
    dr.set_defaults(func=cmd_draw)
