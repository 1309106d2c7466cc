"""`scr-pipeline audit ...`: re-run the OIG's sampling arithmetic from the command line.

Why: OAO analysts and auditors need to size a validation sample and project its results
without writing Python, and to check the OIG's published projection themselves. The
statistics live in :mod:`assets.audit_stats`; this module is only argument parsing and
output formatting.
"""

from __future__ import annotations

import argparse
import json
import sys

from assets.audit_stats import METHODS, project, sample_size

EXIT_USAGE = 2  # same code argparse uses for bad arguments


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _conf(c: float) -> str:
    return f"{100 * c:g}%"


def _fail(prog: str, exc: Exception) -> int:
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def cmd_sample_size(args: argparse.Namespace) -> int:
    """Handle `audit sample-size`; returns the process exit code."""
    try:
        res = sample_size(
            args.population,
            confidence=args.confidence,
            precision=args.precision,
            expected_rate=args.expected_rate,
        )
    except ValueError as exc:
        return _fail("scr-pipeline audit sample-size", exc)
    if args.json:
        print(json.dumps(res))
        return 0
    print(
        f"Sample size at {_conf(res['confidence'])} confidence, "
        f"+/- {_pct(res['precision'])} precision, expected rate {_pct(res['expected_rate'])}"
    )
    print(f"  population                     {res['population']:>9,}")
    print(f"  z                              {res['z']:>9.4f}")
    print(f"  n0 (infinite population)       {res['n0']:>9,}")
    print(f"  n  (finite population corr.)   {res['n']:>9,}")
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    """Handle `audit project`; returns the process exit code."""
    try:
        res = project(
            args.population,
            args.sample_size,
            args.exceptions,
            confidence=args.confidence,
            method=args.method,
        )
    except ValueError as exc:
        return _fail("scr-pipeline audit project", exc)
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"Projection ({res['method']} method, {_conf(res['confidence'])} confidence)")
    print(f"  population                     {res['population']:>9,}")
    print(f"  sample size                    {res['sample_size']:>9,}")
    print(f"  exceptions in sample           {res['exceptions']:>9,}")
    print(
        f"Projected non-TCO cases: {res['point_estimate']:,} "
        f"({_conf(res['confidence'])} CI {res['lower_bound']:,} to {res['upper_bound']:,}), "
        f"rate {_pct(res['rate'])} [{_pct(res['rate_lower'])}, {_pct(res['rate_upper'])}]"
    )
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    """Handle `audit draw`: run the `audit_draw` Dagster job in-process under the refresh lock."""
    from pipelines.cli import _instance
    from pipelines.definitions import defs
    from pipelines.errors import PipelineError
    from pipelines.refresh import QUIET, failure_message, refresh_lock

    config = {"fiscal_years": args.fiscal_years, "size": args.size, "seed": args.seed}
    run_config = {"ops": {"draw_audit_sample": {"config": config}}} | ({} if args.debug else QUIET)
    with refresh_lock(wait=args.wait), _instance() as instance:
        result = defs.resolve_job_def("audit_draw").execute_in_process(
            run_config=run_config,
            instance=instance,
            tags={"scr/trigger": "cli"},
            raise_on_error=args.debug,
        )
    if not result.success:
        raise PipelineError(failure_message(result))
    res = result.output_for_node("draw_audit_sample")
    if args.json:
        print(json.dumps(res))
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
    print(f"  review worksheet               {res['worksheet']}")
    print(
        "Next: fill reviewed_on (YYYY-MM-DD), association_of_individuals and "
        "crosses_international_border (Y/N) for every case, save the worksheet in the landing dir "
        "as case_reviews_<YYYY-MM-DD>.csv and run `scr-pipeline refresh`; the projection is "
        "written to audit_projection.parquet."
    )
    return 0


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

    from pipelines.errors import PipelineError

    with warnings.catch_warnings():  # importing the asset modules warns about beta parameters
        warnings.simplefilter("ignore")
        from assets.audit_sample import parse_fiscal_years

    try:
        parse_fiscal_years(text)
    except PipelineError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("--fiscal-years ")) from None
    return text


