"""A ten-row SCR extract whose measures are worked out by hand, and a helper to refresh it.

Shared by tests/report/test_report.py and tests/orchestration/test_ui_metadata.py through ``refreshed_once`` (not a
conftest fixture, so the two files stay independent of everyone else's fixtures).

By hand (contract rules):
FY2020 (percent): INITIAL I1 (TCO), I2 (not TCO: both prongs), I3 (TCO); DISRUPTION D1 (TCO),
  DISMANTLEMENT D2 (not TCO: no association). initial 3 / TCO 2; D+D 2 / TCO 1;
  old 2/3 = 66.7%, TCO-validated 1/2 = 50.0%; target 16.1%: both met.
FY2021 (count): D3 (TCO, Q1), D4 (not TCO: no border crossing, Q3), D5 (undetermined, Q3);
  P1 pending (not counted); X1 approved without approved_date (quarantined, 1 error finding).
  old 3, TCO-validated 1; target 366: neither met.
"""

import atexit
import csv
import functools
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pytest
import time_machine

# The report stamps the refresh time: the refresh runs on a clock that starts here (and ticks,
# so Dagster's own timeouts still work), so the stamp is known to the minute's first digit.
# It lies after any real run, so landing files never look newer than the clock (settling).
REFRESH_CLOCK = "2030-01-02T10:00:00+00:00"

HEADER = (
    "scr_id", "case_number", "scr_type", "criminal_category", "subcategory", "field_office",
    "status", "created_at", "submitted_date", "approved_date", "tco_involvement",
    "subject_count", "countries", "last_modified_at",
)  # fmt: skip
DRUG = "Illicit Trade, Travel, and Finance (Drug-Related)"
TCAC = "Transnational Crimes Against Children"
ROWS = [
    ("I1", "C1", "INITIAL", DRUG, "2019-11-01", "2019-11-05", "3", "US;MX"),
    ("I2", "C2", "INITIAL", TCAC, "2020-02-03", "2020-02-10", "1", "US"),
    ("I3", "C3", "INITIAL", DRUG, "2020-04-27", "2020-05-01", "4", "CO"),
    ("D1", "C1", "DISRUPTION", DRUG, "2020-02-24", "2020-03-01", "2", "MX"),
    ("D2", "C2", "DISMANTLEMENT", TCAC, "2020-07-27", "2020-08-01", "1", "US;CA"),
    ("D3", "C4", "DISRUPTION", "Transnational Gangs", "2020-12-10", "2020-12-15", "5", "US;GT"),
    ("D4", "C5", "DISRUPTION", "Cyber-Enabled Crime", "2021-04-12", "2021-04-20", "2", "US"),
    ("D5", "C6", "DISRUPTION", "National Security", "2021-05-17", "2021-05-20", "", ""),
]
FILE_NAME = "scr_extract_2021-07-15.csv"


def write_extract(landing: Path) -> Path:
    landing.mkdir(parents=True, exist_ok=True)
    path = landing / FILE_NAME
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for scr_id, case, typ, cat, submitted, approved, subjects, countries in ROWS:
            w.writerow([scr_id, case, typ, cat, "", "SAC Miami", "APPROVED",
                        f"{submitted}T09:00:00", submitted, approved, "", subjects, countries,
                        f"{approved}T12:00:00"])  # fmt: skip
        w.writerow(["P1", "C7", "DISRUPTION", TCAC, "", "SAC Miami", "PENDING",
                    "2021-06-28T09:00:00", "2021-06-28", "", "", "2", "US;MX",
                    "2021-07-01T08:30:00"])  # fmt: skip
        w.writerow(["X1", "C8", "DISRUPTION", DRUG, "", "SAC Miami", "APPROVED",
                    "2021-05-25T09:00:00", "2021-05-25", "", "", "2", "US;MX",
                    "2021-06-01T10:00:00"])  # fmt: skip
    return path


def refresh(base: Path, instance: dg.DagsterInstance) -> dict[str, Path]:
    """Point the contract's env vars at ``base`` and run a real in-process refresh."""
    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    paths = {
        "landing": base / "landing",
        "warehouse": base / "warehouse.duckdb",
        "output": base / "output",
    }
    write_extract(paths["landing"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCR_LANDING_DIR", str(paths["landing"]))
        mp.setenv("SCR_WAREHOUSE", str(paths["warehouse"]))
        mp.setenv("SCR_OUTPUT_DIR", str(paths["output"]))
        mp.setenv("DAGSTER_HOME", str(base / "dagster_home"))
        with time_machine.travel(REFRESH_CLOCK, tick=True):
            run_refresh(defs, instance, progress=lambda s: None)
    return paths


@functools.cache
def refreshed_once() -> tuple[dg.DagsterInstance, dict[str, Path]]:
    """One refresh per test session, shared by both test files (it is the slow part)."""
    base = Path(tempfile.mkdtemp(prefix="scr-report-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    instance = dg.DagsterInstance.ephemeral()
    return instance, refresh(base, instance)
