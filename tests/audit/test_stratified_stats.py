"""assets.audit.stratified: RAT-STATS' stratified attribute appraisal to the unit on a hand-worked
example, the rounding, the design (merge rule, Neyman allocation, size for a half-width), the
zero-variance rule, and a seeded simulation of coverage and width against today's case design.

RAT-STATS' own published stratified example (Companion Manual, p. 2-6) could not be read from
here (only its table of contents is reachable), so the example is worked by hand below and in
docs/audit-statistics.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.audit.stats import _z, ratio_bounds
from assets.audit.stratified import (
    MIN_PER_STRATUM,
    allocate,
    appraise,
    estimate_bounds,
    half_width,
    merge_strata,
    plan,
    variance_rate,
)

Z90 = 1.644853626951

# Hand-worked (docs/audit-statistics.md): strata (N, n, x)
#   1: 1000, 50,  5  p = 0.1  SE^2 = 950/1000 * 0.09/49 = 0.0017448980
#   2:  500, 40, 20  p = 0.5  SE^2 = 460/500 * 0.25/39  = 0.0058974359
#   3:  200, 30, 27  p = 0.9  SE^2 = 170/200 * 0.09/29  = 0.0026379310
# N = 1700; sum (N_h/N)^2 SE_h^2 = 0.0011504369; precision = 1.644853627 * 0.0339181 = 0.0557904
# total = 100 + 250 + 180 = 530, p = 0.3117647; limits 1700 * (p -/+ precision) = 435.16, 624.84
HAND = [(1000, 50, 5), (500, 40, 20), (200, 30, 27)]


def test_hand_worked_example_to_the_unit():
    res = appraise(HAND, 0.90)
    assert (res["point_estimate"], res["lower_bound"], res["upper_bound"]) == (530, 435, 625)
    assert res["population"] == 1700 and res["sample_size"] == 120 and res["exceptions"] == 52
    assert res["precision"] == pytest.approx(0.0557904, abs=5e-7)
    assert res["rate"] == pytest.approx(530 / 1700)
    assert res["rate_lower"] == pytest.approx(530 / 1700 - 0.0557904, abs=5e-7)
    assert [s["precision"] for s in res["strata"]] == pytest.approx(
        [
            Z90 * math.sqrt(0.0017448980),
            Z90 * math.sqrt(0.0058974359),
            Z90 * math.sqrt(0.0026379310),
        ],
        abs=1e-8,
    )
    # each stratum alone: 1000 * (0.1 -/+ 0.0687088) = 31.29, 168.71
    assert (res["strata"][0]["lower_bound"], res["strata"][0]["upper_bound"]) == (31, 169)
    assert res["method"] == "stratified" and res["confidence"] == 0.9


def test_z_is_ratstats_z():
    assert _z(0.90) == pytest.approx(Z90, abs=1e-12)
    assert _z(0.95) == pytest.approx(1.959963984540, abs=1e-12)
    assert _z(0.80) == pytest.approx(1.281551565545, abs=1e-12)


def test_limits_round_to_nearest_halves_up_and_negative_lower_is_zero():
    # N = 10, n = 2, x = 1: p = 0.5, SE^2 = 8/10 * 0.25 / 1 = 0.2, precision = 0.7356 -> 10 * (-0.2356) < 0
    res = appraise([(10, 2, 1)])
    assert res["lower_bound"] == 0 and res["rate_lower"] == 0.0
    assert res["upper_bound"] == round(10 * (0.5 + Z90 * math.sqrt(0.2)))  # 12.36 -> 12: not capped
    # 4.5 rounds up to 5 (not to even): N = 9, census, x/n = 1/2
    assert appraise([(9, 9, 4), (1, 1, 1)])["point_estimate"] == 5


def test_census_stratum_adds_no_variance():
    with_census = appraise([(1000, 50, 5), (40, 40, 13)])
    assert with_census["strata"][1]["precision"] == 0.0
    alone = appraise([(1000, 50, 5)])
    assert with_census["precision"] * 1040 == pytest.approx(alone["precision"] * 1000)


@pytest.mark.parametrize(
    "strata, message",
    [
        ([], "at least one stratum"),
        ([(10, 11, 1)], "exceeds its population"),
        ([(10, 5, 6)], "exceed its sample size"),
        ([(10, 1, 0)], "sample of 1"),
        ([(10, 2)], "POPULATION,SAMPLE,EXCEPTIONS"),
    ],
)
def test_bad_strata_are_refused_with_a_message(strata, message):
    with pytest.raises(ValueError, match=message):
        appraise(strata)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(2, 400), st.integers(2, 60), st.floats(0, 1)), min_size=1, max_size=6
    )
)
def test_properties_of_the_appraisal(raw):
    strata = [(big_n, min(n, big_n), math.floor(f * min(n, big_n))) for big_n, n, f in raw]
    res = appraise(strata)
    assert res["lower_bound"] <= res["point_estimate"] <= res["upper_bound"]
    assert res["lower_bound"] >= 0
    assert res["point_estimate"] == math.floor(sum(N * x / n for N, n, x in strata) + 0.5 + 1e-9)
    # one stratum: the unrestricted formula with the finite population correction
    one = appraise(strata[:1])
    N, n, x = strata[0]
    p = x / n
    se2 = 0.0 if n == N else (N - n) / N * p * (1 - p) / (n - 1)
    assert one["precision"] == pytest.approx(Z90 * math.sqrt(se2), abs=1e-12)


def test_one_verdict_stratum_does_not_give_zero_variance():
    assert variance_rate(10, 10) == pytest.approx(10.5 / 11)
    assert variance_rate(0, 10) == pytest.approx(0.5 / 11)
    assert variance_rate(3, 10) == pytest.approx(0.3)
    res = estimate_bounds([500, 300], [20, 20], [20, 0], Z90)
    # q = 20.5/21 and 0.5/21: var = 500*480*q(1-q)/19 + 300*280*q(1-q)/19
    q = 20.5 / 21
    var = (500 * 480 + 300 * 280) * q * (1 - q) / 19
    assert res["standard_error"] == pytest.approx(math.sqrt(var))
    assert res["estimate"] == 500
    assert (res["lower_bound"], res["upper_bound"]) == (
        math.floor(500 - Z90 * math.sqrt(var) + 0.5),
        math.floor(500 + Z90 * math.sqrt(var) + 0.5),
    )


def test_estimate_is_clipped_to_what_reviews_prove():
    res = estimate_bounds([100], [10], [5], Z90, proven_low=40, proven_high=55)
    assert (res["estimate"], res["lower_bound"], res["upper_bound"]) == (50, 40, 55)
    undefined = estimate_bounds([100, 50], [1, 10], [1, 5], Z90, proven_low=6, proven_high=144)
    assert (undefined["lower_bound"], undefined["upper_bound"]) == (6, 144)
    assert not undefined["variance_defined"]


def test_merge_rule():
    counts = {("TCO", "A"): 100, ("TCO", "B"): 29, ("TCO", "C"): 3, ("NON_TCO", "A"): 12,
              ("UNDETERMINED", "A"): 30}  # fmt: skip
    assert merge_strata(counts) == {
        ("TCO", "A"): "TCO / A",
        ("TCO", "B"): "TCO / other categories",
        ("TCO", "C"): "TCO / other categories",
        ("NON_TCO", "A"): "NON_TCO / A",  # alone under the minimum: nothing to merge it with
        ("UNDETERMINED", "A"): "UNDETERMINED / A",
    }


def test_neyman_allocation_by_hand():
    # N_h S_h = 1000*0.3 = 300, 500*0.5 = 250, 200*0.3 = 60 (sum 610); n = 100:
    # 49.18, 40.98, 9.84 -> the third is pinned at the minimum 10, the rest 90 * 300/550 = 49.09, 40.91
    assert allocate([1000, 500, 200], [0.1, 0.5, 0.9], 100) == [49, 41, 10]
    assert allocate([1000, 500, 8], [0.1, 0.5, 0.9], 100) == [50, 42, 8]  # capped at N_h = 8
    assert allocate([30, 20], [0.5, 0.5], 1000) == [30, 20]  # never more than the frame


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 2000), st.floats(0.01, 0.99)), min_size=1, max_size=8),
    st.integers(0, 3000),
)
def test_allocation_properties(strata, total):
    pops, rates = [s[0] for s in strata], [s[1] for s in strata]
    floor = sum(min(MIN_PER_STRATUM, p) for p in pops)
    sizes = allocate(pops, rates, max(total, floor))
    assert sum(sizes) == min(max(total, floor), sum(pops))
    assert all(min(MIN_PER_STRATUM, p) <= n <= p for n, p in zip(sizes, pops, strict=True))


def test_plan_is_the_smallest_size_meeting_the_target():
    pops, rates = [977, 79, 442], [0.9, 0.5, 0.05]
    res = plan(pops, rates, target=45.0)
    assert res["expected_half_width"] <= 45.0
    smaller = allocate(pops, rates, res["sample_size"] - 1)
    assert half_width(pops, rates, smaller, _z(0.9)) > 45.0
    assert res["sizes"] == allocate(pops, rates, res["sample_size"])
    assert plan(pops, rates, target=1.0, size=60)["sample_size"] == 60


# ------------------------------------------------------------------------------------------
# simulation: coverage of the stratified interval, and its width against today's case design
# ------------------------------------------------------------------------------------------


def _frame(seed=20261206, cases=(700, 40, 300), rates=(0.97, 0.5, 0.03), zero_share=0.3):
    """Cases with 1 + Poisson(0.4) counted DD SCRs, all in the stratum of their kind, verdicts
    set so each stratum's SCR-level TCO rate is the given one; plus 30% cases with only INITIAL
    SCRs (no DD SCR), which today's case design samples too."""
    rng = np.random.default_rng(seed)
    kind, k, v = [], [], []
    for h, (nc, r) in enumerate(zip(cases, rates, strict=True)):
        kk = 1 + rng.poisson(0.4, nc)
        target, got, vv = round(r * kk.sum()), 0, np.zeros(nc, bool)
        for i in rng.permutation(nc):
            if got + kk[i] <= target:
                vv[i], got = True, got + kk[i]
        kind, k, v = kind + [h] * nc, k + list(kk), v + list(vv)
    nz = round(zero_share * len(k) / (1 - zero_share))
    kind, k, v = kind + [-1] * nz, k + [0] * nz, v + list(rng.random(nz) < 0.5)
    return np.array(kind), np.array(k), np.array(v)


