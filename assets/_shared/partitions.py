"""Fiscal-quarter partitions, defined once and imported by every partitioned asset.

Static keys ``FY2011-Q1`` (the SCR program's first fiscal year) .. the current fiscal year + 1,
computed from today's date when the code is loaded (schemas/fiscal.py makes and reads them):
every key exists before any run, so no run has to register partitions first, and the keys sort
chronologically, so a partition range is a span of fiscal quarters. A counted SCR always falls
in a key (its approved date passed ``scr.approved_date.before_program`` and ``.future``).
"""

from __future__ import annotations

import dagster as dg

from schemas.fiscal import all_quarter_keys

FISCAL_QUARTERS = dg.StaticPartitionsDefinition(all_quarter_keys())


def covering_range(wanted: list[str] | set[str]) -> tuple[str, str] | None:
    """The one partition range (first, last) that covers every ``wanted`` key, or None.

    One Dagster run re-materializes it; a quarter inside it that did not change is measured
    again to the same rows (the measures replace a quarter's rows with what the warehouse says,
    tests/measures/test_measure_assets.py checks it)."""
    return (min(wanted), max(wanted)) if wanted else None
