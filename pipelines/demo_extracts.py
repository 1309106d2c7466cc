"""Realistic demo ICM extracts (SCRs and resource requests) calibrated to the OIG audit.

Why: nobody outside HSI can see ICM, yet the pipeline must be demonstrable and its tests must
run on data with the real feed's awkward parts. With scale=1 the approval-based count
reproduces the published figures (Table 3: 420, 347, 322, 618, 698, 1,083 disruptions and
dismantlements; 5,016 cases; 8,275 approved SCRs in FY2017-FY2022) while about 56% of cases
fail the TCO definition test with the audit's category and reason mix (Table 2). The files
carry what the measure logic has to cope with: SCR versions spread over annual extracts, one
Parquet extract, late corrections that restate published quarters, the TCO checkbox from
18 July 2023 (with a few indicator conflicts), incomplete subject/country data, and a few rows
validation must quarantine. Cases opened before FY2017 appear only through their later
disruptions: their INITIAL SCR predates the extract window.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.demo_catalog import (
    CATEGORY_PROFILES,
    CHECKBOX_DATE,
    DD_TARGETS,
    FIELD_OFFICES,
    FISCAL_YEARS,
    INITIAL_TARGETS,
    LEGACY_CASES,
    QUARTER_WEIGHTS,
    Office,
    load_categories,
)
from pipelines.demo_requests import write_resource_requests

SCR_COLUMNS = (
    "scr_id", "case_number", "scr_type", "criminal_category", "subcategory", "field_office",
    "status", "created_at", "submitted_date", "approved_date", "tco_involvement",
    "subject_count", "countries", "last_modified_at",
)  # fmt: skip
EXTRACT_DAYS = {2017: 13, 2018: 15, 2019: 15, 2020: 14, 2021: 15, 2022: 14, 2023: 13, 2024: 15}
PARQUET_FY = 2020
CORRECTIONS = ((date(2024, 11, 15), "scr_extract_2024-11-18.csv"),
               (date(2025, 1, 10), "scr_extract_2025-01-13.csv"))  # fmt: skip
WINDOW_START = datetime(2016, 10, 1)
CHECKBOX = datetime.fromisoformat(CHECKBOX_DATE)
REASONS = ("no_association", "no_border_crossing", "both")
NOT_APPROVED = ("REJECTED", "WITHDRAWN", "RETURNED")
INVALID_KINDS = (
    "unknown_scr_type", "misspelled_category", "approved_before_submitted",
    "missing_field_office", "approved_without_date", "subject_count_zero",
    "malformed_country", "missing_tco_checkbox", "pending_with_approved_date",
    "submitted_before_created",
)  # fmt: skip


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


# ---------------------------------------------------------------- dates and times
def _quarter_start(fy: int, q: int) -> date:
    month = 10 + 3 * q
    return date(fy - 1 + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _business_day(rng: random.Random, lo: date, hi: date) -> date:
    day = lo + timedelta(days=rng.randint(0, (hi - lo).days))
    if day.weekday() >= 5:
        later = day + timedelta(days=7 - day.weekday())
        day = later if later <= hi else day - timedelta(days=day.weekday() - 4)
    return day


def _date_in_fy(rng: random.Random, fy: int) -> date:
    q = rng.choices(range(4), QUARTER_WEIGHTS)[0]
    hi = _quarter_start(fy, q + 1) - timedelta(days=1)
    return _business_day(rng, _quarter_start(fy, q), hi)


def _at(rng: random.Random, day: date, lo: int = 8, hi: int = 19) -> datetime:
    return datetime.combine(day, time(rng.randint(lo, hi - 1), rng.randint(0, 59), rng.randint(0, 59)))  # fmt: skip


def _after(rng: random.Random, created: datetime, day: date) -> datetime:
    if day == created.date():
        return created + timedelta(seconds=rng.randint(600, 5400))
    return _at(rng, day)


# ---------------------------------------------------------------- cases and SCRs
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


def _make_scr(rng: random.Random, case: Case | None, scr_type: str, status: str, day: date) -> Scr:
    """An SCR whose final state (status) was reached on `day` (the submission if PENDING)."""
    review = 0 if status == "PENDING" else 7 + int(rng.gammavariate(2.0, 17.0))
    submitted = day - timedelta(days=review)
    first = submitted - timedelta(days=rng.randint(8, 40)) if rng.random() < 0.1 else None
    start = first or submitted
    created = _at(rng, start - timedelta(days=min(int(rng.expovariate(1 / 3)), 21)), 7, 17)
    scr = Scr(case, scr_type, status, created, submitted, _after(rng, created, day))
    scr.approved = day if status == "APPROVED" else None
    if first:
        scr.first_submitted = first
        scr.returned_on = first + timedelta(days=rng.randint(1, (submitted - first).days - 1))
    if case is not None and scr_type == "INITIAL":
        case.opened = created
        case.init_approved = scr.approved
    return scr


def _plan_cases(rng: random.Random, labels: list[str], scale: float) -> tuple[list[Case], list[Scr]]:  # fmt: skip
    """Cases with an approved INITIAL SCR, per FY quota, plus legacy (pre-FY2017) cases."""
    per_fy = {fy: round(INITIAL_TARGETS[fy] * scale) for fy in FISCAL_YEARS}
    n_legacy = max(1, round(LEGACY_CASES * scale))
    truths = _case_truths(rng, labels, sum(per_fy.values()) + n_legacy)
    cases: list[Case] = []
    scrs: list[Scr] = []
    for fy, n in per_fy.items():
        for _ in range(n):
            cases.append(_make_case(rng, *truths.pop()))
            scrs.append(_make_scr(rng, cases[-1], "INITIAL", "APPROVED", _date_in_fy(rng, fy)))
    for _ in range(n_legacy):
        cases.append(_make_case(rng, *truths.pop()))
        cases[-1].legacy = True
        day = _business_day(rng, date(2014, 10, 1), date(2016, 3, 31))
        scrs.append(_make_scr(rng, cases[-1], "INITIAL", "APPROVED", day))
        scrs[-1].emit = False
    return cases, scrs


def _assign_dd(rng: random.Random, cases: list[Case], scale: float, seed: int) -> list[Scr]:
    """Approved disruptions/dismantlements: exact quota per FY, 1-3 per case, aged cases first."""
    quotas = {fy: round(DD_TARGETS[fy] * scale) for fy in FISCAL_YEARS}
    slots: list[tuple[date, int]] = []
    for i, case in enumerate(cases):
        if case.legacy:  # every legacy case shows up through at least one early disruption
            fy = 2017 if rng.random() < 0.75 and quotas[2017] > 0 else 2018
            quotas[fy] -= 1
            slots.append((_date_in_fy(rng, fy), i))
    slots += [(_date_in_fy(rng, fy), -1) for fy, q in quotas.items() for _ in range(q)]
    slots.sort()
    init = np.array([c.init_approved.toordinal() for c in cases], dtype=np.float64)  # type: ignore[union-attr]
    count = np.array([1 if c.legacy else 0 for c in cases])  # legacy: one slot reserved
    draws = np.random.default_rng(seed).random(len(slots))
    out: list[Scr] = []
    for (day, fixed), u in zip(slots, draws, strict=True):
        scr = _make_scr(rng, None, "DISRUPTION", "APPROVED", day)
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


def _open_case(rng: random.Random, cases: list[Case], created: datetime) -> Case:
    """A case with an approved INITIAL, at least 30 days old, not yet dismantled."""
    for _ in range(10_000):
        case = rng.choice(cases)
        old = case.init_approved and case.init_approved <= created.date() - timedelta(days=30)
        if old and (case.dismantled is None or case.dismantled > created.date()):
            return case
    raise RuntimeError("no open case for a disruption")


def _other_scrs(
    rng: random.Random, cases: list[Case], labels: list[str], scale: float
) -> tuple[list[Case], list[Scr]]:
    """Rejected/withdrawn/returned SCRs, PENDING at the end of FY2024, FY2025 Q1 activity."""
    plans: list[tuple[str, str, date]] = []  # (scr_type, status, day)
    for fy in FISCAL_YEARS:
        for _ in range(round(0.07 * INITIAL_TARGETS[fy] * scale)):
            plans.append(("INITIAL", rng.choices(NOT_APPROVED, (45, 30, 25))[0], _date_in_fy(rng, fy)))  # fmt: skip
        for _ in range(round(0.09 * DD_TARGETS[fy] * scale)):
            kind = "DISMANTLEMENT" if rng.random() < 0.15 else "DISRUPTION"
            plans.append((kind, rng.choices(NOT_APPROVED, (50, 30, 20))[0], _date_in_fy(rng, fy)))
    for i in range(max(2, round(120 * scale))):
        kind = "INITIAL" if i % 5 < 3 else "DISRUPTION"
        if i % 2:  # still pending when the FY2024 extract is cut
            plans.append((kind, "PENDING", _business_day(rng, date(2024, 8, 1), date(2024, 9, 27))))
        else:  # approved after FY2024 closed: shows up in the correction files
            plans.append(
                (kind, "APPROVED", _business_day(rng, date(2024, 10, 1), date(2025, 1, 8)))
            )
    new_cases: list[Case] = []
    scrs: list[Scr] = []
    for kind, status, day in plans:
        if kind == "INITIAL":
            new_cases.append(_random_case(rng, labels))
            scrs.append(_make_scr(rng, new_cases[-1], kind, status, day))
        else:
            scrs.append(_make_scr(rng, None, kind, status, day))
            scrs[-1].case = _open_case(rng, cases, scrs[-1].created)
    return new_cases, scrs


def _returned_resubmitted(rng: random.Random, cases: list[Case], n: int) -> list[Scr]:
    """RETURNED before the FY2024 extract, resubmitted and approved in a correction file."""
    out: list[Scr] = []
    for _ in range(n):
        resub = _business_day(rng, date(2024, 10, 1), date(2024, 12, 2))
        scr = _make_scr(rng, None, "DISRUPTION", "APPROVED", resub + timedelta(days=rng.randint(7, 30)))  # fmt: skip
        scr.submitted = resub
        scr.first_submitted = _business_day(rng, date(2024, 8, 5), date(2024, 9, 6))
        scr.returned_on = scr.first_submitted + timedelta(days=rng.randint(5, 20))
        scr.created = _at(rng, scr.first_submitted - timedelta(days=rng.randint(0, 4)), 7, 17)
        scr.case = _open_case(rng, cases, scr.created)
        out.append(scr)
    return out


def _assign_numbers(rng: random.Random, cases: list[Case], scrs: list[Scr]) -> None:
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


def _fill_attributes(rng: random.Random, scr: Scr) -> None:
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


def _history(rng: random.Random, scr: Scr) -> list[dict[str, str]]:
    """Versions as ICM records them: PENDING (maybe RETURNED, resubmitted), final state."""
    case = scr.case
    assert case is not None
    final = {
        "scr_id": scr.scr_id, "case_number": case.number, "scr_type": scr.scr_type,
        "criminal_category": case.category, "subcategory": case.subcategory,
        "field_office": case.office.name, "status": scr.status,
        "created_at": scr.created.isoformat(), "submitted_date": scr.submitted.isoformat(),
        "approved_date": scr.approved.isoformat() if scr.approved else "",
        "tco_involvement": scr.tco_flag, "subject_count": scr.subjects,
        "countries": scr.countries, "last_modified_at": scr.decided.isoformat(),
    }  # fmt: skip
    pending = {**final, "status": "PENDING", "approved_date": ""}
    out: list[dict[str, str]] = []
    if scr.first_submitted and scr.returned_on:
        first = scr.first_submitted.isoformat()
        out.append({**pending, "submitted_date": first,
                    "last_modified_at": _after(rng, scr.created, scr.first_submitted).isoformat()})  # fmt: skip
        out.append({**pending, "status": "RETURNED", "submitted_date": first,
                    "last_modified_at": _at(rng, scr.returned_on).isoformat()})  # fmt: skip
    if scr.status != "PENDING":
        stamp = _after(rng, scr.created, scr.submitted)
        out.append({**pending, "last_modified_at": stamp.isoformat()})
    return [*out, final]


def _flip_indicators(rng: random.Random, scrs: list[Scr], n: int) -> list[str]:
    """Checkbox answers that contradict complete subject/country data (indicator conflicts)."""
    pool = [s for s in scrs if s.tco_flag and s.subjects and s.countries and s.emit]
    picked = rng.sample(pool, min(n, len(pool)))
    for scr in picked:
        scr.tco_flag = "Y" if scr.tco_flag == "N" else "N"
    return sorted(s.scr_id for s in picked)


def _correction_stamp(rng: random.Random) -> str:
    return _at(rng, _business_day(rng, date(2024, 10, 1), date(2025, 1, 10))).isoformat()


def _corrections(rng: random.Random, scrs: list[Scr], scale: float) -> dict[str, list[str]]:
    """Re-issue some approved SCRs after FY2024 with a later last_modified_at."""
    pool = [s for s in scrs if s.emit and s.approved and not s.first_submitted
            and 2019 <= fiscal_year(s.approved) <= 2024]  # fmt: skip
    rng.shuffle(pool)
    done: dict[str, list[str]] = {"late_approval": [], "approved_date_fix": [], "attribute_fix": []}
    for kind, n in (("late_approval", 6), ("approved_date_fix", 8), ("attribute_fix", 8)):
        while len(done[kind]) < max(1, round(n * scale)) and pool:
            scr = pool.pop()
            true = {**scr.versions[-1], "last_modified_at": _correction_stamp(rng)}
            if kind == "late_approval":  # approval keyed in late: extracts showed PENDING
                scr.versions = [*scr.versions[:-1], true]
            elif kind == "approved_date_fix":
                assert scr.approved is not None
                month = (scr.approved.month - 1) // 3 * 3 + 4  # next (fiscal) quarter start
                q_end = date(scr.approved.year + (month > 12), (month - 1) % 12 + 1, 1)
                wrong = q_end + timedelta(days=rng.randint(0, 9))
                if (q_end - scr.approved).days > 15 or wrong > date(2024, 9, 30):
                    continue
                bad = {**scr.versions[-1], "approved_date": wrong.isoformat(),
                       "last_modified_at": _at(rng, wrong).isoformat()}  # fmt: skip
                scr.versions = [*scr.versions[:-1], bad, true]
            else:
                wrong = _wrong_attributes(scr)
                scr.versions = [*({**v, **wrong} for v in scr.versions), true]
            done[kind].append(scr.scr_id)
    return {kind: sorted(ids) for kind, ids in done.items()}


def _wrong_attributes(scr: Scr) -> dict[str, str]:
    """What the record said before an analyst corrected subject_count or countries."""
    if scr.subjects and int(scr.subjects) >= 2:
        return {"subject_count": "1"}
    if scr.countries and scr.countries != "US":
        return {"countries": "US"}
    return {"subject_count": "4", "countries": "US;MX"}


def _plan_invalid(rng: random.Random, cases: list[Case], scale: float) -> dict[Scr, str]:
    """Approved disruptions that break one error rule each, spread over the annual extracts."""
    out: dict[Scr, str] = {}
    for i in range(max(4, round(16 * scale))):
        kind = INVALID_KINDS[i % len(INVALID_KINDS)]
        fy = 2024 if kind == "missing_tco_checkbox" else FISCAL_YEARS[i * 3 % len(FISCAL_YEARS)]
        scr = _make_scr(rng, None, "DISRUPTION", "APPROVED", _date_in_fy(rng, fy))
        while kind == "missing_tco_checkbox" and scr.created < CHECKBOX + timedelta(days=30):
            scr = _make_scr(rng, None, "DISRUPTION", "APPROVED", _date_in_fy(rng, fy))
        scr.case = _open_case(rng, cases, scr.created)
        out[scr] = kind
    return out


def _break(scr: Scr, kind: str) -> dict[str, str]:
    row = dict(scr.versions[-1])
    day = date.fromisoformat(row["submitted_date"])
    label = row["criminal_category"]
    broken = {
        "unknown_scr_type": {"scr_type": "SEIZURE"},
        "misspelled_category": {"criminal_category": label[:-3] + label[-2] + label[-3] + label[-1]},
        "approved_before_submitted": {"approved_date": (day - timedelta(days=3)).isoformat()},
        "missing_field_office": {"field_office": ""},
        "approved_without_date": {"approved_date": ""},
        "subject_count_zero": {"subject_count": "0"},
        "malformed_country": {"countries": "US;MEX"},
        "missing_tco_checkbox": {"tco_involvement": ""},
        "pending_with_approved_date": {"status": "PENDING"},
        "submitted_before_created": {"submitted_date": (scr.created.date() - timedelta(days=2)).isoformat()},
    }  # fmt: skip
    return {**row, **broken[kind]}


def _file_for(stamp: str) -> str | None:
    ts = datetime.fromisoformat(stamp)
    if ts < WINDOW_START:
        return None
    fy = fiscal_year(ts.date())
    if fy in EXTRACT_DAYS:
        ext = "parquet" if fy == PARQUET_FY else "csv"
        return f"scr_extract_{fy}-10-{EXTRACT_DAYS[fy]:02d}.{ext}"
    for cutoff, name in CORRECTIONS:
        if ts.date() <= cutoff:
            return name
    raise ValueError(f"version modified after the last correction file: {stamp}")


def _route(scrs: list[Scr]) -> dict[str, list[dict[str, str]]]:
    """Each extract holds, per SCR, the last version modified in its period."""
    files: dict[str, list[dict[str, str]]] = {}
    for scr in scrs:
        if not scr.emit:
            continue
        latest = {name: v for v in scr.versions if (name := _file_for(v["last_modified_at"]))}
        for name, row in latest.items():
            files.setdefault(name, []).append(row)
    for rows in files.values():
        rows.sort(key=lambda r: (r["last_modified_at"], r["scr_id"]))
    return dict(sorted(files.items()))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    if path.suffix == ".parquet":
        table = pa.table(
            {c: pa.array([r[c] or None for r in rows], pa.string()) for c in SCR_COLUMNS}
        )
        pq.write_table(table, path, compression="snappy")
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=SCR_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def definition_reason(row: dict[str, str]) -> str | None:
    """Contract definition test: '' (TCO), a failure reason, or None when data is incomplete."""
    if not row["subject_count"] or not row["countries"]:
        return None
    assoc = int(row["subject_count"]) >= 2
    intl = any(code != "US" for code in row["countries"].split(";"))
    if assoc and intl:
        return ""
    return "both" if not (assoc or intl) else "no_border_crossing" if assoc else "no_association"


def _summarize(current: list[dict[str, str]], invalid: set[str]) -> dict[str, object]:
    """Figures the old approval-based method and the definition test give on the demo data."""
    by_fy: dict[str, Counter[int]] = {k: Counter() for k in ("approved", "initial", "dd")}
    case_fails: dict[str, bool] = {}
    reasons: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    undetermined = 0
    for row in current:
        if row["scr_id"] in invalid or row["status"] != "APPROVED":
            continue
        fy = fiscal_year(date.fromisoformat(row["approved_date"]))
        by_fy["approved"][fy] += 1
        by_fy["initial" if row["scr_type"] == "INITIAL" else "dd"][fy] += 1
        if not 2017 <= fy <= 2022:
            continue
        reason = definition_reason(row)
        case_fails[row["case_number"]] = case_fails.get(row["case_number"], False) or bool(reason)
        undetermined += reason is None
        if reason:
            reasons[reason] += 1
            categories[row["criminal_category"]] += 1
    failing = sum(case_fails.values())
    return {
        "cases_fy2017_2022": len(case_fails),
        "approved_scrs_fy2017_2022": sum(n for fy, n in by_fy["approved"].items() if fy <= 2022),
        "approved_scrs_by_fy": dict(sorted(by_fy["approved"].items())),
        "initial_approved_by_fy": dict(sorted(by_fy["initial"].items())),
        "dd_approved_by_fy": dict(sorted(by_fy["dd"].items())),
        "failing_cases_fy2017_2022": failing,
        "failing_case_share": round(failing / max(1, len(case_fails)), 4),
        "failing_scrs_by_reason": dict(reasons.most_common()),
        "failing_scrs_by_category": dict(categories.most_common()),
        "undetermined_scrs_fy2017_2022": undetermined,
    }


def write_demo_extracts(landing_dir: Path, seed: int = 2023, scale: float = 1.0) -> dict:
    """Write demo SCR and resource request extracts into landing_dir; return a summary.

    Same seed and scale give byte-identical files. `scale` multiplies the number of cases
    (1.0 = the audit's population); resource requests are not scaled.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    landing_dir = Path(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labels = load_categories()
    cases, scrs = _plan_cases(rng, labels, scale)
    scrs += _assign_dd(rng, cases, scale, seed)
    new_cases, others = _other_scrs(rng, cases, labels, scale)
    extra = _returned_resubmitted(rng, cases, max(1, round(5 * scale)))
    invalid = _plan_invalid(rng, cases, scale)
    scrs += others + extra + list(invalid)
    _assign_numbers(rng, cases + new_cases, scrs)
    for scr in scrs:
        _fill_attributes(rng, scr)
    plain = [s for s in scrs if s not in invalid and s not in extra]
    conflicts = _flip_indicators(rng, plain, max(2, round(10 * scale)))
    for scr in scrs:
        scr.versions = _history(rng, scr)
    corrected = _corrections(rng, [s for s in plain if s.scr_id not in conflicts], scale)
    for scr, kind in invalid.items():
        scr.versions = [_break(scr, kind)]
    files = _route(scrs)
    for name, rows in files.items():
        _write(landing_dir / name, rows)
    invalid_ids = {s.scr_id for s in invalid}
    current = [s.versions[-1] for s in scrs if s.emit]
    requests = write_resource_requests(landing_dir, seed)
    return {
        "seed": seed,
        "scale": scale,
        "files": {name: len(rows) for name, rows in files.items()} | requests.pop("files"),
        "scrs": len(current),
        **_summarize(current, invalid_ids),
        "invalid_scr_ids": sorted(invalid_ids),
        "invalid_kinds": {s.scr_id: kind for s, kind in invalid.items()},
        "indicator_conflict_scr_ids": conflicts,
        "corrected_scr_ids": corrected | {"returned_resubmitted": sorted(s.scr_id for s in extra)},
        "resource_requests": requests,
    }
