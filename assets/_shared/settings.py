"""Where things live: the one place that picks defaults for the contract's environment variables.

Every reader goes through here (resources at run time, sensors, schedule, alerts, CLI):
``value``/``path_from_env``/``settle_seconds`` read the variable, or its default (paths anchored
at the project root), and change nothing, so importing or loading the code location has no side
effects. Only the CLI's entry point calls ``apply_defaults``, which writes the defaults into its
own process environment (for the ``dagster dev`` it starts and for Dagster's ``DAGSTER_HOME``).
"""

from __future__ import annotations

import os
from pathlib import Path

from assets._shared.errors import PipelineError

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULTS: dict[str, str] = {
    "SCR_LANDING_DIR": "data/landing",
    "SCR_WAREHOUSE": "data/warehouse.duckdb",
    "SCR_OUTPUT_DIR": "data/output",
    "DAGSTER_HOME": ".dagster",
    # Landing lifecycle (docs/REFERENCE.md, Configuration): where ingested files are kept, and how long a file
    # must be left unchanged before it is read (a copy still in progress is not an extract).
    "SCR_ARCHIVE_DIR": "data/archive",
    "SCR_SETTLE_SECONDS": "10",
    # DuckDB limits (documented in docs/REFERENCE.md); keep peak memory bounded as input grows.
    "SCR_DUCKDB_MEMORY_LIMIT": "2GB",
    "SCR_DUCKDB_THREADS": "2",
    # Limits on what a landing file may hold (docs/REFERENCE.md, Configuration): a file beyond
    # one is refused by name, with the limit and this variable, before its rows are read.
    "SCR_CSV_MAX_COLUMNS": "1000",
    "SCR_CSV_MAX_FIELD_CHARS": "33554432",
    "SCR_XLSX_MAX_BYTES": "536870912",
    "SCR_XLSX_MAX_ROWS": "1048576",
    # Releases (docs/REFERENCE.md, "Releases"): how many published releases stay readable, and
    # where the review worksheets people fill are written (never only inside a release).
    "SCR_KEEP_RELEASES": "8",
    "SCR_WORKSHEET_DIR": "data/worksheets",
}
# beside the warehouse: the CLI's "nothing new" stamp (pipelines/orchestration/refresh_stamp.py); every run that
# opens the warehouse for writing removes it first (WarehouseResource.connect)
REFRESH_STAMP_SUFFIX = ".refresh-stamp"
LIMITS = (
    "SCR_CSV_MAX_COLUMNS",
    "SCR_CSV_MAX_FIELD_CHARS",
    "SCR_XLSX_MAX_BYTES",
    "SCR_XLSX_MAX_ROWS",
)
NOT_PATHS = (
    "SCR_SETTLE_SECONDS",
    "SCR_DUCKDB_MEMORY_LIMIT",
    "SCR_DUCKDB_THREADS",
    "SCR_KEEP_RELEASES",
    *LIMITS,
)


def value(name: str) -> str:
    """The variable's value, or its default (a path default absolute under the project root)."""
    if os.environ.get(name):
        return os.environ[name]
    default = DEFAULTS[name]
    return default if name in NOT_PATHS else str(PROJECT_ROOT / default)


def apply_defaults() -> None:
    """For a CLI entry point: set every unset variable to its default in this process's
    environment (and the processes it starts), and create the default DAGSTER_HOME, which
    Dagster refuses when missing."""
    for name in DEFAULTS:
        os.environ[name] = value(name)
    Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)


def path_from_env(name: str) -> Path:
    """The configured path for ``name`` (or its default), made absolute. Its folder is resolved,
    its last part is kept as named: ``SCR_OUTPUT_DIR`` is a symlink to the current release,
    and publishing replaces that link (resolving it would publish into the old release)."""
    path = Path(os.path.normpath(Path(value(name)).expanduser().absolute()))
    return path.parent.resolve() / path.name if path.name else path


def keep_releases() -> int:
    """``SCR_KEEP_RELEASES`` (or its default): how many releases stay readable, 1 or more."""
    text = value("SCR_KEEP_RELEASES")
    try:
        keep = int(text)
    except ValueError:
        keep = 0
    if keep < 1:
        raise PipelineError(
            f"SCR_KEEP_RELEASES={text!r}: set it to a whole number of releases, 1 or more "
            f"(default {DEFAULTS['SCR_KEEP_RELEASES']})"
        )
    return keep


def settle_seconds() -> float:
    """``SCR_SETTLE_SECONDS`` (or its default) as a number of seconds (0 or more)."""
    text = value("SCR_SETTLE_SECONDS")
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise PipelineError(
            f"SCR_SETTLE_SECONDS={text!r}: set it to a number of seconds, 0 or more (default "
            f"{DEFAULTS['SCR_SETTLE_SECONDS']})"
        )
    return seconds


def duckdb_memory_limit() -> str:
    return value("SCR_DUCKDB_MEMORY_LIMIT")


def duckdb_threads() -> int:
    return int(value("SCR_DUCKDB_THREADS"))


def limit(name: str) -> int:
    """One of the ``LIMITS`` as a whole number of at least 1, or one line saying what to set."""
    text = value(name)
    try:
        number = int(text.replace("_", ""))
    except ValueError:
        number = 0
    if number < 1:
        raise PipelineError(
            f"{name}={text!r}: set it to a whole number, 1 or more (default {DEFAULTS[name]})"
        )
    return number


def csv_max_columns() -> int:
    return limit("SCR_CSV_MAX_COLUMNS")


def csv_max_field_chars() -> int:
    return limit("SCR_CSV_MAX_FIELD_CHARS")


def xlsx_max_bytes() -> int:
    return limit("SCR_XLSX_MAX_BYTES")


def xlsx_max_rows() -> int:
    return limit("SCR_XLSX_MAX_ROWS")
