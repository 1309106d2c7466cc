"""Attribute-sampling statistics for re-running the OIG audit of the TCO measure.

Why this module exists: the DHS OIG (report "ICE Did Not Accurately Measure and Report Its
Progress in Disrupting or Dismantling Transnational Criminal Organizations", September 19,
2023) drew a simple random sample of 258 of 5,016 cases, found 145 that were not
TCO-related, and projected at 90% confidence that 2,819 cases (2,564 to 3,074) were not TCO
cases. ICE said it could not validate that projection because the method was not
documented. These functions make the arithmetic explicit so that the agency can (a) size its
own validation sample and (b) project a sample's exception count onto the population, with
the OIG's method and with two alternatives suited to other sampling situations.

Everything here is pure (no I/O, no global state) so the Dagster assets and the CLI can share
it and it can be tested exhaustively.

References
----------
- W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, 1977: ch. 4, eqs. (4.1)-(4.2)
  (sample size for proportions); ch. 3 (variance of a sample proportion with the finite
  population correction, confidence limits including exact hypergeometric limits).
- W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, 1977: ch. 6 (the ratio estimator of a
  population total and its large-sample variance), used by
  :func:`ratio_estimate` for the number of counted SCRs that are truly TCO-related.
- U.S. GAO, *Using Statistical Sampling*, GAO/PEMD-10.1.6 (1992), ch. 4-5 (attribute
  sampling, projection and the normal approximation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral, Real
from statistics import NormalDist

import numpy as np

METHODS: tuple[str, ...] = ("normal", "normal-fpc", "exact")
"""Projection methods accepted by :func:`project`."""

# Guards floor/ceil against binary floating-point fuzz, e.g. 2564.0000000000005 -> 2564.
_EPS = 1e-9


# --------------------------------------------------------------------------------------------
# validation helpers: messages say what was given and what is allowed, so a person can fix it
# --------------------------------------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_open_unit(name: str, value: object, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not (0 < float(value) < 1):
        raise ValueError(
            f"{name} must be a fraction strictly between 0 and 1 ({hint}), got {value!r}"
        )
    return float(value)


def _z(confidence: float) -> float:
    """Two-sided standard normal quantile z_{1-alpha/2} (1.6449 for 90% confidence).

    The standard library's quantile (Wichura's AS 241, full double precision; within a few units in
    the last place of scipy's ``norm.ppf``, tests/audit/test_audit_stats.py): importing
    scipy.stats would cost every CLI start ~0.6 s, ``audit draw --help`` sizes samples with it."""
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _round_half_up(x: float) -> int:
    # Python's round() is round-half-to-even; auditors round halves up.
    return math.floor(x + 0.5 + _EPS)


# --------------------------------------------------------------------------------------------
# sample size
# --------------------------------------------------------------------------------------------


def sample_size(
    population: int,
    confidence: float = 0.90,
    precision: float = 0.05,
    expected_rate: float = 0.5,
) -> dict:
    """Number of cases to sample to estimate an exception rate within +/- ``precision``.

    Why: before testing SCRs against the TCO definition an auditor must decide how many cases
    to pull. The OIG used 90% confidence and a 5% margin of error on 5,016 cases and sampled
    258; this function reproduces that choice and lets the agency size its own re-test.

    Formulas (Cochran 1977, eqs. 4.1 and 4.2)::

        n0 = z^2 * p * (1 - p) / e^2            infinite population, rounded up
        n  = n0 / (1 + (n0 - 1) / N)            finite population correction, rounded up

    where z is the two-sided standard normal quantile for ``confidence`` (1.6449 at 90%),
    p is ``expected_rate`` (0.5, the default, is the most conservative: it maximises
    p(1-p)), e is ``precision`` and N is ``population``. ``n`` is computed from the
    rounded-up ``n0``, as the formula is usually applied in practice; that is what gives the
    OIG's 258 for N = 5,016 (n0 = 271, n = ceil(257.16) = 258). Plugging in the unrounded
    n0 = 270.55 would give 257.

    Args:
        population: N, number of cases in the population (>= 1).
        confidence: two-sided confidence level, strictly between 0 and 1 (0.90 = 90%).
        precision: desired margin of error e as a fraction (0.05 = +/- 5 percentage points).
        expected_rate: anticipated exception rate p, strictly between 0 and 1.

    Returns:
        dict with ``population, confidence, precision, expected_rate, z, n0, n``; ``n0`` is
        the size ignoring the population size, ``n`` (<= N) the size to actually draw.

    Raises:
        ValueError: if an argument is out of range.
    """
    population = _check_int("population", population, 1)
    confidence = _check_open_unit("confidence", confidence, "e.g. 0.90 for 90%")
    precision = _check_open_unit("precision", precision, "e.g. 0.05 for +/- 5 percentage points")
    expected_rate = _check_open_unit(
        "expected_rate", expected_rate, "use 0.5 if unknown, it gives the largest sample"
    )
    z = _z(confidence)
    n0_exact = z * z * expected_rate * (1.0 - expected_rate) / (precision * precision)
    n0 = math.ceil(n0_exact - _EPS)
    n = math.ceil(n0 / (1.0 + (n0 - 1) / population) - _EPS)
    return {
        "population": population,
        "confidence": confidence,
        "precision": precision,
        "expected_rate": expected_rate,
        "z": z,
        "n0": n0,
        "n": min(n, population),
    }


# --------------------------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------------------------


def _first_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int:
    """Smallest integer D in [lo, hi] with pred(D), for pred monotone False..True; pred(hi)
    must hold. Bisection: O(log(hi - lo)) evaluations instead of a scan over every D."""
    while lo < hi:
        mid = (lo + hi) // 2
        if pred(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _last_true(lo: int, hi: int, pred: Callable[[int], bool]) -> int:
    """Largest integer D in [lo, hi] with pred(D), for pred monotone True..False; pred(lo)
    must hold."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pred(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def exact_bounds(population: int, sample_size: int, exceptions: int, confidence: float) -> tuple:
    """Exact two-sided (Clopper-Pearson-type) bounds on D, the population exception count.

    Why: the normal approximation can under-cover for small samples or rates near 0 or 1;
    inverting the hypergeometric distribution (the exact sampling distribution of the
    exception count X when n of N units are drawn without replacement) guarantees at least
    the nominal coverage.

    lower = smallest D with P(X >= k | N, D, n) > alpha/2
    upper = largest  D with P(X <= k | N, D, n) > alpha/2

    Both tail probabilities are monotone in D (P(X >= k) rises, P(X <= k) falls), so each
    bound is found by bisection over D in [k, N - (n - k)], the values D can take given what
    the sample showed. Inputs are assumed validated (see :func:`project`).
    """
    from scipy.stats import hypergeom

    N, n, k = population, sample_size, exceptions
    half_alpha = (1.0 - confidence) / 2.0
    d_min, d_max = k, N - (n - k)
    # P(X >= k) = sf(k - 1); at D = d_max it is 1, so a solution always exists.
    lower = _first_true(d_min, d_max, lambda d: float(hypergeom.sf(k - 1, N, d, n)) > half_alpha)
    # P(X <= k) = cdf(k); at D = d_min it is 1.
    upper = _last_true(d_min, d_max, lambda d: float(hypergeom.cdf(k, N, d, n)) > half_alpha)
    return lower, upper


