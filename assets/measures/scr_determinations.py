"""The ``scr_determinations`` asset: fills the SCR-level table for the run's fiscal quarters,
notes each restated quarter, and checks that every published count is the SCRs behind it.

The table's SQL lives in ``assets.measures.determinations`` (which restatements also reads), so
this asset can import both without a cycle. (No ``from __future__ import annotations``: Dagster
reads the ``context`` annotation as a type, not a string.)
"""

import dagster as dg

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, table_metadata
from assets._shared.partitions import FISCAL_QUARTERS
from assets._shared.resources import WarehouseResource
from assets.measures.determinations import TABLE, count_mismatches, replace_quarters
from assets.measures.restatements import partition_notes  # the restatement summary of each quarter
from schemas.fiscal import parse_quarter_key

CHECK = dg.AssetCheckSpec(
    "counts_match_measures",
    asset=TABLE,
    blocking=True,
    description="Recounted from the SCR-level rows, every fiscal quarter's quarterly_measures "
    "counts and every quarter-and-category row of category_measures are equal: each published "
    "number is exactly the SCRs listed behind it. A failure stops the refresh before publishing.",
)


@dg.asset(
    code_version=code_version_of(__name__),
    deps=["changed_quarters", "quarterly_measures", "category_measures"],
    partitions_def=FISCAL_QUARTERS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[CHECK],
    kinds={"duckdb"},
    owners=OWNERS,
    description="One row per current SCR with an approval date, in the fiscal quarter of that "
    "date: counted or not, quarantined (and by which rules), its TCO determination with the "
    "prong inputs, and the file, row and content hash of the version it comes from.",
)
def scr_determinations(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    keys = list(context.partition_keys)
    with warehouse.connect() as con:
        replace_quarters(con, keys)
        mismatches = count_mismatches(con)
        notes = partition_notes(con, keys)
        for key, text in notes.items():
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=key,
                    metadata={"restated": dg.MetadataValue.text(text)},
                )
            )
        pairs = [list(parse_quarter_key(k)) for k in keys]
        mine = con.execute(
            f"SELECT count(*), count(*) FILTER (counted), count(*) FILTER (quarantined) FROM {TABLE} "
            "WHERE list_contains(?, [fiscal_year, fiscal_quarter])",
            [pairs],
        ).fetchall()[0]
        meta = table_metadata(
            con,
            TABLE,
            f"SELECT scr_id, scr_type, counted, quarantined, determination, non_tco_reason, "
            f"fiscal_year, fiscal_quarter, source_file, source_row FROM {TABLE} ORDER BY scr_id",
        )
    bad = sum(len(v) for v in mismatches.values())
    context.log.info(
        f"{mine[0]:,} SCR determinations in {len(keys)} quarter(s) ({mine[1]:,} counted, "
        f"{mine[2]:,} quarantined); {len(notes)} restated quarter(s)"
    )
    yield dg.MaterializeResult(
        metadata={
            **meta,
            "run_scrs": dg.MetadataValue.int(int(mine[0])),
            "run_counted": dg.MetadataValue.int(int(mine[1])),
            "run_quarantined": dg.MetadataValue.int(int(mine[2])),
            "restated_quarters": dg.MetadataValue.md(
                "\n".join(f"- **{k}**: {v}" for k, v in sorted(notes.items())) or "none"
            ),
        }
    )
    yield dg.AssetCheckResult(
        check_name=CHECK.name,
        passed=bad == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None
        if bad == 0
        else f"{bad} quarter/category row(s) differ between scr_determinations and the measures",
        metadata={
            "quarterly_mismatches": dg.MetadataValue.int(len(mismatches["quarterly_measures"])),
            "category_mismatches": dg.MetadataValue.int(len(mismatches["category_measures"])),
            "first_mismatches": dg.MetadataValue.json(
                [
                    {k: str(v) for k, v in r.items()}
                    for r in (mismatches["quarterly_measures"] + mismatches["category_measures"])[
                        :5
                    ]
                ]
            ),
        },
    )
