"""Stratified attribute sampling for validating one fiscal year's published count (issue 29).

Why: a simple random sample of *cases* over several years (the inspector general's design)
answers "what share of cases is not TCO"; the published measure asks "how many of this year's
counted disruption/dismantlement SCRs are TCO-related". Stratifying those SCRs by their automated
determination (whose TCO rates differ sharply) and criminal category, and allocating the sample
by Neyman, gives a far narrower interval for the same reviewing effort. Everything here is pure
arithmetic, shared by ``audit plan``, ``audit draw --design stratified``, ``audit project
--method stratified``, the ``measure_estimates`` asset and the simulation test.

- :func:`appraise` is RAT-STATS 2010's *stratified attribute appraisal*, exactly (DOMAIN.md):
  p_h = x_h/n_h, SE_h^2 = (N_h - n_h)/N_h * p_h(1 - p_h)/(n_h - 1), total sum N_h p_h,
  precision z sqrt(sum (N_h/N)^2 SE_h^2), limits N (p -/+ precision) rounded to the nearest
  integer (halves up), a negative lower limit set to 0.
- :func:`estimate_bounds` is the same formula for the published count with two documented
  changes: a stratum whose sampled SCRs all got the same verdict gets the variance of the
  Jeffreys-adjusted rate (x + 1/2)/(n + 1) instead of zero, and the limits are clipped to what
  the reviews prove (docs/audit-statistics.md, "Stratified estimate").
- :func:`merge_strata`, :func:`allocate` and :func:`plan` design the sample.

Reference: W. G. Cochran, *Sampling Techniques*, 3rd ed., 1977, ch. 5 (stratified random
sampling, Neyman allocation 5.5, sample size for a given variance 5.9) and ch. 5A (domains).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from assets.audit.stats import _EPS, _check_int, _check_open_unit, _round_half_up, _z

METHOD = "stratified"
DETERMINATIONS = ("TCO", "NON_TCO", "UNDETERMINED")
MIN_STRATUM_POPULATION = 30
"""A determination x category stratum with fewer counted SCRs joins "<determination> / other
categories" (and that one, if still smaller, stays a stratum: it is then sampled whole or
nearly so by the minimum per stratum)."""
OTHER = "other categories"
MIN_PER_STRATUM = 10
"""The minimum sample per stratum (capped at N_h): fewer gives no usable variance estimate."""
DEFAULT_RATES = {"TCO": 0.80, "NON_TCO": 0.20, "UNDETERMINED": 0.50}
"""Anticipated TCO rates when no reviewed sample exists: more cautious (nearer 0.5, so larger
samples) than the roughly 90% / 5% the analysts' reviews have shown so far."""
JEFFREYS = 0.5  # pseudo-count added to exceptions and to non-exceptions of a one-verdict stratum


# --------------------------------------------------------------------------------------------
# RAT-STATS stratified attribute appraisal
# --------------------------------------------------------------------------------------------


