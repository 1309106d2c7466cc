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

demo_cases models what happened (cases, SCRs, dates); this module records it the way ICM
does (versions, corrections, broken rows), writes the files and summarizes them.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.demo.cases import (
    CHECKBOX,
    Case,
    Scr,
    after,
    assign_dd,
    assign_numbers,
    at,
    business_day,
    date_in_fy,
    fill_attributes,
    fiscal_year,
    make_scr,
    open_case,
    other_scrs,
    plan_cases,
    returned_resubmitted,
)
from pipelines.demo.catalog import FISCAL_YEARS, load_categories
from pipelines.demo.requests import write_resource_requests

SCR_COLUMNS = (
    "scr_id", "case_number", "scr_type", "criminal_category", "subcategory", "field_office",
    "status", "created_at", "submitted_date", "approved_date", "tco_involvement",
    "subject_count", "countries", "last_modified_at",
)  # fmt: skip
# One annual extract per fiscal year through FY2025, cut in October; FY2026 (LAST_FY) arrives
# as quarterly extracts, the first two carrying corrections of published quarters. The last
# covers through 30 September 2026, the last complete fiscal quarter before the demo was built.
EXTRACT_DAYS = {2017: 13, 2018: 15, 2019: 15, 2020: 14, 2021: 15, 2022: 14, 2023: 13, 2024: 15,
                2025: 14}  # fmt: skip
PARQUET_FY = 2020
CORRECTIONS = ((date(2025, 11, 15), "scr_extract_2025-11-18.csv"),
               (date(2026, 1, 10), "scr_extract_2026-01-13.csv"),
               (date(2026, 3, 31), "scr_extract_2026-04-14.csv"),
               (date(2026, 6, 30), "scr_extract_2026-07-14.csv"),
               (date(2026, 9, 30), "scr_extract_2026-10-14.csv"))  # fmt: skip
CORRECTED_FY = 2025  # corrections re-issue SCRs of published years up to this one
WINDOW_START = datetime(2016, 10, 1)
INVALID_KINDS = (
    "unknown_scr_type", "misspelled_category", "approved_before_submitted",
    "missing_field_office", "approved_without_date", "subject_count_zero",
    "malformed_country", "missing_tco_checkbox", "pending_with_approved_date",
    "submitted_before_created",
)  # fmt: skip


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
                    "last_modified_at": after(rng, scr.created, scr.first_submitted).isoformat()})  # fmt: skip
        out.append({**pending, "status": "RETURNED", "submitted_date": first,
                    "last_modified_at": at(rng, scr.returned_on).isoformat()})  # fmt: skip
    if scr.status != "PENDING":
        stamp = after(rng, scr.created, scr.submitted)
        out.append({**pending, "last_modified_at": stamp.isoformat()})
    return [*out, final]


def _flip_indicators(rng: random.Random, scrs: list[Scr], n: int) -> list[str]:
    """Checkbox answers that contradict complete subject/country data (indicator conflicts)."""
    pool = [s for s in scrs if s.tco_flag and s.subjects and s.countries and s.emit]
    picked = rng.sample(pool, min(n, len(pool)))
    for scr in picked:
        scr.tco_flag = "Y" if scr.tco_flag == "N" else "N"
    return sorted(s.scr_id for s in picked)


def _correction_stamp(rng: random.Random, i: int) -> str:
    """Alternate between the two correction files' windows so both always carry some."""
    lo = date(CORRECTED_FY, 10, 1) if i % 2 == 0 else CORRECTIONS[0][0] + timedelta(days=1)
    return at(rng, business_day(rng, lo, CORRECTIONS[i % 2][0])).isoformat()


def _corrections(rng: random.Random, scrs: list[Scr], scale: float) -> dict[str, list[str]]:
    """Re-issue some approved SCRs after FY2025 with a later last_modified_at."""
    pool = [s for s in scrs if s.emit and s.approved and not s.first_submitted
            and 2019 <= fiscal_year(s.approved) <= CORRECTED_FY]  # fmt: skip
    rng.shuffle(pool)
    done: dict[str, list[str]] = {"late_approval": [], "approved_date_fix": [], "attribute_fix": []}
    for kind, n in (("late_approval", 6), ("approved_date_fix", 8), ("attribute_fix", 8)):
        while len(done[kind]) < max(1, round(n * scale)) and pool:
            scr = pool.pop()
            stamp = _correction_stamp(rng, sum(map(len, done.values())))
            true = {**scr.versions[-1], "last_modified_at": stamp}
            if kind == "late_approval":  # approval keyed in late: extracts showed PENDING
                scr.versions = [*scr.versions[:-1], true]
            elif kind == "approved_date_fix":
                assert scr.approved is not None
                month = (scr.approved.month - 1) // 3 * 3 + 4  # next (fiscal) quarter start
                q_end = date(scr.approved.year + (month > 12), (month - 1) % 12 + 1, 1)
                wrong = q_end + timedelta(days=rng.randint(0, 9))
                if (q_end - scr.approved).days > 15 or wrong > date(CORRECTED_FY, 9, 30):
                    continue
                bad = {**scr.versions[-1], "approved_date": wrong.isoformat(),
                       "last_modified_at": at(rng, wrong).isoformat()}  # fmt: skip
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
        scr = make_scr(rng, None, "DISRUPTION", "APPROVED", date_in_fy(rng, fy))
        while kind == "missing_tco_checkbox" and scr.created < CHECKBOX + timedelta(days=30):
            scr = make_scr(rng, None, "DISRUPTION", "APPROVED", date_in_fy(rng, fy))
        scr.case = open_case(rng, cases, scr.created)
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
    names = [_file_for(f"{fy}-09-30T12:00:00") for fy in EXTRACT_DAYS]
    files: dict[str, list[dict[str, str]]] = {n: [] for n in names if n}
    files |= {name: [] for _, name in CORRECTIONS}
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
    cases, scrs = plan_cases(rng, labels, scale)
    scrs += assign_dd(rng, cases, scale, seed)
    new_cases, others = other_scrs(rng, cases, labels, scale)
    extra = returned_resubmitted(rng, cases, max(1, round(5 * scale)))
    invalid = _plan_invalid(rng, cases, scale)
    scrs += others + extra + list(invalid)
    assign_numbers(rng, cases + new_cases, scrs)
    for scr in scrs:
        fill_attributes(rng, scr)
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
        # each case's truth ('' = a TCO, else the failed prong(s)): the demo analysts' answers
        "case_truths": {c.number: c.reason for c in cases + new_cases if c.number},
    }


if __name__ == "__main__":  # python -m pipelines.demo.extracts [landing_dir] [seed] [scale]
    import json
    import sys

    args = sys.argv[1:]
    summary = write_demo_extracts(
        Path(args[0] if args else "data/landing"),
        seed=int(args[1]) if len(args) > 1 else 2023,
        scale=float(args[2]) if len(args) > 2 else 1.0,
    )
    summary.pop("case_truths")  # one entry per case: too long to print
    print(json.dumps(summary, indent=2))
