"""What happened, before ICM records it: cases, SCRs and their dates for the demo extracts.

Calibration is exact where the audit gives a count: approved INITIAL and disruption/
dismantlement SCRs per fiscal year hit the quotas in demo_catalog, and cases are drawn
stratified by category so that the share failing the TCO definition test follows Table 2.
demo_extracts turns these into ICM versions and files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from pipelines.demo.catalog import (
    CATEGORY_PROFILES,
    CHECKBOX_DATE,
    DD_TARGETS,
    FIELD_OFFICES,
    FISCAL_YEARS,
    INITIAL_TARGETS,
    LAST_FY,
    LEGACY_CASES,
    QUARTER_WEIGHTS,
    Office,
)

CHECKBOX = datetime.fromisoformat(CHECKBOX_DATE)
REASONS = ("no_association", "no_border_crossing", "both")
NOT_APPROVED = ("REJECTED", "WITHDRAWN", "RETURNED")
HOLIDAYS = {(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)}


def fiscal_year(day: date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


@dataclass(eq=False)
class Case:
    category: str
    subcategory: str
    office: Office
    program: str
    reason: str  # "" for a TCO, else the failed prong(s)
    subjects: int
    countries: tuple[str, ...]
    legacy: bool = False
    init_approved: date | None = None
    opened: datetime | None = None
    number: str = ""
    dismantled: date | None = None


@dataclass(eq=False)
class Scr:
    case: Case | None
    scr_type: str
    status: str
    created: datetime
    submitted: date
    decided: datetime  # last_modified_at of the final version
    approved: date | None = None
    first_submitted: date | None = None  # set when RETURNED once, then resubmitted
    returned_on: date | None = None
    emit: bool = True
    scr_id: str = ""
    subjects: str = ""
    countries: str = ""
    tco_flag: str = ""
    versions: list[dict[str, str]] = field(default_factory=list)


def _quarter_start(fy: int, q: int) -> date:
    month = 10 + 3 * q
    return date(fy - 1 + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def business_day(rng: random.Random, lo: date, hi: date) -> date:
    """A random working day in [lo, hi] (weekends and fixed-date federal holidays skipped)."""
    day = lo + timedelta(days=rng.randint(0, (hi - lo).days))
    step = timedelta(days=1)
    while day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS:
        day += step
        if day > hi:
            day, step = hi, -step
    return day


def date_in_fy(rng: random.Random, fy: int) -> date:
    q = rng.choices(range(4), QUARTER_WEIGHTS)[0]
    hi = _quarter_start(fy, q + 1) - timedelta(days=1)
    return business_day(rng, _quarter_start(fy, q), hi)


def at(rng: random.Random, day: date, lo: int = 8, hi: int = 19) -> datetime:
    return datetime.combine(day, time(rng.randint(lo, hi - 1), rng.randint(0, 59), rng.randint(0, 59)))  # fmt: skip


def after(rng: random.Random, created: datetime, day: date) -> datetime:
    if day == created.date():
        return created + timedelta(seconds=rng.randint(600, 5400))
    return at(rng, day)


def _make_case(rng: random.Random, label: str, reason: str) -> Case:
    prof = CATEGORY_PROFILES[label]
    names = [name for name, _, _ in prof.subcategories]
    weights = [non if reason else tco for _, tco, non in prof.subcategories]
    assoc = reason not in ("no_association", "both")
    intl = reason not in ("no_border_crossing", "both")
    subjects = 2 + min(int(rng.lognormvariate(0.9, 0.9)), 80) if assoc else 1
    countries: tuple[str, ...] = ("US",)
    if intl:
        foreign: list[str] = []
        k = rng.choices((1, 2, 3), (0.7, 0.23, 0.07))[0]
        while len(foreign) < k:
            code = rng.choices(prof.countries, [1 / (i + 1) for i in range(len(prof.countries))])[0]
            foreign += [code] if code not in foreign else []
        countries = ("US", *foreign) if rng.random() < 0.8 else tuple(foreign)
    office = rng.choices(FIELD_OFFICES, [o.weight for o in FIELD_OFFICES])[0]
    sub = rng.choices(names, weights)[0]
    return Case(label, sub, office, rng.choice(prof.programs), reason, subjects, countries)


def _random_case(rng: random.Random, labels: list[str]) -> Case:
    label = rng.choices(labels, [CATEGORY_PROFILES[lab].share for lab in labels])[0]
    prof = CATEGORY_PROFILES[label]
    fails = rng.random() < prof.fail_rate
    return _make_case(rng, label, rng.choices(REASONS, prof.reasons)[0] if fails else "")


def _case_truths(rng: random.Random, labels: list[str], n: int) -> list[tuple[str, str]]:
    """Stratified (category, reason) draws so the failing share is close to Table 2's mix."""
    quotas = [n * CATEGORY_PROFILES[lab].share for lab in labels]
    counts = [int(q) for q in quotas]
    for i in sorted(range(len(labels)), key=lambda i: counts[i] - quotas[i])[: n - sum(counts)]:
        counts[i] += 1
    out: list[tuple[str, str]] = []
    for label, k in zip(labels, counts, strict=True):
        prof = CATEGORY_PROFILES[label]
        fails = round(k * prof.fail_rate)
        out += [(label, r) for r in rng.choices(REASONS, prof.reasons, k=fails)] if fails else []
        out += [(label, "")] * (k - fails)
    rng.shuffle(out)
    return out


