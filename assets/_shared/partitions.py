"""Fiscal-quarter partitions, defined once and imported by every partitioned asset.

Static keys ``FY2000-Q1`` .. ``FY2100-Q4`` (the contract's fiscal years; schemas/fiscal.py makes
and reads them): every key exists before any run, so no run has to register partitions first,
and the keys sort chronologically, so a partition range is a span of fiscal quarters.
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
