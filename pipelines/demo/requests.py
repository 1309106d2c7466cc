"""Demo resource request extracts (recommendation 3 of the audit).

128 requests for budget years FY2017-FY2022 of which exactly 3 cite SCR data, as the
auditors found, including the audit's three examples of requests that did *not* use SCR data
although SCR categories could have supported them; then 40 requests for FY2023-FY2025 in
which citing SCR data becomes common once OAO guidance requires it.
"""

from __future__ import annotations

import csv
import math
import random
from datetime import date, timedelta
from pathlib import Path

from pipelines.demo.catalog import (
    AUDIT_REQUEST_EXAMPLES,
    CITE_RATE_AFTER,
    PROGRAM_OFFICES,
    REQUESTS_PER_FY,
    ProgramOffice,
    label_for,
)

REQUEST_COLUMNS = (
    "request_id", "fiscal_year", "program_office", "title", "amount_usd", "positions",
    "scr_categories", "cites_scr_data", "submitted_date",
)  # fmt: skip
# Requests citing SCR data in FY2017-FY2022 (the audit counted 3 of 128).
CITING_BEFORE_AUDIT = (
    (2019, "Illicit Finance and Proceeds of Crime Unit"),
    (2021, "Human Smuggling Unit"),
    (2022, "Counter-Proliferation Investigations Unit"),
)
REQUEST_FILES = (("resource_requests_2023-01-15.csv", date(2023, 1, 15)),
                 ("resource_requests_2024-05-15.csv", date(2024, 5, 15)))  # fmt: skip


def _submitted(rng: random.Random, fy: int) -> date:
    """Some months (6-12) before the budget year starts on 1 Oct of fy-1."""
    day = date(fy - 1, 10, 1) - timedelta(days=rng.randint(183, 365))
    return day - timedelta(days=max(0, day.weekday() - 4))


def _amount(rng: random.Random, office: ProgramOffice) -> tuple[str, int]:
    amount = office.median_usd * math.exp(rng.gauss(0.0, 0.6))
    amount = round(amount, -3) if rng.random() < 0.85 else round(amount, 2)
    positions = int(amount / 250_000 * rng.uniform(0.2, 1.1)) if office.categories else 0
    return f"{amount:.2f}", min(positions, 60)


def _categories(rng: random.Random, keys: tuple[str, ...], force: bool) -> str:
    if not keys or (not force and rng.random() < 0.3):
        return ""
    return ";".join(label_for(key) for key in keys)


def _fy_requests(rng: random.Random, fy: int) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    fixed = [ex for ex in AUDIT_REQUEST_EXAMPLES if ex[0] == fy]
    for _, office, title, amount, positions, keys in fixed:
        rows.append(_row(rng, fy, office, title, amount, positions, ";".join(map(label_for, keys))))
        rows[-1]["cites_scr_data"] = "N"
    citing = {name for year, name in CITING_BEFORE_AUDIT if year == fy}
    pairs = [(o, t) for o in PROGRAM_OFFICES for t in o.titles if t not in {f[2] for f in fixed}]
    chosen = [p for p in pairs if p[0].name in citing][: len(citing)]
    cite_pairs = list(chosen)
    rest = [p for p in pairs if p not in chosen]
    weights = [1.0 + 2.0 * len(o.categories) for o, _ in rest]
    while len(chosen) < REQUESTS_PER_FY[fy] - len(fixed):
        pick = rng.choices(rest, weights)[0]
        if pick not in chosen:
            chosen.append(pick)
    for office, title in chosen:
        cites = (office, title) in cite_pairs
        cites = cites if fy <= 2022 else rng.random() < CITE_RATE_AFTER[fy]
        cites = cites and bool(office.categories)
        amount, positions = _amount(rng, office)
        cats = _categories(rng, office.categories, force=cites)
        rows.append(_row(rng, fy, office.name, title, amount, positions, cats))
        rows[-1]["cites_scr_data"] = "Y" if cites else "N"
    rows.sort(key=lambda r: (r["submitted_date"], r["program_office"], r["title"]))
    for seq, row in enumerate(rows, start=1):
        row["request_id"] = f"RAP-FY{fy % 100:02d}-{seq:03d}"
    return rows


def _row(
    rng: random.Random, fy: int, office: str, title: str, amount: str, positions: int, cats: str
) -> dict[str, str]:
    return {
        "request_id": "", "fiscal_year": str(fy), "program_office": office, "title": title,
        "amount_usd": amount, "positions": str(positions), "scr_categories": cats,
        "cites_scr_data": "N", "submitted_date": _submitted(rng, fy).isoformat(),
    }  # fmt: skip


def write_resource_requests(landing_dir: Path, seed: int) -> dict[str, object]:
    """Write the resource request extracts; return file row counts and citing counts."""
    rng = random.Random(seed * 7919 + 17)  # independent of the SCR stream and of scale
    rows = [row for fy in sorted(REQUESTS_PER_FY) for row in _fy_requests(rng, fy)]
    files: dict[str, int] = {}
    lower = ""
    for name, cutoff in REQUEST_FILES:
        batch = [r for r in rows if lower < r["submitted_date"] <= cutoff.isoformat()]
        with (landing_dir / name).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=REQUEST_COLUMNS, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(batch)
        files[name] = len(batch)
        lower = cutoff.isoformat()
    audit = [r for r in rows if int(r["fiscal_year"]) <= 2022]
    later = [r for r in rows if int(r["fiscal_year"]) > 2022]
    return {
        "files": files,
        "requests_fy2017_2022": len(audit),
        "citing_fy2017_2022": sum(r["cites_scr_data"] == "Y" for r in audit),
        "requests_fy2023_2025": len(later),
        "citing_fy2023_2025": sum(r["cites_scr_data"] == "Y" for r in later),
    }
