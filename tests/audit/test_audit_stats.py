"""Tests for assets.audit.stats: the OIG's published figures, hand-worked numbers, brute-force
checks of the exact method, simulated coverage and property tests."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import hypergeom

from assets.audit.stats import METHODS, exact_bounds, project, sample_size

# The OIG audit: 258 of 5,016 cases sampled, 145 not TCO-related.
OIG_N, OIG_n, OIG_k = 5016, 258, 145

KEYS = {
    "population",
    "sample_size",
    "exceptions",
    "confidence",
    "method",
    "rate",
    "rate_lower",
    "rate_upper",
    "point_estimate",
    "lower_bound",
    "upper_bound",
}


# ------------------------------------------------------------------------------------------
# the OIG's numbers
# ------------------------------------------------------------------------------------------


def test_normal_reproduces_oig_projection_exactly():
    # Report p. 5 and footnote 12: 2,819 (56%), lower 2,564 (51%), upper 3,074 (61%).
    r = project(OIG_N, OIG_n, OIG_k, confidence=0.90, method="normal")
    assert set(r) == KEYS
    assert r["point_estimate"] == 2819
    assert r["lower_bound"] == 2564
    assert r["upper_bound"] == 3074
    assert round(100 * r["rate"]) == 56
    assert round(100 * r["rate_lower"]) == 51
    assert round(100 * r["rate_upper"]) == 61
    # "+/- 5 percent margin of error"
    assert round(100 * (r["rate_upper"] - r["rate"])) == 5


def test_normal_fpc_hand_computed():
    # p = 145/258 = 0.5620155;  p(1-p)/n = 0.2461568/258 = 0.00095410;  se = 0.0308883
    # fpc = sqrt((5016-258)/(5016-1)) = sqrt(4758/5015) = sqrt(0.948754) = 0.974040
    # z(90%) = 1.644854;  margin = 1.644854 * 0.0308883 * 0.974040 = 0.0494883
    # N * p = 2819.07;  N * margin = 248.23
    # lower = 2819.07 - 248.23 = 2570.84 -> floor 2570 (outward rounding)
    # upper = 2819.07 + 248.23 = 3067.30 -> ceil 3068
    r = project(OIG_N, OIG_n, OIG_k, method="normal-fpc")
    assert set(r) == KEYS
    assert (r["point_estimate"], r["lower_bound"], r["upper_bound"]) == (2819, 2570, 3068)
    assert r["rate_lower"] == pytest.approx(0.5620155 - 0.0494883, abs=1e-6)
    assert r["rate_upper"] == pytest.approx(0.5620155 + 0.0494883, abs=1e-6)


def test_exact_oig_inputs_match_linear_scan():
    # Straightforward scan over every possible D (vectorised), no bisection.
    alpha2 = (1 - 0.90) / 2
    d = np.arange(OIG_k, OIG_N - (OIG_n - OIG_k) + 1)
    upper_tail = hypergeom.sf(OIG_k - 1, OIG_N, d, OIG_n)  # P(X >= k | D)
    lower_tail = hypergeom.cdf(OIG_k, OIG_N, d, OIG_n)  # P(X <= k | D)
    lo = int(d[upper_tail > alpha2].min())
    hi = int(d[lower_tail > alpha2].max())
    r = project(OIG_N, OIG_n, OIG_k, method="exact")
    assert (r["lower_bound"], r["upper_bound"]) == (lo, hi) == (2560, 3073)
    assert r["point_estimate"] == 2819
    assert r["rate_lower"] == lo / OIG_N and r["rate_upper"] == hi / OIG_N


# ------------------------------------------------------------------------------------------
# exact method against an exact-arithmetic brute force
# ------------------------------------------------------------------------------------------


def _brute_exact(N: int, n: int, k: int, alpha2: Fraction) -> tuple[int, int]:
    """Bounds from hypergeometric pmfs summed by hand in exact rational arithmetic."""
    total = math.comb(N, n)

    def pmf(x: int, D: int) -> Fraction:
        return Fraction(math.comb(D, x) * math.comb(N - D, n - x), total)

    ge = {D: sum(pmf(x, D) for x in range(k, n + 1)) for D in range(N + 1)}
    le = {D: sum(pmf(x, D) for x in range(0, k + 1)) for D in range(N + 1)}
    lower = min(D for D in range(N + 1) if ge[D] > alpha2)
    upper = max(D for D in range(N + 1) if le[D] > alpha2)
    return lower, upper


def test_exact_matches_bruteforce_n60_k7():
    assert exact_bounds(60, 20, 7, 0.90) == _brute_exact(60, 20, 7, Fraction(1, 20))


@pytest.mark.parametrize("confidence, alpha2", [(0.80, Fraction(1, 10)), (0.95, Fraction(1, 40))])
def test_exact_matches_bruteforce_every_k(confidence, alpha2):
    for k in range(0, 21):
        assert exact_bounds(60, 20, k, confidence) == _brute_exact(60, 20, k, alpha2), k


# ------------------------------------------------------------------------------------------
# coverage
# ------------------------------------------------------------------------------------------

SIM_N, SIM_n, SIM_REPS = 500, 60, 2000
SIM_D = (5, 50, 150, 250, 400)


def _simulated_coverage(method: str, seed: int = 20230919) -> dict[int, float]:
    """Fraction of 2,000 seeded simple random samples whose interval contains the true D."""
    bounds = {
        k: (r["lower_bound"], r["upper_bound"])
        for k in range(SIM_n + 1)
        for r in [project(SIM_N, SIM_n, k, 0.90, method)]
    }
    rng = np.random.default_rng(seed)
    out = {}
    for D in SIM_D:
        ks = rng.hypergeometric(D, SIM_N - D, SIM_n, size=SIM_REPS)
        out[D] = float(np.mean([bounds[k][0] <= D <= bounds[k][1] for k in ks]))
    return out


def test_exact_simulated_coverage_at_least_nominal():
    cov = _simulated_coverage("exact")
    # seed 20230919 gives {5: 0.9865, 50: 0.924, 150: 0.9305, 250: 0.9235, 400: 0.939};
    # the normal method gives 0.4865 at D = 5 and 0.8625 at D = 50 (see next test).
    assert all(c >= 0.90 for c in cov.values()), cov


def test_normal_undercovers_when_rate_near_zero():
    # Why the exact method exists: at D = 5 of 500 (1%) the Wald interval misses often,
    # e.g. k = 0 gives the degenerate interval [0, 0].
    cov = _simulated_coverage("normal")
    assert cov[5] < 0.80, cov


@pytest.mark.parametrize("D", SIM_D)
def test_exact_true_coverage_at_least_nominal(D):
    # Exact coverage probability (no simulation noise): sum of P(X = k | D) over the k whose
    # interval contains D.
    cov = sum(
        hypergeom.pmf(k, SIM_N, D, SIM_n)
        for k in range(SIM_n + 1)
        if (b := exact_bounds(SIM_N, SIM_n, k, 0.90))[0] <= D <= b[1]
    )
    assert cov >= 0.90 - 1e-12


# ------------------------------------------------------------------------------------------
# sample size
# ------------------------------------------------------------------------------------------


def test_sample_size_oig():
    # 90% / +/-5% / p = 0.5: n0 = 1.644854^2 * 0.25 / 0.0025 = 270.55 -> 271 (no FPC);
    # with FPC, n = 271 / (1 + 270/5016) = 257.16 -> 258, the OIG's sample size.
    r = sample_size(OIG_N)
    assert r["n0"] == 271
    assert r["n"] == 258
    assert r["z"] == pytest.approx(1.644854, abs=1e-6)
    assert set(r) == {"population", "confidence", "precision", "expected_rate", "z", "n0", "n"}


def test_sample_size_95_percent():
    # 1.959964^2 * 0.25 / 0.0025 = 384.15 -> 385; 385 / (1 + 384/5016) = 357.63 -> 358
    r = sample_size(OIG_N, confidence=0.95)
    assert (r["n0"], r["n"]) == (385, 358)


def test_sample_size_census_for_tiny_population():
    assert sample_size(10)["n"] == 10
    assert sample_size(1)["n"] == 1


@settings(max_examples=200, deadline=None)
@given(
    N=st.integers(1, 10**6),
    c1=st.floats(0.5, 0.99),
    c2=st.floats(0.5, 0.99),
    e=st.floats(0.01, 0.2),
    p=st.floats(0.01, 0.99),
)
def test_sample_size_properties(N, c1, c2, e, p):
    lo_c, hi_c = sorted((c1, c2))
    a = sample_size(N, lo_c, e, p)
    b = sample_size(N, hi_c, e, p)
    assert 1 <= a["n"] <= min(a["n0"], N)
    assert a["n"] <= b["n"] and a["n0"] <= b["n0"]  # more confidence, more cases
    assert sample_size(N, lo_c, e / 2, p)["n"] >= a["n"]  # more precision, more cases
    assert sample_size(N, lo_c, e, 0.5)["n0"] >= a["n0"]  # p = 0.5 is the worst case


# ------------------------------------------------------------------------------------------
# projection properties
# ------------------------------------------------------------------------------------------


@st.composite
def _designs(draw):
    N = draw(st.integers(1, 3000))
    n = draw(st.integers(1, N))
    k = draw(st.integers(0, n))
    return N, n, k


@settings(max_examples=150, deadline=None)
@given(
    design=_designs(),
    method=st.sampled_from(METHODS),
    c1=st.floats(0.5, 0.995),
    c2=st.floats(0.5, 0.995),
)
def test_projection_properties(design, method, c1, c2):
    N, n, k = design
    lo_c, hi_c = sorted((c1, c2))
    a = project(N, n, k, lo_c, method)
    b = project(N, n, k, hi_c, method)
    for r in (a, b):
        assert set(r) == KEYS
        assert k <= r["lower_bound"] <= r["point_estimate"] <= r["upper_bound"] <= N - (n - k)
        assert 0 <= r["rate_lower"] <= r["rate"] <= r["rate_upper"] <= 1
    # wider (or equal) at higher confidence
    assert b["lower_bound"] <= a["lower_bound"] and a["upper_bound"] <= b["upper_bound"]
    assert b["rate_lower"] <= a["rate_lower"] and a["rate_upper"] <= b["rate_upper"]


@settings(max_examples=100, deadline=None)
@given(design=_designs())
def test_fpc_never_wider_than_normal(design):
    N, n, k = design
    a = project(N, n, k, method="normal")
    b = project(N, n, k, method="normal-fpc")
    assert a["lower_bound"] <= b["lower_bound"] and b["upper_bound"] <= a["upper_bound"]


def test_census_is_exact():
    # Sampling everything leaves no uncertainty, whatever the method.
    for m in METHODS:
        r = project(100, 100, 37, method=m)
        assert (r["lower_bound"], r["point_estimate"], r["upper_bound"]) == (37, 37, 37), m


def test_zero_exceptions_exact_gives_useful_upper_bound():
    normal = project(5016, 258, 0, method="normal")
    exact = project(5016, 258, 0, method="exact")
    assert (normal["lower_bound"], normal["upper_bound"]) == (0, 0)  # Wald collapses
    assert exact["lower_bound"] == 0 and exact["upper_bound"] > 0


# ------------------------------------------------------------------------------------------
# input validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((100, 200, 5), {}, "sample_size .200. cannot exceed population .100."),
        ((100, 20, 25), {}, "exceptions .25. cannot exceed sample_size .20."),
        ((100, 20, -1), {}, "exceptions must be at least 0"),
        ((0, 0, 0), {}, "population must be at least 1"),
        ((100, 0, 0), {}, "sample_size must be at least 1"),
        ((100, 20.5, 5), {}, "sample_size must be a whole number"),
        ((100, 20, 5), {"confidence": 90}, "confidence must be a fraction strictly between"),
        ((100, 20, 5), {"confidence": 1.0}, "confidence must be a fraction strictly between"),
        ((100, 20, 5), {"confidence": float("nan")}, "confidence must be a fraction"),
        ((100, 20, 5), {"method": "wilson"}, "method must be one of normal, normal-fpc, exact"),
    ],
)
def test_project_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        project(*args, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"population": 0}, "population must be at least 1"),
        ({"population": 100, "confidence": 0}, "confidence must be a fraction"),
        ({"population": 100, "precision": 5}, "precision must be a fraction"),
        ({"population": 100, "expected_rate": 1.0}, "expected_rate must be a fraction"),
    ],
)
def test_sample_size_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_size(**kwargs)


# ------------------------------------------------------------------------------------------
# exact values at the edges (each pins one step of the arithmetic; worked by hand)
# ------------------------------------------------------------------------------------------


def test_project_defaults_to_the_normal_method():
    r = project(OIG_N, OIG_n, OIG_k)
    assert r["method"] == "normal"
    assert (r["point_estimate"], r["lower_bound"], r["upper_bound"]) == (2819, 2564, 3074)


def test_point_estimate_rounds_a_half_up():
    # 10 * 1/4 = 2.5 exactly: half up is 3 (round() would give 2)
    assert project(10, 4, 1)["point_estimate"] == 3


def test_every_exception_sampled_gives_a_point_interval():
    # k = n: p = 1, se = 0, so N * (1 -/+ 0) = 100 both ways; lower is floored from exactly 100
    r = project(100, 20, 20)
    assert (r["point_estimate"], r["lower_bound"], r["upper_bound"]) == (100, 100, 100)
    assert (r["rate_lower"], r["rate_upper"]) == (1.0, 1.0)


def test_rate_upper_is_clipped_to_what_the_sample_allows():
    # N = 10, n = 9, k = 8: p = 8/9, se = sqrt(8/9 * 1/9 / 9) = 0.1048, margin = 1.6449 * 0.1048
    # = 0.1724, p + margin = 1.061; at most 10 - (9 - 8) = 9 of 10 units can be exceptions, so
    # the rate's upper bound is 9/10 and the count's 9
    r = project(10, 9, 8)
    assert r["rate_upper"] == pytest.approx(0.9, abs=1e-12)
    assert r["upper_bound"] == 9


def test_sample_size_finite_population_correction_by_hand():
    # n0 = 271 (as for the OIG); n = 271 / (1 + 270/100) = 271 / 3.7 = 73.24 -> 74
    assert sample_size(100)["n"] == 74


def test_sample_size_n0_that_is_a_whole_number_is_not_rounded_up():
    # e = z * 0.5 / 10 makes n0 = z^2 * 0.25 / e^2 = 100 exactly (up to float fuzz): 100, not 101
    from assets.audit.stats import _z

    r = sample_size(10**9, precision=_z(0.90) * 0.5 / 10)
    assert r["n0"] == 100
    assert r["n"] == 100  # 100 / (1 + 99/10^9) = 99.99999 -> 100


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (
            (100, 200, 5),
            {},
            "sample_size (200) cannot exceed population (100): the sample is drawn from the "
            "population",
        ),
        (
            (100, 20, 25),
            {},
            "exceptions (25) cannot exceed sample_size (20): exceptions are counted among the "
            "sampled units",
        ),
        (
            (100, 20, 5),
            {"confidence": 1.5},
            "confidence must be a fraction strictly between 0 and 1 (e.g. 0.90 for 90%), got 1.5",
        ),
    ],
)
def test_project_error_messages_in_full(args, kwargs, message):
    with pytest.raises(ValueError) as err:
        project(*args, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"population": 100, "confidence": 0},
            "confidence must be a fraction strictly between 0 and 1 (e.g. 0.90 for 90%), got 0",
        ),
        (
            {"population": 100, "precision": 5},
            "precision must be a fraction strictly between 0 and 1 (e.g. 0.05 for +/- 5 "
            "percentage points), got 5",
        ),
        (
            {"population": 100, "expected_rate": 1.0},
            "expected_rate must be a fraction strictly between 0 and 1 (use 0.5 if unknown, it "
            "gives the largest sample), got 1.0",
        ),
    ],
)
def test_sample_size_error_messages_in_full(kwargs, message):
    with pytest.raises(ValueError) as err:
        sample_size(**kwargs)
    assert str(err.value) == message


def test_exact_bounds_exclude_a_tail_of_exactly_alpha_half():
    # one unit drawn from N = 4 at 50% confidence (alpha/2 = 0.25); P(X = 1 | D) = D/4.
    # k = 1: lower = smallest D with P(X >= 1) = D/4 > 0.25, i.e. 2 (D = 1 gives exactly 0.25);
    # every D up to d_max = 4 has P(X <= 1) = 1, so upper = 4.
    assert exact_bounds(4, 1, 1, 0.5) == (2, 4)
    # k = 0: P(X <= 0) = (4 - D)/4 > 0.25 for D <= 2 (D = 3 gives exactly 0.25); lower = k = 0
    assert exact_bounds(4, 1, 0, 0.5) == (0, 2)


def test_a_number_written_as_text_is_refused():
    with pytest.raises(ValueError) as err:
        sample_size(100, confidence="0.9")
    assert str(err.value) == (
        "confidence must be a fraction strictly between 0 and 1 (e.g. 0.90 for 90%), got '0.9'"
    )


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_z_is_scipys_normal_quantile(confidence):
    """The stdlib quantile the statistics use equals scipy's norm.ppf to a few units in the last place."""
    from scipy.stats import norm

    from assets.audit.stats import _z

    expected = float(norm.ppf(1 - (1 - confidence) / 2))
    assert _z(confidence) == pytest.approx(expected, rel=0, abs=1e-15)