def _fraction(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction such as 0.90, got {text!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add the `audit` command to a top-level subparsers object.

    Returns the `audit` command's own subparsers object so other modules can add more audit
    sub-commands (e.g. `audit draw`) to it.
    """
    audit = subparsers.add_parser(
        "audit",
        help="sample sizes and projections for auditing the TCO measure",
        description=(
            "Statistics to re-run the DHS OIG audit of the TCO measure: how many cases to "
            "sample, and how to project the exceptions found onto all cases."
        ),
    )
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    ss = audit_sub.add_parser(
        "sample-size",
        help="cases to sample for a given confidence and precision",
        description=(
            "Cochran's sample size for estimating a proportion: n0 = z^2 p(1-p)/e^2 and, with "
            "the finite population correction, n = n0 / (1 + (n0-1)/N). The OIG used 90% "
            "confidence and 5% precision on 5,016 cases (n = 258)."
        ),
    )
    ss.add_argument("--population", type=int, required=True, help="number of cases N")
    ss.add_argument(
        "--confidence", type=_fraction, default=0.90, help="confidence level (default 0.90)"
    )
    ss.add_argument(
        "--precision",
        type=_fraction,
        default=0.05,
        help="margin of error as a fraction (default 0.05 = +/- 5 points)",
    )
    ss.add_argument(
        "--expected-rate",
        type=_fraction,
        default=0.5,
        help="anticipated exception rate (default 0.5, the most conservative)",
    )
    ss.add_argument("--json", action="store_true", help="print one JSON object")
    ss.set_defaults(func=cmd_sample_size)

    pr = audit_sub.add_parser(
        "project",
        help="project sample exceptions onto the population with a confidence interval",
        description=(
            "Project k exceptions found in a simple random sample of n of N cases. Methods: "
            "normal (Wald, no finite population correction; reproduces the OIG's 2,819 "
            "[2,564 to 3,074] for N=5016 n=258 k=145), normal-fpc (Wald with finite "
            "population correction; use when n/N > ~5%), exact (hypergeometric; use for "
            "small samples, rates near 0 or 100%, or guaranteed coverage)."
        ),
    )
    pr.add_argument("--population", type=int, required=True, help="number of cases N")
    pr.add_argument("--sample-size", type=int, required=True, help="number of cases sampled n")
    pr.add_argument(
        "--exceptions", type=int, required=True, help="sampled cases that failed the test k"
    )
    pr.add_argument(
        "--confidence", type=_fraction, default=0.90, help="confidence level (default 0.90)"
    )
    pr.add_argument(
        "--method", choices=METHODS, default="normal", help="interval method (default normal)"
    )
    pr.add_argument("--json", action="store_true", help="print one JSON object")
    pr.set_defaults(func=cmd_project)

    dr = audit_sub.add_parser(
        "draw",
        help="draw a reproducible random sample of cases from the warehouse",
        description=(
            "Simple random sample without replacement of the cases that have at least one "
            "counted (approved, valid) SCR approved in the fiscal years given. Cases are ranked "
            "by SHA-256 of '<seed>:<case_number>': the same seed and population always give the "
            "same cases. The sample is recorded in the warehouse (audit_samples, "
            "audit_sample_cases) and exported to SCR_OUTPUT_DIR/audit_sample/ with a review "
            "worksheet CSV. Needs a refreshed warehouse; waits for no refresh unless --wait."
        ),
    )
    dr.add_argument(
        "--fiscal-years",
        type=_fiscal_years,
        default="2017-2022",
        help="fiscal years of approval, e.g. 2017-2022 or 2023 (default 2017-2022)",
    )
    dr.add_argument(
        "--size", type=_positive_int, default=258, help="cases to draw (default 258, the OIG's)"
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

    return audit_sub
