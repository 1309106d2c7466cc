"""Where things live: the one place that picks defaults for the contract's environment variables.

Resources read these with ``EnvVar`` at run time; ``apply_defaults`` only fills in what the
operator did not set, anchored at the project root so the CLI, ``dagster dev`` and tests agree.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULTS: dict[str, str] = {
    "SCR_LANDING_DIR": "data/landing",
    "SCR_WAREHOUSE": "data/warehouse.duckdb",
    "SCR_OUTPUT_DIR": "data/output",
    "DAGSTER_HOME": ".dagster",
    # Landing lifecycle (docs/LANDING.md): where ingested files are kept, and how long a file
    # must be left unchanged before it is read (a copy still in progress is not an extract).
    "SCR_ARCHIVE_DIR": "data/archive",
    "SCR_SETTLE_SECONDS": "10",
    # DuckDB limits (documented in docs/REFERENCE.md); keep peak memory bounded as input grows.
    "SCR_DUCKDB_MEMORY_LIMIT": "2GB",
    "SCR_DUCKDB_THREADS": "2",
}


def apply_defaults() -> None:
    """Set every unset variable to its default (absolute, relative to the project root)."""
    for name, value in DEFAULTS.items():
        if os.environ.get(name):
            continue
        if name.startswith("SCR_DUCKDB") or name == "SCR_SETTLE_SECONDS":
            os.environ[name] = value
        else:
            os.environ[name] = str(PROJECT_ROOT / value)
    # Dagster refuses a DAGSTER_HOME that does not exist; make the default one usable.
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)


def path_from_env(name: str) -> Path:
    """The configured path for ``name`` (after defaults), made absolute."""
    apply_defaults()
    return Path(os.environ[name]).expanduser().resolve()


def settle_seconds() -> int:
    """``SCR_SETTLE_SECONDS`` as a number (after defaults)."""
    apply_defaults()
    return int(os.environ["SCR_SETTLE_SECONDS"])
