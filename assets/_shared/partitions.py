"""Fiscal-quarter partitions, defined once and imported by every partitioned asset.

Dagster has no quarterly calendar with fiscal labels, so the keys are dynamic (``2024-Q1``) and
are added, in sorted order, for the quarters the data contains (see ``assets.measures.quarterly``).
"""

from __future__ import annotations

import dagster as dg

FISCAL_QUARTERS = dg.DynamicPartitionsDefinition(name="fiscal_quarter")


def contiguous_blocks(keys_in_order: list[str], wanted: set[str]) -> list[tuple[str, str]]:
    """Group ``wanted`` keys into runs of neighbours in the instance's key order.

    One Dagster run per block (a partition range) re-materializes exactly those quarters.
    """
    blocks: list[tuple[str, str]] = []
    start = prev = None
    for key in keys_in_order:
        if key in wanted:
            start = start or key
            prev = key
        elif start is not None:
            blocks.append((start, prev))
            start = prev = None
    if start is not None:
        blocks.append((start, prev))
    return blocks