def project(
    population: int,
    sample_size: int,
    exceptions: int,
    confidence: float = 0.90,
    method: str = "normal",
) -> dict:
    """Project the exceptions found in a simple random sample onto the whole population.

    Why: the audit's headline figure ("2,819 of 5,016 cases were not TCO cases, 2,564 to
    3,074 at 90% confidence") is such a projection; the agency needs to reproduce it and to
    run the same projection on its own validation samples.

    Point estimate (all methods): N * k / n, rounded half up (5016 * 145 / 258 = 2819.08 ->
    2,819). Interval, with p = k / n and z the two-sided normal quantile:

    ``normal``
        Wald interval without finite population correction, N * (p -/+ z sqrt(p(1-p)/n)).
        This is what reproduces the OIG (2564.23 and 3073.93, i.e. +/- 254.85 cases, a
        +/- 5.08 point margin). Appropriate for large samples whose rate is not near 0 or 1
        (rule of thumb: n p >= 10 and n (1 - p) >= 10) and a small sampling fraction, or
        when the point is to match the OIG's published numbers.
    ``normal-fpc``
        Wald interval with the finite population correction sqrt((N - n) / (N - 1))
        multiplying the standard error (Cochran 1977, ch. 3). Appropriate when the
        sampling fraction n / N exceeds about 5%: it is narrower, correctly, because the
        sample has already seen part of the population. For the OIG inputs (5.1%) it gives
        2,570 to 3,068 (+/- 248.23 cases).
    ``exact``
        Hypergeometric bounds, see :func:`exact_bounds`. Appropriate for small samples, for
        rates near 0 or 1 (including zero exceptions, where the Wald interval collapses to a
        single point), or whenever guaranteed coverage >= the confidence level is needed.

    Rounding of the normal bounds is outward (lower floored, upper ceiled) so that rounding
    never narrows the stated interval; for the OIG inputs rounding to nearest gives the same
    integers. All bounds are clipped to [k, N - (n - k)]: the population holds at least the k
    exceptions seen and at most everything except the n - k clean cases seen.

    Args:
        population: N, number of units (cases) in the population.
        sample_size: n, number of units drawn at random without replacement, 1 <= n <= N.
        exceptions: k, number of sampled units that failed the test, 0 <= k <= n.
        confidence: two-sided confidence level strictly between 0 and 1.
        method: one of ``normal``, ``normal-fpc``, ``exact``.

    Returns:
        dict with exactly the keys ``population, sample_size, exceptions, confidence,
        method, rate, rate_lower, rate_upper, point_estimate, lower_bound, upper_bound``.
        ``rate`` is k / n; ``rate_lower``/``rate_upper`` are the interval for the population
        rate (for ``exact``, bound / N); the ``*_bound`` and ``point_estimate`` values are
        counts of units.

    Raises:
        ValueError: if the counts are inconsistent or out of range, or the method is unknown.
    """
    population = _check_int("population", population, 1)
    sample_size = _check_int("sample_size", sample_size, 1)
    exceptions = _check_int("exceptions", exceptions, 0)
    if sample_size > population:
        raise ValueError(
            f"sample_size ({sample_size}) cannot exceed population ({population}): "
            "the sample is drawn from the population"
        )
    if exceptions > sample_size:
        raise ValueError(
            f"exceptions ({exceptions}) cannot exceed sample_size ({sample_size}): "
            "exceptions are counted among the sampled units"
        )
    confidence = _check_open_unit("confidence", confidence, "e.g. 0.90 for 90%")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")

    N, n, k = population, sample_size, exceptions
    d_min, d_max = k, N - (n - k)
    rate = k / n
    point = min(max(_round_half_up(N * rate), d_min), d_max)

    if method == "exact":
        lower, upper = exact_bounds(N, n, k, confidence)
        # D is a whole number, so D/N can fall just inside k/n; keep the sample rate in the interval
        rate_lower, rate_upper = min(lower / N, rate), max(upper / N, rate)
    else:
        se = math.sqrt(rate * (1.0 - rate) / n)
        if method == "normal-fpc":
            se *= math.sqrt((N - n) / (N - 1)) if N > 1 else 0.0
        margin = _z(confidence) * se
        rate_lower = max(rate - margin, d_min / N)
        rate_upper = min(rate + margin, d_max / N)
        lower = max(math.floor(N * rate_lower + _EPS), d_min)
        upper = min(math.ceil(N * rate_upper - _EPS), d_max)

    return {
        "population": N,
        "sample_size": n,
        "exceptions": k,
        "confidence": confidence,
        "method": method,
        "rate": rate,
        "rate_lower": rate_lower,
        "rate_upper": rate_upper,
        "point_estimate": point,
        "lower_bound": lower,
        "upper_bound": upper,
    }


