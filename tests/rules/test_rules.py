"""The rule catalogue (schemas/reference/scr_rules.csv) pinned down rule by rule, from the CSV.

For every rule there is one hand-written failing row that yields exactly that rule's finding
(naming scr_id, source_file, source_row and column) and one passing row that yields none. All
rows go through one real refresh (Dagster in-process, DuckDB file, Parquet read back). A rule
added to the CSV without a case here fails ``test_every_rule_has_a_case``. The one file-level
rule (``scr.header.normalized``) has its own second file with a case-changed header.

The ``*.future`` cases sit at the boundary (one day after ingest, US Eastern), so they use
today's Eastern date; ``*.whitespace`` cases are generated per column from a valid row.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.extracts import DRUGS, SCR_COLUMNS, valid_row, write_csv
from support.project import PROJECT_ROOT, query, read_output, refresh_in_process

from schemas.reference import REFERENCE_DIR, rules, rules_markdown

RULES_CSV = REFERENCE_DIR / "scr_rules.csv"
CATALOGUE = list(csv.DictReader(open(RULES_CSV, newline="", encoding="utf-8")))
FILE = "scr_extract_2024-02-01.csv"
HEADER_FILE = "scr_extract_2024-02-02.csv"  # Subject_Count: read as subject_count, one warning
TODAY = dt.datetime.now(ZoneInfo("America/New_York")).date()  # the ingest day, Eastern time
D1, D2 = (TODAY + dt.timedelta(days=n) for n in (1, 2))

# rule_id -> (overrides that break exactly this rule, overrides that pass it)
CASES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "scr.scr_id.required": ({"scr_id": ""}, {"scr_id": "P-SCR-ID"}),
    "scr.scr_id.length": ({"scr_id": "X" * 41}, {"scr_id": "X" * 40}),
    "scr.case_number.required": ({"case_number": ""}, {"case_number": "C"}),
    "scr.case_number.length": ({"case_number": "C" * 41}, {"case_number": "C" * 40}),
    "scr.scr_type.required": ({"scr_type": ""}, {"scr_type": "INITIAL"}),
    "scr.scr_type.enum": ({"scr_type": "DISRUPT"}, {"scr_type": "DISMANTLEMENT"}),
    "scr.criminal_category.required": ({"criminal_category": ""}, {"criminal_category": DRUGS}),
    "scr.criminal_category.enum": (
        {"criminal_category": "Illicit Trade"},
        {"criminal_category": "Cyber-Enabled Crime"},
    ),
    "scr.field_office.required": ({"field_office": "  "}, {"field_office": "SAC New York, NY"}),
    "scr.status.required": (
        {"status": "", "approved_date": ""},
        {"status": "PENDING", "approved_date": ""},
    ),
    "scr.status.enum": (
        {"status": "Approved", "approved_date": ""},
        {"status": "WITHDRAWN", "approved_date": ""},
    ),
    "scr.created_at.required": ({"created_at": ""}, {"created_at": "2024-01-02"}),
    "scr.created_at.format": (
        {"created_at": "01/02/2024 09:00"},
        {"created_at": "2024-01-02 09:00:00.123"},
    ),
    "scr.submitted_date.required": ({"submitted_date": ""}, {"submitted_date": "2024-01-02"}),
    "scr.submitted_date.format": (
        {"submitted_date": "2024-02-30"},
        {"submitted_date": "2024-01-05"},
    ),
    "scr.submitted_date.after_created": (
        {"created_at": "2024-01-05T10:00:00", "submitted_date": "2024-01-04"},
        {"created_at": "2024-01-05T10:00:00", "submitted_date": "2024-01-05"},
    ),
    "scr.approved_date.format": ({"approved_date": "2024/01/10"}, {"approved_date": "2024-01-03"}),
    "scr.approved_date.required_when_approved": (
        {"approved_date": ""},
        {"status": "RETURNED", "approved_date": ""},
    ),
    "scr.approved_date.only_when_approved": (
        {"status": "PENDING"},
        {"status": "PENDING", "approved_date": ""},
    ),
    "scr.approved_date.after_submitted": (
        {"approved_date": "2024-01-02"},
        {"approved_date": "2024-01-03"},
    ),
    "scr.approved_date.before_program": (  # the day before FY2011 began, then its first day
        {"created_at": "2010-09-01", "submitted_date": "2010-09-30", "approved_date": "2010-09-30"},
        {"created_at": "2010-09-01", "submitted_date": "2010-09-30", "approved_date": "2010-10-01"},
    ),
    "scr.tco_involvement.enum": (
        {"tco_involvement": "Yes"},
        {"tco_involvement": "N", "countries": "US"},
    ),
    "scr.tco_involvement.required_from_2023_07_18": (
        {
            "created_at": "2023-07-18T00:00:00",
            "submitted_date": "2023-07-20",
            "tco_involvement": "",
        },
        {
            "created_at": "2023-07-17T23:59:59",
            "submitted_date": "2023-07-20",
            "tco_involvement": "",
        },
    ),
    "scr.subject_count.integer": ({"subject_count": "2.5"}, {"subject_count": "12"}),
    "scr.subject_count.range": ({"subject_count": "1" + "0" * 30}, {"subject_count": "9" * 18}),
    "scr.scr_id.nul": ({"scr_id": "NUL\x00ID", "case_number": "CASE-NUL"}, {"scr_id": "NUL-ID"}),
    "scr.case_number.nul": ({"case_number": "CASE\x00N"}, {"case_number": "CASE-N"}),
    "scr.subcategory.nul": ({"subcategory": "Fent\x00anyl"}, {"subcategory": "Fentanyl"}),
    "scr.field_office.nul": ({"field_office": "SAC\x00X"}, {"field_office": "SAC X"}),
    "scr.subject_count.min": (
        {"subject_count": "0"},
        {"subject_count": "1", "tco_involvement": "N"},
    ),
    "scr.countries.format": ({"countries": "USA;MX"}, {"countries": "GB;FR"}),
    "scr.last_modified_at.required": (
        {"last_modified_at": ""},
        {"last_modified_at": "2024-01-10"},
    ),
    "scr.last_modified_at.format": (
        {"last_modified_at": "yesterday"},
        {"last_modified_at": "2024-01-10T12:00:00Z"},
    ),
    # future: later than one day after ingest (a date is compared with that day)
    "scr.created_at.future": (
        {"created_at": f"{D1}T23:59:59", "submitted_date": f"{D1}", "approved_date": f"{D1}"},
        {"created_at": f"{D1}T00:00:00", "submitted_date": f"{D1}", "approved_date": f"{D1}"},
    ),
    "scr.submitted_date.future": (
        {"submitted_date": f"{D2}", "status": "PENDING", "approved_date": ""},
        {"submitted_date": f"{D1}", "status": "PENDING", "approved_date": ""},
    ),
    "scr.approved_date.future": ({"approved_date": f"{D2}"}, {"approved_date": f"{D1}"}),
    "scr.last_modified_at.future": (
        {"last_modified_at": "2099-01-01T00:00:00"},
        {"last_modified_at": "2024-01-10T12:00:00-05:00"},
    ),
    # warnings: kept and counted, reported as a finding of severity 'warning'
    "scr.scr_id.case": (
        {"scr_id": "c-scr-id", "case_number": "CASE-C"},
        {"scr_id": "C-SCR-ID-P", "case_number": "CASE-C"},
    ),
    "scr.case_number.case": ({"case_number": "case-lower"}, {"case_number": "CASE-UPPER"}),
    "scr.tco_involvement.conflict": (
        {"tco_involvement": "Y", "subject_count": "1", "countries": "US"},
        {"tco_involvement": "N", "subject_count": "1", "countries": "US"},
    ),
}

for _column, _value in valid_row("W-1").items():  # " value\t": only the whitespace warning
    _value = {"scr_id": "W-SCR-ID", "subcategory": "sub"}.get(_column, _value)
    _pass = {"scr_id": "W-SCR-ID-P"}.get(_column, _value)  # another SCR than the failing row
    _case = {"case_number": "CASE-W"} if _column == "scr_id" else {}  # not from the padded id
    CASES[f"scr.{_column}.whitespace"] = ({_column: f" {_value}\t"} | _case, {_column: _pass})
FILE_LEVEL = {"scr.header.normalized"}

# One row, three problems: three findings (lazy validation), the SCR quarantined once.
TRIPLE = {"scr_type": "X", "subject_count": "0", "countries": "ZZ"}
TRIPLE_RULES = {"scr.scr_type.enum", "scr.subject_count.min", "scr.countries.format"}
RULE_IDS = [r["rule_id"] for r in CATALOGUE]
ROW_RULE_IDS = [r for r in RULE_IDS if r not in FILE_LEVEL]


def _id(value: str) -> str | None:
    """An identity as published: trimmed, upper-case, blank is missing."""
    return value.strip().upper() or None


def _layout() -> list[tuple[str, str, dict[str, str]]]:
    """(kind, rule_id, row) in file order: kind is 'fail', 'pass' or 'triple'."""
    out = []
    for i, (rule_id, (bad, good)) in enumerate(CASES.items()):
        out.append(("fail", rule_id, valid_row(**({"scr_id": f"F-{i:02d}"} | bad))))
        out.append(("pass", rule_id, valid_row(**({"scr_id": f"P-{i:02d}"} | good))))
    out.append(("triple", "", valid_row("T-01", **TRIPLE)))
    return out


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """One refresh over every case row; yields (root, {(kind, rule_id): (row, source_row)})."""
    root = tmp_path_factory.mktemp("rules")
    layout = _layout()
    write_csv(root / "landing" / FILE, [row for _, _, row in layout])
    header = [c if c != "subject_count" else "Subject_Count" for c in SCR_COLUMNS]
    row = {
        ("Subject_Count" if k == "subject_count" else k): v for k, v in valid_row("H-01").items()
    }
    write_csv(root / "landing" / HEADER_FILE, [row], header)
    with pytest.MonkeyPatch.context() as mp:
        from support.project import use_env

        use_env(mp, root)
        refresh_in_process(root)
    rows = {(kind, rid): (row, n) for n, (kind, rid, row) in enumerate(layout, start=1)}
    yield root, rows


def _findings_of_row(root: Path, source_row: int) -> list[dict]:
    found = read_output(root / "output", "validation_findings.parquet")
    return [f for f in found if f["source_file"] == FILE and f["source_row"] == source_row]


def test_catalogue_ids_are_stable_and_unique():
    assert len(RULE_IDS) == len(set(RULE_IDS))
    for r in CATALOGUE:
        assert re.fullmatch(r"scr\.[a-z_]+\.[a-z0-9_]+", r["rule_id"]), r["rule_id"]
        assert r["rule_id"].split(".")[1] == r["column"], r["rule_id"]
        assert r["severity"] in ("error", "warning")
        assert r["description"].strip()


def test_every_contract_column_with_a_rule_is_covered():
    """Every column whose contract row has a rule or is required has at least one error rule."""
    contract_checked = {
        "scr_id", "case_number", "scr_type", "criminal_category", "field_office", "status",
        "created_at", "submitted_date", "approved_date", "tco_involvement", "subject_count",
        "countries", "last_modified_at",
    }  # fmt: skip
    covered = {r["column"] for r in CATALOGUE if r["severity"] == "error"}
    assert contract_checked <= covered, contract_checked - covered


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_rule_has_a_case(rule_id):
    assert rule_id in CASES or rule_id in FILE_LEVEL, (
        f"rule {rule_id} in scr_rules.csv has no failing/passing test case"
    )


def test_no_case_for_a_rule_that_does_not_exist():
    assert set(CASES) | FILE_LEVEL <= set(RULE_IDS), set(CASES) - set(RULE_IDS)


def test_header_in_another_case_is_read_with_one_file_level_warning(refreshed):
    """``Subject_Count`` is subject_count: one warning on row 0 naming the header, and the
    value is used (3 subjects + MX: TCO by the definition test, no conflict)."""
    root, _ = refreshed
    found = read_output(root / "output", "validation_findings.parquet")
    got = [f for f in found if f["source_file"] == HEADER_FILE]
    assert [
        (f["rule_id"], f["severity"], f["source_row"], f["scr_id"], f["column_name"]) for f in got
    ] == [("scr.header.normalized", "warning", 0, None, "subject_count")]
    assert got[0]["failure_value"] == "Subject_Count" and "Subject_Count" in got[0]["message"]
    assert query(
        root / "warehouse.duckdb",
        "SELECT subject_count, determination, counted FROM scr_current WHERE scr_id = 'H-01'",
    ) == [(3, "TCO", True)]


@pytest.mark.parametrize("rule_id", ROW_RULE_IDS)
def test_failing_row_yields_exactly_its_finding(refreshed, rule_id):
    root, rows = refreshed
    row, source_row = rows[("fail", rule_id)]
    rule = rules()[rule_id]
    found = _findings_of_row(root, source_row)
    assert [(f["rule_id"], f["severity"], f["column_name"]) for f in found] == [
        (rule_id, rule.severity, rule.column)
    ]
    f = found[0]
    assert f["scr_id"] == _id(row["scr_id"])
    assert f["case_number"] == _id(row["case_number"])
    assert rule.description.split(" (")[0] in f["message"] or rule_id.endswith("conflict")


@pytest.mark.parametrize("rule_id", ROW_RULE_IDS)
def test_passing_row_yields_no_finding(refreshed, rule_id):
    root, rows = refreshed
    row, source_row = rows[("pass", rule_id)]
    assert _findings_of_row(root, source_row) == []
    quarantined = query(
        root / "warehouse.duckdb",
        "SELECT quarantined FROM scr_current WHERE scr_id = ?",
        [row["scr_id"]],
    )
    assert quarantined == [(False,)]


@pytest.mark.parametrize("rule_id", ROW_RULE_IDS)
def test_failing_row_is_quarantined_or_kept_by_severity(refreshed, rule_id):
    root, rows = refreshed
    row, _ = rows[("fail", rule_id)]
    if not row["scr_id"]:  # no scr_id: never a current record, never counted
        assert query(
            root / "warehouse.duckdb", "SELECT count(*) FROM scr_current WHERE scr_id IS NULL"
        ) == [(0,)]
        return
    got = query(
        root / "warehouse.duckdb",
        "SELECT quarantined, counted, quarantine_rules FROM scr_current WHERE scr_id = ?",
        [_id(row["scr_id"])],
    )
    if rules()[rule_id].severity == "error":
        assert got == [(True, False, rule_id)]
    else:
        assert got == [(False, True, None)]


def test_three_problems_yield_three_findings(refreshed):
    root, rows = refreshed
    _, source_row = rows[("triple", "")]
    found = _findings_of_row(root, source_row)
    assert sorted(f["rule_id"] for f in found) == sorted(TRIPLE_RULES)
    assert {f["scr_id"] for f in found} == {"T-01"}
    rules_listed = query(
        root / "warehouse.duckdb",
        "SELECT quarantine_rules FROM scr_current WHERE scr_id = 'T-01'",
    )
    assert rules_listed == [(", ".join(sorted(TRIPLE_RULES)),)]


def test_finding_totals(refreshed):
    """Exact totals: one finding per failing row, three for the triple row, none for passes."""
    root, _ = refreshed
    found = read_output(root / "output", "validation_findings.parquet")
    errors = sum(1 for r in CATALOGUE if r["severity"] == "error")
    assert sum(f["severity"] == "error" for f in found) == errors + 3
    assert sum(f["severity"] == "warning" for f in found) == len(CATALOGUE) - errors


def test_docs_list_every_rule_as_in_the_csv():
    """The documented catalogue (docs/VALIDATION.md) is checked against the CSV: same id, column, severity, description."""
    documented = (PROJECT_ROOT / "docs" / "VALIDATION.md").read_text(encoding="utf-8").splitlines()
    table = rules_markdown().splitlines()[2:]
    assert len(table) == len(rules()) > len(RULE_IDS)  # all three extracts
    missing = [line for line in table if line not in documented]
    assert not missing, (
        f"docs/VALIDATION.md is out of date; paste `scr-pipeline rules --markdown`: {missing}"
    )


def test_docs_list_every_setting_with_its_default():
    from assets._shared.settings import DEFAULTS

    documented = (PROJECT_ROOT / "docs" / "REFERENCE.md").read_text(encoding="utf-8")
    missing = [n for n, d in DEFAULTS.items() if f"| `{n}` | `{d}` |" not in documented]
    assert not missing, f"docs/REFERENCE.md, Configuration, lacks {missing}"


def test_rules_command_prints_the_catalogue(capsys):
    from pipelines.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["rules"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for r in CATALOGUE:
        assert r["rule_id"] in out and r["severity"] in out


def test_catalogue_is_metadata_on_scr_findings():
    """The Dagster UI shows the catalogue as a markdown table on the scr_findings asset."""
    import dagster as dg

    from pipelines.orchestration.definitions import defs

    spec = defs.resolve_assets_def("scr_findings").specs_by_key[dg.AssetKey("scr_findings")]
    table = spec.metadata["rule_catalogue"].value
    for r in CATALOGUE:
        assert f"`{r['rule_id']}`" in table


@pytest.mark.parametrize(
    ("asset", "prefix"),
    [("resource_request_findings", "rr."), ("case_review_findings", "cr.")],
)
def test_catalogue_is_metadata_on_every_findings_asset(asset, prefix):
    """The new value rules show in the UI for all three extract types."""
    import dagster as dg

    from pipelines.orchestration.definitions import defs

    spec = defs.resolve_assets_def(asset).specs_by_key[dg.AssetKey(asset)]
    table = spec.metadata["rule_catalogue"].value
    ids = [r for r in rules() if r.startswith(prefix)]
    assert f"`{prefix}header.normalized`" in table and all(f"`{r}`" in table for r in ids)


def test_rules_command_honours_prefix(capsys):
    from pipelines.cli.main import main

    with pytest.raises(SystemExit):
        main(["rules", "--markdown", "--prefix", "cr."])
    out = capsys.readouterr().out.splitlines()[2:]
    assert len(out) == sum(r.startswith("cr.") for r in rules()) and "`cr.reviewed_on.future`" in (
        "\n".join(out)
    )
