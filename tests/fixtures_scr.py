"""A small hand-written SCR history whose measures are worked out by hand in the tests.

File A (scr_extract_2024-01-10.csv) holds first versions; file B (scr_extract_2024-02-01.csv)
holds corrections. See tests/test_pipeline_numbers.py for the expected figures.
"""

from __future__ import annotations

GANGS = "Transnational Gangs"
CYBER = "Cyber-Enabled Crime"
DRUG = "Illicit Trade, Travel, and Finance (Drug-Related)"
CHILD = "Transnational Crimes Against Children"
CP = "Counter-Proliferation"
WORK = "Worksite Enforcement/Labor Exploitation"
NATSEC = "National Security"


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