# --------------------------------------------------------------------------------------------
# ratio estimate of a total (counted SCRs that are truly TCO-related)
# --------------------------------------------------------------------------------------------

RATIO_METHOD = "ratio"
"""The ``method`` label of :func:`ratio_estimate` rows (measure_estimates.parquet)."""

NOTE_NO_SCRS = "no reviewed case has a counted SCR in the year: no estimate"
NOTE_NO_VARIANCE = (
    "variance undefined (fewer than 2 reviewed cases, or no recorded population): "
    "the bounds are the whole range the reviews allow"
)


def ratio_bounds(x, y, population, total, z: float) -> dict[str, np.ndarray]:
    """The ratio estimator, vectorised over the last axis (one sample per row of ``x``, ``y``).

    Why a separate core: the asset calls it once per sample and fiscal year through
    :func:`ratio_estimate` (which validates), the simulation test on thousands of samples at
    once; both run exactly this arithmetic. Inputs are assumed valid; ``population`` may be
    NaN (not recorded). Formulas and edge cases: :func:`ratio_estimate`.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = x.shape[-1]
    big_n, total = np.asarray(population, dtype=float), np.asarray(total, dtype=float)
    sx, sy = x.sum(axis=-1), y.sum(axis=-1)
    lo, hi = sy, total - (sx - sy)  # the seen TCO SCRs .. all but the seen non-TCO ones
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sx > 0, sy / sx, np.nan)
        point = total * ratio
        fpc = 1.0 - n / big_n
        s2 = ((y - ratio[..., None] * x) ** 2).sum(axis=-1) / (n - 1) if n > 1 else np.nan
        var = np.where(fpc <= 0, 0.0, big_n**2 * fpc / n * s2)  # a census has no sampling error
    se = np.sqrt(var)
    defined = np.isfinite(se)
    margin = np.where(defined, z * se, np.inf)
    lower = np.clip(np.floor(np.maximum(point - margin, lo) + _EPS), lo, hi)
    upper = np.clip(np.ceil(np.minimum(point + margin, hi) - _EPS), lo, hi)
    estimate = np.clip(np.floor(point + 0.5 + _EPS), lo, hi)  # half up, as the projection
    nan = np.isnan(ratio)
    return {
        "ratio": ratio,
        "estimate": np.where(nan, np.nan, estimate),
        "standard_error": np.where(nan, np.nan, se),
        "lower_bound": np.where(nan, np.nan, lower),
        "upper_bound": np.where(nan, np.nan, upper),
        "variance_defined": defined & ~nan,
    }


def _check_counts(name: str, values) -> list[int]:
    out = [_check_int(f"{name}[{i}]", v, 0) for i, v in enumerate(values)]
    if not out:
        raise ValueError(f"{name} must hold at least one reviewed case")
    return out


def ratio_estimate(x, y, population: int | None, total: int, confidence: float = 0.90) -> dict:
    """Estimate how many of ``total`` counted SCRs are truly TCO-related, from reviewed cases.

    Why: the published TCO count trusts the automated determination; the analysts' review of a
    random sample of cases says how far to trust it. Cases are the sampling units, so the
    estimator is the case-level ratio estimator of a total (Cochran 1977, ch. 6):

        x_i  = the case's counted SCRs in the year;  y_i = x_i if the analysts say TCO, else 0
        R    = sum(y) / sum(x)
        Y^   = X * R                                 X = ``total``, the year's counted SCRs
        v(Y^) = N^2 (1 - n/N) / n * sum((y_i - R x_i)^2) / (n - 1)     (large sample)
        Y^ -/+ z sqrt(v),  lower floored, upper ceiled (outward, as :func:`project`),
        clipped to [sum(y), X - sum(x - y)]: at least the TCO SCRs the analysts saw, at most
        everything but the non-TCO SCRs they saw.

    with n = reviewed cases (a case without SCRs in the year counts in n with x = y = 0) and
    N = ``population``, the cases the sample was drawn from. The estimate is Y^ rounded half
    up. Edge cases (``note`` says which applied):

    - sum(x) = 0 (no reviewed case has an SCR in the year): R is undefined, so estimate,
      standard error and bounds are None.
    - n = 1 < N, or ``population`` None: the variance is undefined (n - 1 = 0, or no N); the
      estimate stands and the bounds are the whole range [sum(y), X - sum(x - y)].
    - n = N (every case reviewed): no sampling error, the bounds are the rounded estimate.

    Returns:
        dict with ``reviewed_cases, sum_x, sum_y, ratio, estimate, standard_error,
        lower_bound, upper_bound, confidence, method, note``.

    Raises:
        ValueError: counts negative or not whole, y_i > x_i, n > N, or X < sum(x).
    """
    xs, ys = _check_counts("x", x), _check_counts("y", y)
    if len(xs) != len(ys):
        raise ValueError(f"x and y must have one value per case: {len(xs)} and {len(ys)}")
    if any(b > a for a, b in zip(xs, ys, strict=True)):
        raise ValueError("y[i] (TCO SCRs of a case) cannot exceed x[i] (its counted SCRs)")
    n = len(xs)
    if population is not None:
        population = _check_int("population", population, 1)
        if n > population:
            raise ValueError(f"{n} reviewed cases cannot exceed the population ({population})")
    total = _check_int("total", total, 0)
    if total < sum(xs):
        raise ValueError(f"total ({total}) cannot be less than the sampled SCRs ({sum(xs)})")
    confidence = _check_open_unit("confidence", confidence, "e.g. 0.90 for 90%")
    res = ratio_bounds(xs, ys, np.nan if population is None else population, total, _z(confidence))
    nan = bool(np.isnan(res["ratio"]))

    def _int(key: str) -> int | None:
        return None if nan else int(res[key])

    return {
        "reviewed_cases": n,
        "sum_x": sum(xs),
        "sum_y": sum(ys),
        "ratio": None if nan else float(res["ratio"]),
        "estimate": _int("estimate"),
        "standard_error": float(res["standard_error"])
        if not nan and res["variance_defined"]
        else None,
        "lower_bound": _int("lower_bound"),
        "upper_bound": _int("upper_bound"),
        "confidence": confidence,
        "method": RATIO_METHOD,
        "note": NOTE_NO_SCRS if nan else None if res["variance_defined"] else NOTE_NO_VARIANCE,
    }
