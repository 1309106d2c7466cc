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
