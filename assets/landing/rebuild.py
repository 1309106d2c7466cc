"""Rebuild a warehouse's ingest state from the archive alone (``scr-pipeline verify``).

Its own module because it needs both the archive's manifest and the ingest's replay: the
archive stays free of the ingest code that itself archives files (no import circle).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.landing.archive import read_manifest
from assets.landing.ingest import replay_events


def ingest_from_archive(con: duckdb.DuckDBPyConnection, archive_dir: Path, run_id: str) -> dict:
    """Rebuild the ingest state of an EMPTY warehouse from the archive alone.

    The manifest is replayed in order: every ingested or replacing file is read from its
    archived bytes under its original name with its original ``ingested_at`` (file ids in the
    same order as the live ingest gave them), restorations and retractions set the same
    states, and the same ``landing_events`` rows are recorded. A normal refresh afterwards
    (with an empty landing dir) then computes the same outputs as the live warehouse."""
    return replay_events(con, Path(archive_dir), read_manifest(archive_dir), run_id)