def _check_strata(strata: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    if not strata:
        raise ValueError("give at least one stratum (POPULATION,SAMPLE,EXCEPTIONS)")
    out = []
    for i, s in enumerate(strata, start=1):
        if len(s) != 3:
            raise ValueError(f"stratum {i}: expected POPULATION,SAMPLE,EXCEPTIONS, got {s!r}")
        big_n = _check_int(f"stratum {i} population", s[0], 1)
        n = _check_int(f"stratum {i} sample size", s[1], 1)
        x = _check_int(f"stratum {i} exceptions", s[2], 0)
        if n > big_n:
            raise ValueError(f"stratum {i}: sample size {n} exceeds its population {big_n}")
        if x > n:
            raise ValueError(f"stratum {i}: exceptions {x} exceed its sample size {n}")
        if n == 1 and big_n > 1:
            raise ValueError(
                f"stratum {i}: a sample of 1 from {big_n} has no variance estimate "
                "(n_h - 1 = 0); sample at least 2 or the whole stratum"
            )
        out.append((big_n, n, x))
    return out


def _se2(big_n: float, n: float, p: float) -> float:
    """RAT-STATS' SE_h^2 of a stratum rate; 0 for a census (and for n = N = 1)."""
    return 0.0 if n >= big_n else (big_n - n) / big_n * p * (1.0 - p) / (n - 1)


def appraise(strata: Sequence[Sequence[int]], confidence: float = 0.90) -> dict:
    """RAT-STATS' stratified attribute appraisal of (N_h, n_h, x_h) per stratum.

    Why: an auditor re-running our figures in RAT-STATS must get the same numbers, so this is
    its formula and rounding, nothing of ours. Returns the contract's JSON keys: ``population,
    sample_size, exceptions, confidence, method, rate, rate_lower, rate_upper, point_estimate,
    lower_bound, upper_bound, precision`` (the half-width as a fraction of N) and ``strata``
    (``population, sample_size, exceptions, rate, precision, point_estimate, lower_bound,
    upper_bound`` each, the stratum appraised on its own by the same rules).
    """
    rows = _check_strata(strata)
    confidence = _check_open_unit("confidence", confidence, "e.g. 0.90 for 90%")
    z = _z(confidence)
    big_n = sum(r[0] for r in rows)
    per, weighted = [], 0.0
    for nh_pop, nh, xh in rows:
        p = xh / nh
        se2 = _se2(nh_pop, nh, p)
        weighted += (nh_pop / big_n) ** 2 * se2
        per.append(_limits(nh_pop, nh, xh, p, z * math.sqrt(se2)))
    rate = sum(r[0] * (r[2] / r[1]) for r in rows) / big_n
    out = _limits(big_n, sum(r[1] for r in rows), sum(r[2] for r in rows), rate,
                  z * math.sqrt(weighted))  # fmt: skip
    return (
        out
        | {"confidence": confidence, "method": METHOD, "strata": per}
        | {k: out[k] for k in ("population", "sample_size", "exceptions")}
    )


def _limits(big_n: int, n: int, x: int, rate: float, precision: float) -> dict:
    """Point and limits of a count as RAT-STATS rounds them: nearest integer, halves up, a
    negative lower limit 0 (the upper limit is not capped at N, as RAT-STATS)."""
    return {
        "population": big_n,
        "sample_size": n,
        "exceptions": x,
        "rate": rate,
        "rate_lower": max(rate - precision, 0.0),
        "rate_upper": rate + precision,
        "point_estimate": _round_half_up(big_n * rate),
        "lower_bound": max(_round_half_up(big_n * (rate - precision)), 0),
        "upper_bound": _round_half_up(big_n * (rate + precision)),
        "precision": precision,
    }


# --------------------------------------------------------------------------------------------
# the published count's estimate: RAT-STATS' formula, no zero variance, clipped to the proven
# --------------------------------------------------------------------------------------------


def variance_rate(x, n):
    """The rate whose p(1-p) stands in a stratum's variance: x/n, or the Jeffreys-adjusted
    (x + 1/2)/(n + 1) when every sampled SCR got the same verdict (x = 0 or x = n), so a
    one-verdict stratum never claims certainty it does not have."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        edge = (x == 0) | (x == n)
        return np.where(edge, (x + JEFFREYS) / (n + 2 * JEFFREYS), x / n)


def estimate_bounds(big_n, n, x, z: float, proven_low=None, proven_high=None) -> dict:
    """Estimate of a total from stratified samples, vectorised over every axis but the last
    (strata). Per stratum N_h p_h; variance sum N_h (N_h - n_h) q_h (1 - q_h) / (n_h - 1) with
    q_h = :func:`variance_rate`; a stratum with n_h = 1 < N_h makes the variance undefined (the
    bounds are then the proven range). Limits rounded as RAT-STATS (nearest, halves up), then
    clipped to [proven_low, proven_high] (what the reviews prove; default [0, sum N_h]); the
    estimate is clipped too. Inputs assumed valid (n_h >= 1)."""
    big_n, n, x = (np.asarray(a, dtype=float) for a in (big_n, n, x))
    total = (big_n * x / n).sum(axis=-1)
    q = variance_rate(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        census = n >= big_n
        var_h = np.where(census, 0.0, big_n * (big_n - n) * q * (1 - q) / (n - 1))
    var = var_h.sum(axis=-1)
    se = np.sqrt(var)
    lo = np.zeros_like(total) if proven_low is None else np.asarray(proven_low, dtype=float)
    hi = big_n.sum(axis=-1) if proven_high is None else np.asarray(proven_high, dtype=float)
    defined = np.isfinite(se)
    margin = np.where(defined, z * se, np.inf)
    lower = np.clip(np.floor(total - margin + 0.5 + _EPS), lo, hi)
    upper = np.clip(np.floor(total + margin + 0.5 + _EPS), lo, hi)
    estimate = np.clip(np.floor(total + 0.5 + _EPS), lo, hi)
    return {
        "total": total,
        "estimate": estimate,
        "standard_error": np.where(defined, se, np.nan),
        "lower_bound": lower,
        "upper_bound": upper,
        "variance_defined": defined,
    }


# --------------------------------------------------------------------------------------------
# design: strata, Neyman allocation, total size for a target half-width
# --------------------------------------------------------------------------------------------


def stratum_name(determination: str, category: str) -> str:
    return f"{determination} / {category}"


def merge_strata(
    counts: Mapping[tuple[str, str], int], minimum: int = MIN_STRATUM_POPULATION
) -> dict[tuple[str, str], str]:
    """(determination, category) -> stratum name: a cell with fewer than ``minimum`` counted SCRs
    joins "<determination> / other categories"; a merged group of one cell keeps its own name."""
    out: dict[tuple[str, str], str] = {}
    small: dict[str, list[tuple[str, str]]] = {}
    for key, size in counts.items():
        if size >= minimum:
            out[key] = stratum_name(*key)
        else:
            small.setdefault(key[0], []).append(key)
    for det, keys in small.items():
        name = stratum_name(det, OTHER) if len(keys) > 1 else stratum_name(*keys[0])
        out |= dict.fromkeys(keys, name)
    return out


def allocate(populations: Sequence[int], rates: Sequence[float], total: int,
             minimum: int = MIN_PER_STRATUM) -> list[int]:  # fmt: skip
    """Neyman allocation n_h proportional to N_h S_h, S_h = sqrt(P_h (1 - P_h)), of ``total``,
    each stratum at least min(minimum, N_h) and at most N_h; whole numbers by largest remainder.
    A stratum pinned at its floor or cap is removed and the rest re-allocated (Cochran 5.5)."""
    pops = [int(p) for p in populations]
    total = min(int(total), sum(pops))
    weights = [p * math.sqrt(r * (1 - r)) for p, r in zip(pops, rates, strict=True)]
    fixed: dict[int, int] = {}
    while True:
        free = [h for h in range(len(pops)) if h not in fixed]
        budget = total - sum(fixed.values())
        w = sum(weights[h] for h in free) or float(sum(pops[h] for h in free)) or 1.0
        share = {h: budget * (weights[h] if sum(weights[k] for k in free) else pops[h]) / w
                 for h in free}  # fmt: skip
        over = [h for h in free if share[h] > pops[h]]
        under = [h for h in free if share[h] < min(minimum, pops[h])]
        if not over and not under:
            break
        fixed |= {h: pops[h] for h in over} or {h: min(minimum, pops[h]) for h in under}
    sizes = dict(fixed) | {h: math.floor(share[h] + _EPS) for h in free}
    left = total - sum(sizes.values())
    for h in sorted(free, key=lambda h: (share[h] - sizes[h], -h), reverse=True)[: max(left, 0)]:
        sizes[h] += 1
    return [sizes[h] for h in range(len(pops))]


def half_width(populations, rates, sizes, z: float) -> float:
    """Expected half-width (in SCRs) of the estimate: z sqrt(sum N_h (N_h-n_h) P_h(1-P_h)/(n_h-1))."""
    var = 0.0
    for big_n, p, n in zip(populations, rates, sizes, strict=True):
        if n < big_n:
            var += math.inf if n < 2 else big_n * (big_n - n) * p * (1 - p) / (n - 1)
    return z * math.sqrt(var)


def plan(populations: Sequence[int], rates: Sequence[float], target: float,
         confidence: float = 0.90, minimum: int = MIN_PER_STRATUM,
         size: int | None = None) -> dict:  # fmt: skip
    """The smallest total n whose Neyman allocation gives an expected half-width <= ``target``
    SCRs (or the allocation of ``size`` when given). Returns ``sample_size, sizes,
    expected_half_width, expected_total`` (sum N_h P_h) and ``target``."""
    z = _z(_check_open_unit("confidence", confidence, "e.g. 0.90 for 90%"))
    pops, big_n = list(populations), sum(populations)
    floor = sum(min(minimum, p) for p in pops)
    if size is not None:
        n = min(max(size, floor), big_n)
    else:
        n = floor
        while n < big_n and half_width(pops, rates, allocate(pops, rates, n, minimum), z) > target:
            n += max(1, (big_n - n) // 64) if n < big_n // 2 else 1
        while (
            n > floor
            and half_width(pops, rates, allocate(pops, rates, n - 1, minimum), z) <= target
        ):
            n -= 1  # the coarse steps above may overshoot: back to the smallest that meets it
    sizes = allocate(pops, rates, n, minimum)
    return {
        "sample_size": sum(sizes),
        "sizes": sizes,
        "expected_half_width": half_width(pops, rates, sizes, z),
        "expected_total": sum(p * r for p, r in zip(pops, rates, strict=True)),
        "target": target,
        "confidence": confidence,
    }
