"""`scr-pipeline audit ...`: re-run the OIG's sampling arithmetic from the command line.

Why: OAO analysts and auditors need to size a validation sample and project its results
without writing Python, and to check the OIG's published projection themselves. The
statistics live in :mod:`assets.audit.stats`; this module is only argument parsing and
output formatting.
"""

from __future__ import annotations

import argparse
import json
import sys

from assets.audit.stats import METHODS, project, sample_size
from assets.audit.stratified import METHOD as STRATIFIED
from assets.audit.stratified import appraise

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
    if args.method == STRATIFIED:
        return cmd_project_stratified(args)
    missing = [f"--{k.replace('_', '-')}" for k in ("population", "sample_size", "exceptions")
               if getattr(args, k) is None]  # fmt: skip
    if args.stratum:
        return _fail(
            "scr-pipeline audit project", ValueError("--stratum goes with --method stratified")
        )
    if missing:
        return _fail(
            "scr-pipeline audit project",
            ValueError(f"method {args.method} needs {', '.join(missing)}"),
        )
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


def cmd_project_stratified(args: argparse.Namespace) -> int:
    """`audit project --method stratified`: RAT-STATS' stratified attribute appraisal."""
    prog = "scr-pipeline audit project"
    if not args.stratum:
        return _fail(prog, ValueError("--method stratified needs --stratum N,n,x per stratum"))
    if any(getattr(args, k) is not None for k in ("population", "sample_size", "exceptions")):
        return _fail(prog, ValueError("with --method stratified give the counts by --stratum"))
    try:
        res = appraise(args.stratum, confidence=args.confidence)
    except ValueError as exc:
        return _fail(prog, exc)
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"Stratified attribute appraisal (RAT-STATS), {_conf(res['confidence'])} confidence")
    print("  stratum   population   sample   exceptions     rate   precision    limits")
    for i, s in enumerate(res["strata"], start=1):
        print(
            f"  {i:>7} {s['population']:>12,} {s['sample_size']:>8,} {s['exceptions']:>12,} "
            f"{_pct(s['rate']):>8} {_pct(s['precision']):>11}    "
            f"{s['lower_bound']:,} to {s['upper_bound']:,}"
        )
    print(
        f"  {'overall':>7} {res['population']:>12,} {res['sample_size']:>8,} "
        f"{res['exceptions']:>12,} {_pct(res['rate']):>8} {_pct(res['precision']):>11}"
    )
    print(
        f"Projected exceptions: {res['point_estimate']:,} ({_conf(res['confidence'])} CI "
        f"{res['lower_bound']:,} to {res['upper_bound']:,}), rate {_pct(res['rate'])} "
        f"+/- {_pct(res['precision'])}"
    )
    return 0


def _stratum(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    try:
        if len(parts) != 3:
            raise ValueError
        return tuple(int(p) for p in parts)  # type: ignore[return-value]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected POPULATION,SAMPLE,EXCEPTIONS (three whole numbers), got {text!r}"
        ) from None


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
            "small samples, rates near 0 or 100%, or guaranteed coverage), stratified "
            "(RAT-STATS' stratified attribute appraisal of a stratified sample: one --stratum "
            "per stratum; limits N (p -/+ precision) rounded to the nearest unit, a negative "
            "lower limit 0)."
        ),
    )
    pr.add_argument("--population", type=int, help="number of cases N")
    pr.add_argument("--sample-size", type=int, help="number of cases sampled n")
    pr.add_argument("--exceptions", type=int, help="sampled cases that failed the test k")
    pr.add_argument(
        "--stratum",
        type=_stratum,
        action="append",
        metavar="POPULATION,SAMPLE,EXCEPTIONS",
        help="one stratum of a stratified sample (repeat per stratum; --method stratified)",
    )
    pr.add_argument(
        "--confidence", type=_fraction, default=0.90, help="confidence level (default 0.90)"
    )
    pr.add_argument(
        "--method",
        choices=(*METHODS, STRATIFIED),
        default="normal",
        help="interval method (default normal)",
    )
    pr.add_argument("--json", action="store_true", help="print one JSON object")
    pr.set_defaults(func=cmd_project)

    from pipelines.cli import audit_plan

    audit_plan.register(audit_sub)
    return audit_sub
