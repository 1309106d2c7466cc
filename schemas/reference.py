"""Reference data (criminal categories, Table 1 targets, country codes, rule catalogue).

Data lives in ``schemas/reference/*.csv`` so a reviewer can read it without Python; this module
only loads it.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def _rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_DIR / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@functools.cache
def criminal_categories() -> tuple[str, ...]:
    return tuple(r["category"] for r in _rows("criminal_categories.csv"))


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset(r["code"] for r in _rows("iso3166_alpha2.csv"))


def annual_targets_path() -> Path:
    return REFERENCE_DIR / "annual_targets.csv"


TARGET_COLUMNS = ("fiscal_year", "measure_type", "target", "reported_result")


def _number(text: str, where: str, percent: bool, required: bool) -> float | None:
    if not text.strip():
        if required:
            raise ValueError(f"{where}: a number is required")
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number") from None
    if not value > 0 or (percent and value >= 1):
        unit = "a fraction between 0 and 1 (0.158 = 15.8%)" if percent else "a count above 0"
        raise ValueError(f"{where}: {text!r} must be {unit}")
    return value


def annual_targets(path: Path | None = None) -> dict[int, dict]:
    """The published targets by fiscal year, checked row by row (docs/REPORT.md, "Targets"):
    a bad row stops the refresh with the file, row and column, before any figure is built."""
    path = path or annual_targets_path()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in TARGET_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing column(s) {', '.join(missing)}")
        out: dict[int, dict] = {}
        for i, r in enumerate(reader, start=2):
            where = f"{path.name} row {i}"
            try:
                fy = int(r["fiscal_year"])
            except ValueError:
                raise ValueError(f"{where}, column fiscal_year: {r['fiscal_year']!r} is not a "
                                 "year") from None  # fmt: skip
            if fy in out:
                raise ValueError(f"{where}, column fiscal_year: FY{fy} is listed twice")
            kind = r["measure_type"]
            if kind not in ("percent", "count"):
                raise ValueError(f"{where}, column measure_type: {kind!r} is not percent or count")
            percent = kind == "percent"
            out[fy] = {
                "measure_type": kind,
                "target": _number(r["target"], f"{where}, column target", percent, True),
                "reported_result": _number(
                    r["reported_result"], f"{where}, column reported_result", percent, False
                ),
            }
    return out


@dataclass(frozen=True)
class Threshold:
    check: str
    asset: str
    max_share: float
    of_what: str
    why: str


@functools.cache
def check_thresholds() -> dict[tuple[str, str], Threshold]:
    """When a warning check fails, by (asset, check): the share of ``of_what`` above which
    someone must act (``reference/check_thresholds.csv``; edit it to configure)."""
    out: dict[tuple[str, str], Threshold] = {}
    for i, r in enumerate(_rows("check_thresholds.csv"), start=2):
        try:
            share = float(r["max_share"])
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            raise ValueError(
                f"check_thresholds.csv row {i}, column max_share: {r['max_share']!r} is not a "
                "share between 0 and 1"
            )
        out[r["asset"], r["check"]] = Threshold(
            r["check"], r["asset"], share, r["of_what"], r["why"]
        )
    return out


def within(count: int, total: int, asset: str, check: str) -> tuple[bool, dict[str, float]]:
    """Whether ``count`` of ``total`` is at or under the check's threshold, and the figures."""
    limit = check_thresholds()[asset, check].max_share
    share = count / total if total else 0.0
    return share <= limit, {"share": round(share, 6), "max_share": limit}


@dataclass(frozen=True)
class Rule:
    rule_id: str
    column: str
    severity: str
    description: str


@functools.cache
def rules() -> dict[str, Rule]:
    """Every rule of every extract, by rule_id, from ``reference/*_rules.csv``."""
    out: dict[str, Rule] = {}
    for path in sorted(REFERENCE_DIR.glob("*_rules.csv")):
        for r in _rows(path.name):
            if r["rule_id"] in out:
                raise ValueError(f"duplicate rule_id {r['rule_id']} in {path.name}")
            out[r["rule_id"]] = Rule(r["rule_id"], r["column"], r["severity"], r["description"])
    return out


def rules_markdown(prefix: str = "") -> str:
    """The rule catalogue as a markdown table (docs/VALIDATION.md, Dagster UI, ``scr-pipeline rules``)."""
    lines = ["| rule_id | column | severity | description |", "|---|---|---|---|"]
    for r in rules().values():
        if r.rule_id.startswith(prefix):
            desc = r.description.replace("|", "\\|")
            lines.append(f"| `{r.rule_id}` | {r.column} | {r.severity} | {desc} |")
    return "\n".join(lines)
