"""SCR rows and extract files for tests: one valid row to vary, a small hand-written history
whose measures are worked out by hand (FILE_A first versions, FILE_B corrections; see
tests/measures/test_pipeline_numbers.py), and an RFC 4180 writer."""

from __future__ import annotations

import csv
from pathlib import Path

from schemas.extracts import SCR

SCR_COLUMNS = list(SCR.columns)
GANGS = "Transnational Gangs"
CYBER = "Cyber-Enabled Crime"
DRUG = "Illicit Trade, Travel, and Finance (Drug-Related)"
CHILD = "Transnational Crimes Against Children"
CP = "Counter-Proliferation"
WORK = "Worksite Enforcement/Labor Exploitation"
NATSEC = "National Security"
DRUGS = DRUG  # the name the validation tests use


def scr(
    scr_id,
    case,
    typ,
    cat,
    approved,
    *,
    status="APPROVED",
    created="2023-06-01T09:00:00",
    submitted=None,
    tco="",
    subjects="",
    countries="",
    modified=None,
    **extra,
) -> dict:
    submitted = submitted or created[:10]
    return {
        "scr_id": scr_id,
        "case_number": case,
        "scr_type": typ,
        "criminal_category": cat,
        "subcategory": extra.get("subcategory", ""),
        "field_office": extra.get("office", "SAC Houston"),
        "status": status,
        "created_at": created,
        "submitted_date": submitted,
        "approved_date": approved,
        "tco_involvement": tco,
        "subject_count": subjects,
        "countries": countries,
        "last_modified_at": modified or f"{approved or submitted}T12:00:00",
    }


FILE_A = [
    scr("A1", "C100", "INITIAL", GANGS, "2023-09-30", subjects="3", countries="US;MX"),
    scr(
        "A2",
        "C100",
        "DISRUPTION",
        GANGS,
        "2023-10-01",
        created="2023-07-17T23:59:59",
        subjects="3",
        countries="US;MX",
    ),
    scr("A3", "C200", "DISRUPTION", CYBER, "2023-12-31", subjects="1", countries="US;CA"),
    scr("A4", "C300", "DISMANTLEMENT", NATSEC, "2024-01-01", subjects="4", countries="US"),
    scr("A5", "C400", "DISRUPTION", DRUG, "2023-11-15", subjects="1", countries="US"),
    scr(
        "A6",
        "C500",
        "DISRUPTION",
        CHILD,
        "2023-11-20",
        created="2023-07-18T00:00:00",
        tco="N",
        subjects="5",
        countries="US;PH",
    ),
    scr("A7", "C600", "DISRUPTION", CP, "2023-12-01", created="2023-08-01T10:00:00", tco="Y"),
    scr(
        "A8",
        "C700",
        "DISMANTLEMENT",
        WORK,
        "2023-10-15",
        created="2023-01-01T10:00:00",
        subjects="2",
    ),
    scr("A9", "C800", "INITIAL", NATSEC, "2023-10-20", subjects="2", countries="CN"),
    scr("A10", "C900", "DISRUPTION", CYBER, "", status="PENDING", subjects="2", countries="MX"),
    scr(
        "A11",
        "C901",
        "DISRUPTION",
        GANGS,
        "2023-11-01",
        created="2023-07-18T08:00:00",
        subjects="3",
        countries="US;MX",
    ),
    scr(
        "A12",
        "C902",
        "INITIAL",
        GANGS,
        "2023-11-02",
        subjects="3",
        countries="US;SV",
        modified="2023-11-02T10:00:00",
    ),
    scr(
        "A15",
        "C904",
        "DISRUPTION",
        GANGS,
        "2023-10-05",
        subjects="2",
        countries="US;MX",
        modified="2023-10-05T10:00:00",
    ),
]

FILE_B = [
    # A12 corrected: approval date moves from FY2024 Q1 to Q2
    scr(
        "A12",
        "C902",
        "INITIAL",
        GANGS,
        "2024-01-05",
        subjects="3",
        countries="US;SV",
        modified="2024-01-06T10:00:00",
    ),
    # A14: two versions with the same last_modified_at in one file: the later row wins
    scr(
        "A14",
        "C903",
        "DISRUPTION",
        GANGS,
        "",
        status="PENDING",
        subjects="2",
        countries="US;GT",
        modified="2024-02-10T12:00:00",
        submitted="2024-01-20",
    ),
    scr(
        "A14",
        "C903",
        "DISRUPTION",
        GANGS,
        "2024-02-10",
        subjects="2",
        countries="US;GT",
        modified="2024-02-10T12:00:00",
        submitted="2024-01-20",
    ),
    # A15: a later invalid version quarantines the SCR; the older valid one does not count
    scr(
        "A15",
        "C904",
        "DISRUPT",
        GANGS,
        "2023-10-05",
        subjects="2",
        countries="US;MX",
        modified="2023-12-01T10:00:00",
    ),
]


def valid_row(scr_id: str = "SCR-1", **overrides: str) -> dict[str, str]:
    """An approved DISRUPTION that passes every rule and is determined TCO (FY2024 Q2)."""
    row = {
        "scr_id": scr_id,
        "case_number": "CASE-" + (overrides.get("scr_id", scr_id) or "X")[:20],
        "scr_type": "DISRUPTION",
        "criminal_category": NATSEC,
        "subcategory": "",
        "field_office": "SAC Houston",
        "status": "APPROVED",
        "created_at": "2024-01-02T09:00:00",
        "submitted_date": "2024-01-03",
        "approved_date": "2024-01-10",
        "tco_involvement": "Y",
        "subject_count": "3",
        "countries": "US;MX",
        "last_modified_at": "2024-01-10T12:00:00",
    }
    unknown = set(overrides) - set(row)
    if unknown:
        raise KeyError(f"not SCR columns: {sorted(unknown)}")
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """RFC 4180 CSV (quotes, commas and newlines quoted) with a header row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = columns or SCR_COLUMNS
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path
