"""An oracle for the SCR measure, written from CONTRACT.md alone.

It imports nothing from the project (no ``assets``, ``pipelines``, ``schemas``): reference data
(criminal categories, country codes, the rule catalogue) is read from the contract's CSV files
with the ``csv`` module, everything else is written here as the contract states it. Given the
rows of one or more SCR extract files it computes, in plain Python:

* the error rules each row breaks (``error_rules``),
* the current version of every SCR (latest ``last_modified_at`` in Eastern time; ties: later
  file, then later row; an undatable ``last_modified_at`` sorts as the latest),
* whether that SCR is quarantined, its TCO determination (with the non-TCO reason) and the
  fiscal quarter it counts in (``current_records``),
* the published quarterly and per-category rows (``quarterly_rows``, ``category_rows``).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

REFERENCE = Path(__file__).resolve().parents[2] / "schemas" / "reference"


def _reference_column(file: str, column: str) -> list[str]:
    with open(REFERENCE / file, newline="", encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def _rule_catalogue() -> dict[str, str]:
    with open(REFERENCE / "scr_rules.csv", newline="", encoding="utf-8") as fh:
        return {row["rule_id"]: row["severity"] for row in csv.DictReader(fh)}


# --- the contract, written out ------------------------------------------------------------
SCR_COLUMNS = (
    "scr_id", "case_number", "scr_type", "criminal_category", "subcategory", "field_office",
    "status", "created_at", "submitted_date", "approved_date", "tco_involvement",
    "subject_count", "countries", "last_modified_at",
)  # fmt: skip
SCR_TYPES = ("INITIAL", "DISRUPTION", "DISMANTLEMENT")
DD_TYPES = ("DISRUPTION", "DISMANTLEMENT")
STATUSES = ("APPROVED", "PENDING", "RETURNED", "REJECTED", "WITHDRAWN")
CHECKBOX_FROM = dt.datetime(2023, 7, 18)  # tco_involvement required from this day (Eastern)
PROGRAM_START = dt.date(2010, 10, 1)  # FY2011, the SCR program's first fiscal year
EASTERN = ZoneInfo("America/New_York")
WHITESPACE = " \t\n\r\x0b\x0c"  # ASCII whitespace, trimmed from both ends of every value
MAX_ID = 40
CATEGORIES = tuple(_reference_column("criminal_categories.csv", "category"))
COUNTRY_CODES = frozenset(_reference_column("iso3166_alpha2.csv", "code"))
RULES = _rule_catalogue()
ERROR_RULES = frozenset(r for r, severity in RULES.items() if severity == "error")
NON_TCO_REASONS = ("no_association", "no_border_crossing", "both", "indicator_no")

_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIMESTAMP = re.compile(
    r"(?P<date>" + _DATE + r")"
    r"(?:[T ](?P<h>[0-9]{2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]{1,9}))?)?"
    r"(?P<tz>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_COUNTRIES = re.compile(r"[A-Z]{2}(?:;[A-Z]{2})*")


# --- values -------------------------------------------------------------------------------
def clean(value: str | None) -> str | None:
    """Trimmed; blank is missing."""
    if value is None:
        return None
    value = value.strip(WHITESPACE)
    return value or None


def identity(value: str | None) -> str | None:
    """scr_id / case_number: trimmed, compared upper-case."""
    value = clean(value)
    return None if value is None else value.upper()


def parse_date(value: str | None) -> dt.date | None:
    """An ISO date YYYY-MM-DD that exists; None when missing or not one."""
    value = clean(value)
    if value is None or not re.fullmatch(_DATE, value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def parse_timestamp(value: str | None) -> dt.datetime | None:
    """Eastern wall time of an ISO timestamp (an offset is converted, none means Eastern)."""
    value = clean(value)
    m = None if value is None else _TIMESTAMP.fullmatch(value)
    if m is None:
        return None
    hour, minute, second = int(m["h"] or 0), int(m["m"] or 0), int(m["s"] or 0)
    micro = int((m["f"] or "0").ljust(6, "0")[:6])  # finer than microseconds: truncated
    end_of_day = hour == 24 and minute == second == 0 and not (m["f"] or "0").strip("0")
    try:  # ISO 8601: 24:00 is the end of the day, i.e. midnight of the next one
        day = dt.date.fromisoformat(m["date"]) + dt.timedelta(days=end_of_day)
        stamp = dt.datetime.combine(day, dt.time(0 if end_of_day else hour, minute, second, micro))
    except ValueError:
        return None
    tz = m["tz"]
    if tz is None:
        return stamp
    if tz == "Z":
        offset = dt.timedelta(0)
    else:  # a UTC offset is hours 00-23 and minutes 00-59: "+99:00" is not one
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            return None
        offset = dt.timedelta(hours=hours, minutes=minutes)
        offset = -offset if tz[0] == "-" else offset
    aware = stamp.replace(tzinfo=dt.timezone(offset))
    return aware.astimezone(EASTERN).replace(tzinfo=None)


def fiscal_quarter(day: dt.date) -> tuple[int, int]:
    """The fiscal year starts on 1 October: 2023-10-01 is FY2024 Q1."""
    return day.year + (day.month >= 10), (day.month - 10) % 12 // 3 + 1


def quarter_bounds(fiscal_year: int, quarter: int) -> tuple[dt.date, dt.date]:
    month = 10 + 3 * (quarter - 1)
    year = fiscal_year - 1 if month <= 12 else fiscal_year
    month = month if month <= 12 else month - 12
    start = dt.date(year, month, 1)
    nxt = dt.date(year + (month + 3 > 12), (month + 3 - 1) % 12 + 1, 1)
    return start, nxt - dt.timedelta(days=1)


# --- rules --------------------------------------------------------------------------------
def error_rules(row: dict[str, str], future_after: dt.datetime | None) -> set[str]:
    """The error rule ids ``row`` breaks. ``future_after`` is the latest Eastern time a value may
    carry (one day after the file was ingested); None: no future check."""
    bad: set[str] = set()
    v = {c: clean(row.get(c)) for c in SCR_COLUMNS}
    for c in ("scr_id", "case_number"):
        ident = identity(row.get(c))
        if ident is None:
            bad.add(f"scr.{c}.required")
        elif len(ident) > MAX_ID:
            bad.add(f"scr.{c}.length")
    for c, allowed in (
        ("scr_type", SCR_TYPES),
        ("criminal_category", CATEGORIES),
        ("status", STATUSES),
    ):
        if v[c] is None:
            bad.add(f"scr.{c}.required")
        elif v[c] not in allowed:
            bad.add(f"scr.{c}.enum")
    if v["field_office"] is None:
        bad.add("scr.field_office.required")
    created = parse_timestamp(v["created_at"])
    submitted = parse_date(v["submitted_date"])
    approved = parse_date(v["approved_date"])
    modified = parse_timestamp(v["last_modified_at"])
    for c, typed in (
        ("created_at", created),
        ("submitted_date", submitted),
        ("last_modified_at", modified),
    ):
        if v[c] is None:
            bad.add(f"scr.{c}.required")
        elif typed is None:
            bad.add(f"scr.{c}.format")
    if v["approved_date"] is not None and approved is None:
        bad.add("scr.approved_date.format")
    if submitted and created and submitted < created.date():
        bad.add("scr.submitted_date.after_created")
    if v["status"] == "APPROVED" and v["approved_date"] is None:
        bad.add("scr.approved_date.required_when_approved")
    if v["status"] != "APPROVED" and v["approved_date"] is not None:
        bad.add("scr.approved_date.only_when_approved")
    if approved and submitted and approved < submitted:
        bad.add("scr.approved_date.after_submitted")
    if approved and approved < PROGRAM_START:  # CONTRACT turn 4: keys begin at FY2011-Q1
        bad.add("scr.approved_date.before_program")
    if v["tco_involvement"] is not None and v["tco_involvement"] not in ("Y", "N"):
        bad.add("scr.tco_involvement.enum")
    if created is not None and created >= CHECKBOX_FROM and v["tco_involvement"] is None:
        bad.add("scr.tco_involvement.required_from_2023_07_18")
    if v["subject_count"] is not None:
        if not re.fullmatch(r"-?[0-9]+", v["subject_count"]):
            bad.add("scr.subject_count.integer")
        elif not _INTEGER.fullmatch(v["subject_count"]):  # more than 18 digits
            bad.add("scr.subject_count.range")
        elif int(v["subject_count"]) < 1:
            bad.add("scr.subject_count.min")
    if v["countries"] is not None and not (
        _COUNTRIES.fullmatch(v["countries"])
        and all(c in COUNTRY_CODES for c in v["countries"].split(";"))
    ):
        bad.add("scr.countries.format")
    if future_after is not None:
        for c, typed in (("created_at", created), ("last_modified_at", modified)):
            if typed is not None and typed > future_after:
                bad.add(f"scr.{c}.future")
        for c, typed in (("submitted_date", submitted), ("approved_date", approved)):
            if typed is not None and typed > future_after.date():
                bad.add(f"scr.{c}.future")
    unknown = bad - ERROR_RULES
    assert not unknown, f"oracle names rules the catalogue lacks: {unknown}"
    return bad


# --- current records and determinations ---------------------------------------------------
@dataclass(frozen=True)
class Version:
    file: str
    row: int  # 1-based data row
    values: dict
    errors: frozenset

    @property
    def scr_id(self) -> str | None:
        return identity(self.values.get("scr_id"))

    @property
    def order(self) -> tuple:
        """Sort key of the current-record rule: the largest is current."""
        modified = parse_timestamp(self.values.get("last_modified_at"))
        return (modified is None, modified or dt.datetime.min, self.file, self.row)


@dataclass(frozen=True)
class Current:
    scr_id: str
    version: Version
    quarantined: bool
    determination: str | None  # TCO / NON_TCO / UNDETERMINED; None when quarantined
    non_tco_reason: str | None
    counted: bool
    quarter: tuple[int, int] | None  # of approved_date, when counted

    @property
    def scr_type(self) -> str:
        return clean(self.version.values["scr_type"])

    @property
    def category(self) -> str:
        return clean(self.version.values["criminal_category"])


def versions_of(
    files: dict[str, list[dict[str, str]]], future_after: dt.datetime | None
) -> list[Version]:
    """Every row of every file (file name -> rows) with the error rules it breaks."""
    return [
        Version(name, n, row, frozenset(error_rules(row, future_after)))
        for name, rows in files.items()
        for n, row in enumerate(rows, start=1)
    ]


def determine(values: dict[str, str]) -> tuple[str, str | None]:
    """(determination, non-TCO reason) of a valid current record."""
    checkbox = clean(values["tco_involvement"])
    subjects, countries = clean(values["subject_count"]), clean(values["countries"])
    if checkbox == "N":
        return "NON_TCO", "indicator_no"
    if subjects is not None and countries is not None:
        association = int(subjects) >= 2
        international = any(c != "US" for c in countries.split(";"))
        if association and international:
            return "TCO", None
        if not association and not international:
            return "NON_TCO", "both"
        return "NON_TCO", "no_association" if not association else "no_border_crossing"
    return ("TCO", None) if checkbox == "Y" else ("UNDETERMINED", None)


def current_records(versions: list[Version]) -> dict[str, Current]:
    latest: dict[str, Version] = {}
    for v in versions:
        if v.scr_id is not None and (v.scr_id not in latest or v.order > latest[v.scr_id].order):
            latest[v.scr_id] = v
    out = {}
    for scr_id, v in latest.items():
        quarantined = bool(v.errors)
        determination, reason = (None, None) if quarantined else determine(v.values)
        counted = not quarantined and clean(v.values["status"]) == "APPROVED"
        quarter = fiscal_quarter(parse_date(v.values["approved_date"])) if counted else None
        out[scr_id] = Current(scr_id, v, quarantined, determination, reason, counted, quarter)
    return out


# --- measures -----------------------------------------------------------------------------
QUARTER_COUNTS = (
    "initial_approved", "disruptions", "dismantlements", "dd_total", "dd_tco", "dd_non_tco",
    "dd_undetermined", "initial_tco",
)  # fmt: skip


def quarterly_rows(current: dict[str, Current]) -> dict[tuple[int, int], dict]:
    """One row per fiscal quarter with a counted SCR, as the contract's table defines it."""
    rows: dict[tuple[int, int], dict] = {}
    for c in current.values():
        if not c.counted:
            continue
        r = rows.setdefault(c.quarter, dict.fromkeys(QUARTER_COUNTS, 0))
        dd = c.scr_type in DD_TYPES
        r["initial_approved"] += c.scr_type == "INITIAL"
        r["disruptions"] += c.scr_type == "DISRUPTION"
        r["dismantlements"] += c.scr_type == "DISMANTLEMENT"
        r["dd_total"] += dd
        r["dd_tco"] += dd and c.determination == "TCO"
        r["dd_non_tco"] += dd and c.determination == "NON_TCO"
        r["dd_undetermined"] += dd and c.determination == "UNDETERMINED"
        r["initial_tco"] += c.scr_type == "INITIAL" and c.determination == "TCO"
    out = {}
    fytd: dict[int, dict[str, int]] = {}
    for (fy, q), r in sorted(rows.items()):
        acc = fytd.setdefault(
            fy, dict.fromkeys(("initial_approved", "dd_total", "dd_tco", "initial_tco"), 0)
        )
        for k in acc:
            acc[k] += r[k]
        start, end = quarter_bounds(fy, q)
        out[(fy, q)] = {
            "fiscal_year": fy,
            "fiscal_quarter": q,
            "quarter_start": start,
            "quarter_end": end,
            **{k: int(v) for k, v in r.items()},
            **{f"fytd_{k}": v for k, v in acc.items()},
            "pct_all": acc["dd_total"] / acc["initial_approved"]
            if acc["initial_approved"]
            else None,
            "pct_tco": acc["dd_tco"] / acc["initial_tco"] if acc["initial_tco"] else None,
        }
    return out


CATEGORY_COUNTS = ("dd_total", "dd_tco", "dd_non_tco", *NON_TCO_REASONS, "dd_undetermined")


def category_rows(current: dict[str, Current]) -> dict[tuple[int, int, str], dict]:
    """Per quarter with a counted SCR and per category of the reference list (zeros included):
    disruptions + dismantlements by determination and non-TCO reason."""
    quarters = {c.quarter for c in current.values() if c.counted}
    out = {
        (fy, q, cat): {"fiscal_year": fy, "fiscal_quarter": q, "criminal_category": cat}
        | dict.fromkeys(CATEGORY_COUNTS, 0)
        for fy, q in quarters
        for cat in CATEGORIES
    }
    for c in current.values():
        if not (c.counted and c.scr_type in DD_TYPES):
            continue
        r = out[(*c.quarter, c.category)]
        r["dd_total"] += 1
        r["dd_tco"] += c.determination == "TCO"
        r["dd_non_tco"] += c.determination == "NON_TCO"
        r["dd_undetermined"] += c.determination == "UNDETERMINED"
        if c.non_tco_reason:
            r[c.non_tco_reason] += 1
    return out
