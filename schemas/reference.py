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