def make_scr(rng: random.Random, case: Case | None, scr_type: str, status: str, day: date) -> Scr:
    """An SCR whose final state (status) was reached on `day` (the submission if PENDING)."""
    review = 0 if status == "PENDING" else 7 + int(rng.gammavariate(2.0, 17.0))
    submitted = day - timedelta(days=review)
    first = submitted - timedelta(days=rng.randint(8, 40)) if rng.random() < 0.1 else None
    start = first or submitted
    created = at(rng, start - timedelta(days=min(int(rng.expovariate(1 / 3)), 21)), 7, 17)
    scr = Scr(case, scr_type, status, created, submitted, after(rng, created, day))
    scr.approved = day if status == "APPROVED" else None
    if first:
        scr.first_submitted = first
        scr.returned_on = first + timedelta(days=rng.randint(1, (submitted - first).days - 1))
    if case is not None and scr_type == "INITIAL":
        case.opened = created
        case.init_approved = scr.approved
    return scr


def plan_cases(rng: random.Random, labels: list[str], scale: float) -> tuple[list[Case], list[Scr]]:  # fmt: skip
    """Cases with an approved INITIAL SCR, per FY quota, plus legacy (pre-FY2017) cases."""
    per_fy = {fy: round(INITIAL_TARGETS[fy] * scale) for fy in FISCAL_YEARS}
    n_legacy = max(1, round(LEGACY_CASES * scale))
    truths = _case_truths(rng, labels, sum(per_fy.values()) + n_legacy)
    cases: list[Case] = []
    scrs: list[Scr] = []
    for fy, n in per_fy.items():
        for _ in range(n):
            cases.append(_make_case(rng, *truths.pop()))
            scrs.append(make_scr(rng, cases[-1], "INITIAL", "APPROVED", date_in_fy(rng, fy)))
    for _ in range(n_legacy):
        cases.append(_make_case(rng, *truths.pop()))
        cases[-1].legacy = True
        day = business_day(rng, date(2014, 10, 1), date(2016, 3, 31))
        scrs.append(make_scr(rng, cases[-1], "INITIAL", "APPROVED", day))
        scrs[-1].emit = False
    return cases, scrs


def assign_dd(rng: random.Random, cases: list[Case], scale: float, seed: int) -> list[Scr]:
    """Approved disruptions/dismantlements: exact quota per FY, 1-3 per case, aged cases first."""
    quotas = {fy: round(DD_TARGETS[fy] * scale) for fy in FISCAL_YEARS}
    slots: list[tuple[date, int]] = []
    for i, case in enumerate(cases):
        if case.legacy:  # every legacy case shows up through at least one early disruption
            fy = 2017 if rng.random() < 0.75 and quotas[2017] > 0 else 2018
            quotas[fy] -= 1
            slots.append((date_in_fy(rng, fy), i))
    slots += [(date_in_fy(rng, fy), -1) for fy, q in quotas.items() for _ in range(q)]
    slots.sort()
    init = np.array([c.init_approved.toordinal() for c in cases], dtype=np.float64)  # type: ignore[union-attr]
    count = np.array([1 if c.legacy else 0 for c in cases])  # legacy: one slot reserved
    draws = np.random.default_rng(seed).random(len(slots))
    out: list[Scr] = []
    for (day, fixed), u in zip(slots, draws, strict=True):
        scr = make_scr(rng, None, "DISRUPTION", "APPROVED", day)
        if fixed < 0:
            age = scr.created.date().toordinal() - init
            w = np.where((age >= 30) & (count < 3), age * np.exp(-age / 420.0) * 0.45**count, 0)
            fixed = int(np.searchsorted(np.cumsum(w), u * w.sum(), side="right"))
            count[fixed] += 1
        scr.case = cases[fixed]
        out.append(scr)
    last: dict[int, Scr] = {id(s.case): s for s in out}  # slots are chronological
    for scr in last.values():
        if rng.random() < 0.3 and scr.case is not None:
            scr.scr_type = "DISMANTLEMENT"
            scr.case.dismantled = scr.approved
    return out


def open_case(rng: random.Random, cases: list[Case], created: datetime) -> Case:
    """A case with an approved INITIAL, at least 30 days old, not yet dismantled."""
    for _ in range(10_000):
        case = rng.choice(cases)
        old = case.init_approved and case.init_approved <= created.date() - timedelta(days=30)
        if old and (case.dismantled is None or case.dismantled > created.date()):
            return case
    raise RuntimeError("no open case for a disruption")


