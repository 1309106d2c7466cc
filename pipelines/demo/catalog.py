"""Lookup tables and audit calibration for the demo extract generator.

The category *list* is reference data (``schemas/reference/criminal_categories.csv``); this
module only attaches demo-generation profiles to those labels (shares, failure rates by
reason from the audit's Table 2, subcategories, countries) and fails loudly if the
reference list and the profiles drift apart. Figures come from the DHS OIG audit of
September 19, 2023 (shared/reference): Tables 2 and 3, the 5,016-case / 8,275-SCR
population and the 128 resource requests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from schemas.reference import REFERENCE_DIR

CATEGORIES_CSV = REFERENCE_DIR / "criminal_categories.csv"

# The demo's data end with the last complete fiscal quarter before it was built (FY2026 Q4,
# 30 September 2026): a freshly started UI then finds the due quarter published. FY2026 lands
# as quarterly extracts after the FY2025 annual one (pipelines/demo/extracts.py).
LAST_FY = 2026
# Table 3: approved disruptions + dismantlements per FY (FY2023-FY2026: plausible growth).
DD_TARGETS: dict[int, int] = {
    2017: 420, 2018: 347, 2019: 322, 2020: 618, 2021: 698, 2022: 1083, 2023: 1187, 2024: 1296,
    2025: 1350, 2026: 1410,
}  # fmt: skip
# Approved INITIAL SCRs per FY. FY2017-FY2020 reproduce Table 1's published percents, which
# divide Table 3 by the approved initial investigations: 420/1,834 = 22.9%, 347/1,928 = 18.0%,
# 322/2,132 = 15.1%, 618/2,492 = 24.8%. (The audit's population, 8,275 approved SCRs in 5,016
# cases over FY2017-FY2022, cannot hold that many initial investigations too; the demo follows
# the published results.) From FY2021 the measure is a count: the initials keep growing slowly.
INITIAL_TARGETS: dict[int, int] = {
    2017: 1834, 2018: 1928, 2019: 2132, 2020: 2492, 2021: 2550, 2022: 2600, 2023: 2650,
    2024: 2700, 2025: 2750, 2026: 2800,
}  # fmt: skip
# Cases opened before FY2017 whose INITIAL predates the extracts: 5,016 - 4,787.
LEGACY_CASES = 229
FISCAL_YEARS = tuple(DD_TARGETS)
QUARTER_WEIGHTS = (0.22, 0.24, 0.25, 0.29)  # approvals lean to Q4 (year-end push)
CHECKBOX_DATE = "2023-07-18"


@dataclass(frozen=True)
class Office:
    name: str
    code: str
    weight: float


FIELD_OFFICES: tuple[Office, ...] = tuple(
    Office(f"SAC {name}", code, weight)
    for name, code, weight in [
        ("Atlanta", "AT", 4), ("Baltimore", "BA", 2), ("Boston", "BO", 3), ("Buffalo", "BU", 1.5),
        ("Chicago", "CH", 4), ("Dallas", "DA", 4), ("Denver", "DV", 2), ("Detroit", "DE", 3),
        ("El Paso", "EP", 3), ("Honolulu", "HL", 1), ("Houston", "HO", 6),
        ("Los Angeles", "LA", 5), ("Miami", "MI", 5), ("New Orleans", "NO", 3),
        ("New York", "NY", 6), ("Newark", "NE", 3), ("Philadelphia", "PH", 3),
        ("Phoenix", "PX", 4), ("San Antonio", "SA", 4), ("San Diego", "SD", 4),
        ("San Francisco", "SF", 3), ("San Juan", "SJ", 2), ("Seattle", "SE", 2.5),
        ("St. Paul", "SP", 2), ("Tampa", "TA", 3), ("Washington, D.C.", "WA", 3),
    ]
)  # fmt: skip


@dataclass(frozen=True)
class CategoryProfile:
    key: str  # short handle used by the tables below
    share: float  # share of cases
    fail_rate: float  # share of cases failing the TCO definition test
    reasons: tuple[int, int, int]  # Table 2 (A) no association, (B) no border, both
    programs: tuple[str, ...]  # two-letter program codes used in case numbers
    # (subcategory, weight when the case is a TCO, weight when it is not)
    subcategories: tuple[tuple[str, float, float], ...]
    countries: tuple[str, ...]  # foreign countries, most frequent first


CATEGORY_PROFILES: dict[str, CategoryProfile] = {
    "Transnational Crimes Against Children": CategoryProfile(
        "children", 0.37, 0.95, (38, 11, 107), ("CE", "CS"),
        (("Child Sexual Exploitation", 3, 4), ("Child Sex Tourism", 4, 0.5),
         ("Child Pornography Production", 1, 4), ("Online Enticement of Minors", 0.5, 3),
         ("Sextortion", 1, 2), ("Live-Streamed Child Abuse", 3, 0.5)),
        ("PH", "MX", "CA", "GB", "TH", "KH", "IN", "CO", "DE", "RU"),
    ),
    "Counter-Proliferation": CategoryProfile(
        "proliferation", 0.04, 0.165, (3, 0, 0), ("CP", "EX"),
        (("Export Enforcement", 4, 4), ("Dual-Use Technology Transfer", 2, 1),
         ("Sanctions Violations", 2, 1), ("Firearms Trafficking (Export)", 2, 2)),
        ("CN", "IR", "RU", "AE", "HK", "TR", "DE", "MX"),
    ),
    "Illicit Trade, Travel, and Finance (Non-Drug-Related)": CategoryProfile(
        "non_drug", 0.16, 0.46, (4, 19, 9), ("FR", "HS", "IP", "MF"),
        (("Human Smuggling", 4, 1), ("Human Trafficking", 3, 2), ("Money Laundering", 3, 2),
         ("Intellectual Property Theft", 2, 3), ("Commercial Fraud", 2, 3),
         ("Bulk Cash Smuggling", 1, 0.5), ("Identity and Benefit Fraud", 0.5, 3),
         ("Wildlife Trafficking", 0.5, 0.3)),
        ("MX", "CN", "GT", "HN", "IN", "NG", "HK", "AE", "GB", "TR", "SV", "DO"),
    ),
    "Cyber-Enabled Crime": CategoryProfile(
        "cyber", 0.04, 0.055, (0, 1, 0), ("CY",),
        (("Darknet Marketplaces", 3, 2), ("Cyber Intrusion", 2, 1), ("Ransomware", 2, 1),
         ("Cryptocurrency Fraud", 2, 2), ("Business Email Compromise", 2, 1)),
        ("RU", "UA", "RO", "NG", "CN", "IN", "BR", "NL"),
    ),
    "Illicit Trade, Travel, and Finance (Drug-Related)": CategoryProfile(
        "drug", 0.20, 0.23, (0, 19, 1), ("QR", "NA"),
        (("Narcotics Smuggling", 5, 3), ("Fentanyl Trafficking", 3, 3),
         ("Drug Money Laundering", 2, 1), ("Precursor Chemical Trafficking", 1, 0.3),
         ("Cartel Operations", 2, 0.2)),
        ("MX", "CO", "GT", "HN", "SV", "CN", "DO", "PE", "VE", "CA", "PA", "IN"),
    ),
    "Worksite Enforcement/Labor Exploitation": CategoryProfile(
        "worksite", 0.03, 0.22, (0, 3, 0), ("WE", "LX"),
        (("Labor Exploitation", 3, 3), ("Forced Labor", 2, 1),
         ("Employer Worksite Violations", 2, 3), ("Visa Fraud (Labor)", 1, 1)),
        ("MX", "GT", "HN", "SV", "CN", "IN", "PH"),
    ),
    "Transnational Gangs": CategoryProfile(
        "gangs", 0.04, 0.055, (0, 1, 0), ("GA",),
        (("Gang Violence (MS-13)", 5, 3), ("Gang Violence (18th Street)", 2, 2),
         ("Transnational Gang Drug Distribution", 2, 1), ("Gang Extortion", 1, 1)),
        ("SV", "HN", "GT", "MX"),
    ),
    "National Security": CategoryProfile(
        "natsec", 0.12, 0.70, (7, 0, 30), ("NS", "HR"),
        (("Human Rights Violators", 2, 3), ("Terrorism Financing", 2, 1),
         ("Visa Security", 1, 3), ("Counterterrorism", 3, 2), ("War Crimes", 1, 2)),
        ("SY", "IQ", "AF", "SO", "IR", "YE", "PK", "RW", "BA", "GT"),
    ),
}  # fmt: skip


def load_categories(path: Path = CATEGORIES_CSV) -> list[str]:
    """Category labels from the reference CSV, checked against the demo profiles."""
    with path.open(newline="", encoding="utf-8") as fh:
        labels = [row["category"] for row in csv.DictReader(fh) if row["category"]]
    missing = sorted(set(labels) ^ set(CATEGORY_PROFILES))
    if missing:
        raise ValueError(f"{path}: categories and demo profiles differ on {missing}")
    return labels


@dataclass(frozen=True)
class ProgramOffice:
    name: str
    titles: tuple[str, ...]
    categories: tuple[str, ...]  # CategoryProfile keys
    median_usd: float


PROGRAM_OFFICES: tuple[ProgramOffice, ...] = (
    ProgramOffice("Cyber Crimes Unit", ("Cyber Crimes Center digital forensics capacity",
                  "Darknet and cryptocurrency investigations tooling",
                  "Computer forensic agents for field offices"), ("cyber",), 4.5e6),
    ProgramOffice("Child Exploitation Investigations Unit", ("Victim identification lab expansion",
                  "Angel Watch Center staffing", "Operation Predator field support"), ("children",), 5e6),
    ProgramOffice("Victim Assistance Program", ("Victim assistance specialists",
                  "Forensic interview capacity"), ("non_drug", "children", "natsec"), 2e6),
    ProgramOffice("Counter-Proliferation Investigations Unit", ("Export enforcement coordination",
                  "Counter-proliferation case agents"), ("proliferation",), 3e6),
    ProgramOffice("Illicit Finance and Proceeds of Crime Unit", ("Financial analysts for "
                  "money laundering cases", "Trade-based money laundering analytics"), ("non_drug", "drug"), 3e6),
    ProgramOffice("Human Smuggling Unit", ("Extraterritorial criminal travel strike force",
                  "Human smuggling task force agents"), ("non_drug",), 4e6),
    ProgramOffice("Human Trafficking Unit", ("Trafficking victim-centered investigations",),
                  ("non_drug", "worksite"), 2.5e6),
    ProgramOffice("Trade Enforcement Coordination Center", ("Commercial fraud targeting",
                  "Forced labor import enforcement"), ("non_drug", "worksite"), 2.5e6),
    ProgramOffice("National Security Division", ("Counterterrorism investigations support",
                  "Visa security program expansion"), ("natsec",), 6e6),
    ProgramOffice("Gang Unit", ("Transnational gang task forces", "MS-13 disruption initiative"),
                  ("gangs",), 2e6),
    ProgramOffice("Labor Exploitation Unit", ("Worksite enforcement agents",), ("worksite",), 2e6),
    ProgramOffice("Narcotics and Transnational Organized Crime Unit", ("Border Enforcement "
                  "Security Task Force expansion", "Fentanyl supply chain targeting"), ("drug",), 7e6),
    ProgramOffice("Human Rights Violators and War Crimes Center", ("Historian and analyst "
                  "positions",), ("natsec",), 1.5e6),
    ProgramOffice("HSI Forensic Laboratory", ("Document examination equipment refresh",), (), 1e6),
    ProgramOffice("Office of Intelligence", ("Intelligence research specialists",
                  "Analytic platform licenses"), (), 3e6),
    ProgramOffice("Mission Support", ("Vehicle fleet replacement", "Radio modernization"), (),
                  5e6),
)  # fmt: skip

# The audit's three examples of requests that did NOT use SCR data although SCR categories
# could have supported them: (fiscal_year, office, title, amount_usd, positions, categories).
AUDIT_REQUEST_EXAMPLES: tuple[tuple[int, str, str, str, int, tuple[str, ...]], ...] = (
    (2020, "Cyber Crimes Unit", "Cyber Crimes Center capabilities to counter TCOs and "
     "malicious cyber threats", "8800000.00", 12, ("cyber",)),
    (2020, "Child Exploitation Investigations Unit", "Child exploitation investigative "
     "capacity and emerging technology", "10600000.00", 5, ("children",)),
    (2022, "Victim Assistance Program", "Victim assistance tools and resources",
     "3000000.00", 16, ("non_drug", "children", "natsec")),
)  # fmt: skip
# Requests per budget fiscal year: 128 for FY2017-FY2022 (the audit), 40 afterwards.
REQUESTS_PER_FY: dict[int, int] = {
    2017: 19, 2018: 20, 2019: 21, 2020: 22, 2021: 22, 2022: 24, 2023: 13, 2024: 13, 2025: 14,
}  # fmt: skip
# Share of requests citing SCR data after the audit (FY2017-FY2022 is fixed at exactly 3).
CITE_RATE_AFTER: dict[int, float] = {2023: 0.1, 2024: 0.3, 2025: 0.75}


def label_for(key: str) -> str:
    """Reference label of a CategoryProfile key."""
    return next(label for label, prof in CATEGORY_PROFILES.items() if prof.key == key)