def test_simulated_coverage_and_width_against_the_case_design():
    """2,000 seeded stratified samples (Neyman, 90 SCRs: 56, 10, 24) of a frame of 1,469 counted
    SCRs whose strata are 97%, 50% and 3% TCO: the 90% interval covers the true total in
    92.9% of samples; a simple random sample of as many cases (88) as the stratified samples
    reviewed, with today's ratio estimator, gives intervals 3.2 times as wide (docs)."""
    kind, k, v = _frame()
    scr_case = np.repeat(np.arange(len(k)), k)
    scr_kind, scr_v = kind[scr_case], v[scr_case]
    pops = [int((scr_kind == h).sum()) for h in range(3)]
    rates = [float(scr_v[scr_kind == h].mean()) for h in range(3)]
    assert [round(r, 2) for r in rates] == [0.97, 0.5, 0.03]
    sizes = allocate(pops, [0.97, 0.5, 0.03], 90)
    assert min(sizes) == 10
    reps, rng, truth = 2000, np.random.default_rng(1), int(scr_v.sum())
    xs, picked = [], []
    for h in range(3):
        idx = np.flatnonzero(scr_kind == h)
        pick = np.argsort(rng.random((reps, len(idx))), axis=1)[:, : sizes[h]]
        xs.append(scr_v[idx][pick].sum(axis=1))
        picked.append(scr_case[idx][pick])
    res = estimate_bounds(np.broadcast_to(pops, (reps, 3)), np.broadcast_to(sizes, (reps, 3)),
                          np.stack(xs, axis=1), _z(0.9))  # fmt: skip
    covered = (res["lower_bound"] <= truth) & (truth <= res["upper_bound"])
    assert 0.87 <= covered.mean() <= 0.95
    width = float(np.mean(res["upper_bound"] - res["lower_bound"]))

    cases = np.sort(np.concatenate(picked, axis=1), axis=1)
    reviewed = int(round(float(np.mean((np.diff(cases, axis=1) != 0).sum(axis=1) + 1))))
    pick = np.argsort(rng.random((reps, len(k))), axis=1)[:, :reviewed]
    ratio = ratio_bounds(k[pick], (k * v)[pick], len(k), len(scr_case), _z(0.9))
    ratio_width = float(np.mean(ratio["upper_bound"] - ratio["lower_bound"]))
    assert width <= 0.5 * ratio_width, (width, ratio_width, reviewed)
    print(
        f"coverage {covered.mean():.4f}, width {width:.1f} vs {ratio_width:.1f} ({reviewed} cases)"
    )


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(2, 300), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=5
    )
)
def test_properties_of_the_estimate(raw):
    big_n = [N for N, _, _ in raw]
    n = [max(2, math.ceil(f * N)) for N, f, _ in raw]
    x = [math.floor(g * k) for (_, _, g), k in zip(raw, n, strict=True)]
    low, high = sum(x), sum(big_n) - sum(k - j for k, j in zip(n, x, strict=True))
    res = estimate_bounds(big_n, n, x, Z90, low, high)
    assert low <= res["lower_bound"] <= res["estimate"] <= res["upper_bound"] <= high
    census = all(k == N for k, N in zip(n, big_n, strict=True))
    assert (res["standard_error"] == 0) == census  # never zero variance while anything is unseen