def other_scrs(
    rng: random.Random, cases: list[Case], labels: list[str], scale: float
) -> tuple[list[Case], list[Scr]]:
    """Rejected/withdrawn/returned SCRs; PENDING when the last annual extract (FY2025) is cut,
    or approved after it, early in FY2026 (they reach the FY2026 quarterly extracts)."""
    last = LAST_FY - 1  # the last fiscal year with an annual extract
    plans: list[tuple[str, str, date]] = []  # (scr_type, status, day)
    for fy in FISCAL_YEARS:
        for _ in range(round(0.07 * INITIAL_TARGETS[fy] * scale)):
            plans.append(("INITIAL", rng.choices(NOT_APPROVED, (45, 30, 25))[0], date_in_fy(rng, fy)))  # fmt: skip
        for _ in range(round(0.09 * DD_TARGETS[fy] * scale)):
            kind = "DISMANTLEMENT" if rng.random() < 0.15 else "DISRUPTION"
            plans.append((kind, rng.choices(NOT_APPROVED, (50, 30, 20))[0], date_in_fy(rng, fy)))
    for i in range(max(2, round(120 * scale))):
        kind = "INITIAL" if i % 5 < 3 else "DISRUPTION"
        if i % 2:  # still pending when the last annual extract is cut
            day = business_day(rng, date(last, 8, 1), date(last, 9, 27))
            plans.append((kind, "PENDING", day))
        else:  # approved after that year closed: shows up in the correction files
            day = business_day(rng, date(last, 10, 1), date(last + 1, 1, 8))
            plans.append((kind, "APPROVED", day))
    new_cases: list[Case] = []
    scrs: list[Scr] = []
    for kind, status, day in plans:
        if kind == "INITIAL":
            new_cases.append(_random_case(rng, labels))
            scrs.append(make_scr(rng, new_cases[-1], kind, status, day))
        else:
            scrs.append(make_scr(rng, None, kind, status, day))
            scrs[-1].case = open_case(rng, cases, scrs[-1].created)
    return new_cases, scrs


def returned_resubmitted(rng: random.Random, cases: list[Case], n: int) -> list[Scr]:
    """RETURNED before the FY2025 extract, resubmitted and approved in a correction file."""
    out: list[Scr] = []
    last = LAST_FY - 1
    for _ in range(n):
        resub = business_day(rng, date(last, 10, 1), date(last, 12, 2))
        scr = make_scr(rng, None, "DISRUPTION", "APPROVED", resub + timedelta(days=rng.randint(7, 30)))  # fmt: skip
        scr.submitted = resub
        scr.first_submitted = business_day(rng, date(last, 8, 5), date(last, 9, 6))
        scr.returned_on = scr.first_submitted + timedelta(days=rng.randint(5, 20))
        scr.created = at(rng, scr.first_submitted - timedelta(days=rng.randint(0, 4)), 7, 17)
        scr.case = open_case(rng, cases, scr.created)
        out.append(scr)
    return out


def assign_numbers(rng: random.Random, cases: list[Case], scrs: list[Scr]) -> None:
    """HSI-style case numbers (DE02QR17DE0003) and SCR ids (SCR-2019-004512), in time order."""
    seq: dict[tuple[str, int], int] = {}
    for case in sorted(cases, key=lambda c: c.opened or datetime.min):
        fy2 = fiscal_year(case.opened.date()) % 100 if case.opened else 0
        code = case.office.code
        seq[code, fy2] = seq.get((code, fy2), rng.randint(0, 20)) + rng.randint(1, 3)
        unit = rng.choice((1, 1, 2, 2, 2, 3, 4, 5))
        case.number = f"{code}{unit:02d}{case.program}{fy2:02d}{code}{seq[code, fy2]:04d}"
    per_year: dict[int, int] = {}
    for scr in sorted(scrs, key=lambda s: s.created):
        year = scr.created.year
        per_year[year] = per_year.get(year, rng.randint(1000, 4000)) + rng.randint(1, 2)
        scr.scr_id = f"SCR-{year}-{per_year[year]:06d}"


def fill_attributes(rng: random.Random, scr: Scr) -> None:
    """Subjects and countries follow the case's truth; some SCRs leave them empty."""
    case = scr.case
    assert case is not None
    subjects, countries = case.subjects, list(case.countries)
    if scr.scr_type != "INITIAL" and subjects >= 2:
        subjects += rng.choice((0, 0, 1, 2, 3, 5))
    if scr.scr_type != "INITIAL" and countries != ["US"] and rng.random() < 0.2:
        extra = rng.choice(CATEGORY_PROFILES[case.category].countries)
        countries += [extra] if extra not in countries else []
    scr.subjects, scr.countries = str(subjects), ";".join(countries)
    r = rng.random()
    scr.subjects = "" if r < 0.025 or 0.05 <= r < 0.06 else scr.subjects
    scr.countries = "" if 0.025 <= r < 0.06 else scr.countries
    if scr.created >= CHECKBOX:
        scr.tco_flag = "N" if case.reason else "Y"
