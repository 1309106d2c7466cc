"""The case-level ratio estimator (assets.audit.stats.ratio_estimate / ratio_bounds): numbers
worked by hand, the documented edge cases, a coverage simulation with a fixed seed, and
hypothesis properties of the bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.audit.stats import (
    NOTE_NO_SCRS,
    NOTE_NO_VARIANCE,
    _z,
    ratio_bounds,
    ratio_estimate,
)

Z90 = 1.6448536269514722


def test_hand_worked_interval_not_clipped():
    """x = (2,1,1,3,1,2,1,1,2,1), y = (2,0,1,3,0,0,1,0,2,0): sum x = 15, sum y = 9, R = 0.6;
    N = 100 cases, X = 150 SCRs: estimate 150 * 0.6 = 90.
    y - R x = (0.8, -0.6, 0.4, 1.2, -0.6, -1.2, 0.4, -0.6, 0.8, -0.6); squares
    .64+.36+.16+1.44+.36+1.44+.16+.36+.64+.36 = 5.92; s^2 = 5.92 / 9 = 0.65778.
    v = 100^2 (1 - 10/100) / 10 * 0.65778 = 900 * 0.65778 = 592.0; se = sqrt(592) = 24.3311.
    margin = 1.64485 * 24.3311 = 40.0210: 49.979 .. 130.021 -> floor 49, ceil 131; inside
    [sum y, X - sum(x - y)] = [9, 144], so not clipped."""
    x, y = [2, 1, 1, 3, 1, 2, 1, 1, 2, 1], [2, 0, 1, 3, 0, 0, 1, 0, 2, 0]
    r = ratio_estimate(x, y, population=100, total=150, confidence=0.90)
    assert r["ratio"] == pytest.approx(0.6)
    assert r["standard_error"] == pytest.approx(592**0.5)
    assert (r["estimate"], r["lower_bound"], r["upper_bound"]) == (90, 49, 131)
    assert (r["reviewed_cases"], r["sum_x"], r["sum_y"], r["note"]) == (10, 15, 9, None)
    assert (r["confidence"], r["method"]) == (0.90, "ratio")


def test_hand_worked_clipped_and_half_up():
    """x = (3,2,1,2), y = (3,0,1,0), N = 6, X = 11: R = 0.5, X R = 5.5 -> 6 (half up, not to
    even); v = 36 (1 - 4/6)/4 * (2.25+1+0.25+1)/3 = 4.5; 5.5 -/+ 1.6449 * 2.1213 = 2.01 .. 8.99
    -> 2 .. 9, clipped to [4, 11 - 4] = [4, 7]."""
    r = ratio_estimate([3, 2, 1, 2], [3, 0, 1, 0], population=6, total=11)
    assert (r["estimate"], r["lower_bound"], r["upper_bound"]) == (6, 4, 7)
    assert r["standard_error"] == pytest.approx(4.5**0.5)


def test_z_is_the_projection_z():
    assert _z(0.90) == pytest.approx(Z90, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "population", "total", "expected"),
    [
        # sum(x) = 0: no ratio, no estimate, no bounds
        ([0, 0, 0], [0, 0, 0], 10, 40, (None, None, None, NOTE_NO_SCRS)),
        # n = 1 < N: variance undefined; estimate 40 * 2/2 = 40, bounds the range [2, 40 - 0]
        ([2], [2], 50, 40, (40, 2, 40, NOTE_NO_VARIANCE)),
        # population not recorded: same rule; estimate 10 * 1/3 = 3.33 -> 3, range [1, 10 - 2]
        ([1, 2], [1, 0], None, 10, (3, 1, 8, NOTE_NO_VARIANCE)),
        # census (n = N): no sampling error; 3 * 2/3 = 2 exactly
        ([2, 1], [2, 0], 2, 3, (2, 2, 2, None)),
        # every reviewed SCR TCO: R = 1, the interval collapses onto X (residuals all 0)
        ([1, 2, 1], [1, 2, 1], 30, 50, (50, 50, 50, None)),
    ],
)
def test_edge_cases(x, y, population, total, expected):
    r = ratio_estimate(x, y, population, total)
    assert (r["estimate"], r["lower_bound"], r["upper_bound"], r["note"]) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1, 2], [1]), "one value per case"),
        (([1, 2], [2, 0]), "cannot exceed x"),
        (([1, -1], [0, 0]), "at least 0"),
        (([], []), "at least one reviewed case"),
    ],
)
def test_bad_inputs_say_what_is_wrong(args, message):
    with pytest.raises(ValueError, match=message):
        ratio_estimate(*args, population=10, total=10)


def test_counts_inconsistent_with_the_population_or_total_are_refused():
    with pytest.raises(ValueError, match="cannot exceed the population"):
        ratio_estimate([1, 1, 1], [1, 1, 1], population=2, total=10)
    with pytest.raises(ValueError, match="cannot be less than the sampled SCRs"):
        ratio_estimate([5, 5], [5, 5], population=10, total=9)


def test_simulated_coverage_of_the_90_percent_interval_is_86_to_94_percent():
    """A synthetic population with known truth: 3,000 cases with 1 + Poisson(1.2) counted SCRs
    each; a case is truly TCO with probability 0.85 (0.6 for cases with one SCR, so the ratio
    varies with x). 4,000 simple random samples of 150 cases without replacement (fixed seed):
    the share of intervals holding the true number of TCO SCRs must lie in 86-94%."""
    rng = np.random.default_rng(20261204)
    big_n, n, reps = 3000, 150, 4000
    x = 1 + rng.poisson(1.2, big_n)
    tco = rng.random(big_n) < np.where(x == 1, 0.6, 0.85)
    y = np.where(tco, x, 0)
    truth, total = int(y.sum()), int(x.sum())
    picks = np.argpartition(rng.random((reps, big_n)), n, axis=1)[:, :n]
    res = ratio_bounds(x[picks], y[picks], big_n, total, Z90)
    covered = (res["lower_bound"] <= truth) & (truth <= res["upper_bound"])
    coverage = float(covered.mean())
    print(f"coverage {coverage:.4f} over {reps} samples; truth {truth} of {total}")
    assert 0.86 <= coverage <= 0.94
    assert round(coverage, 3) == 0.888  # the figure docs/audit-statistics.md quotes
    # and the interval is informative, not the whole clip range
    assert float(np.median(res["upper_bound"] - res["lower_bound"])) < 0.2 * total


def test_vectorised_core_equals_the_checked_function_row_by_row():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, (50, 12))
    y = np.where(rng.random((50, 12)) < 0.7, x, 0)
    res = ratio_bounds(x, y, 200, 400, Z90)
    for i in range(50):
        one = ratio_estimate(x[i].tolist(), y[i].tolist(), 200, 400)
        assert one["lower_bound"] == res["lower_bound"][i]
        assert one["upper_bound"] == res["upper_bound"][i]
        assert one["estimate"] == res["estimate"][i]


cases = st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=30).map(
    lambda rows: ([a for a, _ in rows], [a if t else 0 for a, t in rows])
)


@settings(max_examples=200, deadline=None)
@given(cases, st.integers(0, 500), st.integers(0, 300))
def test_bounds_hold_what_the_reviews_prove(xy, extra_cases, extra_scrs):
    """lower <= estimate <= upper, inside [sum y, X - sum(x - y)], for any data."""
    x, y = xy
    population, total = len(x) + extra_cases, sum(x) + extra_scrs
    r = ratio_estimate(x, y, population, total)
    if sum(x) == 0:
        assert r["estimate"] is None and r["lower_bound"] is None
        return
    lo, hi = sum(y), total - (sum(x) - sum(y))
    assert lo <= r["lower_bound"] <= r["estimate"] <= r["upper_bound"] <= hi
