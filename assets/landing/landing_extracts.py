"""The ``landing_extracts`` asset: one ingest (``ingest.py``) and what it tells the UI per
extract type (new files, rows read, lifecycle events, the files table).
"""

from collections.abc import Iterator

import dagster as dg

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS, markdown_preview, table_metadata
from assets._shared.resources import FilesResource, WarehouseResource
from assets.landing import events, lifecycle
from assets.landing.ingest import ingest_new_files
from schemas.extracts import EXTRACTS


def _outputs() -> Iterator[dg.AssetSpec]:
    for spec in EXTRACTS:
        yield dg.AssetSpec(
            spec.raw_table,
            description=f"Every row of every {spec.prefix}* extract, as read, with provenance. "
            f"Downstream reads {lifecycle.active_view(spec.raw_table)} (rows of active files).",
            kinds={"duckdb"},
            owners=OWNERS,
            code_version=code_version_of(__name__),
        )


def _notes(s: dict) -> list[str]:
    """Lines the refresh prints for this run: lifecycle events, duplicates, unsettled files."""
    notes = [n for n in map(events.event_note, s["events"]) if n]
    notes += [
        f"{name}: same content as {other}, already ingested (not counted twice)"
        for name, other in s["duplicates"]
    ]
    notes += [
        f"{name}: changed less than the settle time ago; left for later" for name in s["unsettled"]
    ]
    return notes


def _events_md(run_events: list[dict]) -> str:
    if not run_events:
        return "No landing events in this run."
    lines = ["| event | file | sha256 | previous sha256 | reason |", "|---|---|---|---|---|"]
    for e in run_events:
        lines.append(
            f"| {e['event']} | {e['source_file']} | {(e['sha256'] or '')[:12]} | "
            f"{(e['previous_sha256'] or '')[:12]} | {e['reason'] or ''} |"
        )
    return "\n".join(lines)


@dg.multi_asset(specs=list(_outputs()), can_subset=False)
def landing_extracts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
):
    """Archive and read new landing files into the raw tables, all or nothing; record replaced,
    restored, removed and retracted files as landing events."""
    with warehouse.connect() as con:
        summary = ingest_new_files(
            con, files.landing, context.run_id, context.log, files.archive, files.settle
        )
        for spec in EXTRACTS:
            s = summary[spec.name]
            kinds = [e["event"] for e in s["events"]]
            yield dg.MaterializeResult(
                asset_key=spec.raw_table,
                metadata={
                    "new_files": dg.MetadataValue.int(len(s["files"])),
                    "rows_read": dg.MetadataValue.int(s["rows"]),
                    "files_already_ingested": dg.MetadataValue.int(len(s["skipped"])),
                    **{k: dg.MetadataValue.int(kinds.count(k)) for k in events.EVENT_COUNTS},
                    "lifecycle_events": dg.MetadataValue.int(sum(k != "ingested" for k in kinds)),
                    "lifecycle_notes": dg.MetadataValue.json(_notes(s)),
                    "landing_events": dg.MetadataValue.md(_events_md(s["events"])),
                    **table_metadata(con, spec.raw_table),  # row count, schema, preview
                    "files": dg.MetadataValue.md(
                        markdown_preview(
                            con,
                            "SELECT source_file, state, rows_read, content_sha256, ingested_at "
                            "FROM ingested_files WHERE extract_type = ? ORDER BY file_id DESC",
                            [spec.name],
                        )
                    ),
                },
            )
