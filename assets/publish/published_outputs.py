"""The ``published_outputs`` asset: the one final step of a refresh, the only writer of outputs.

Why: the published measure must change only after every blocking check of the refresh passed,
as one step. So no other asset writes under SCR_OUTPUT_DIR: this asset runs the publish
(assets/publish/release.py), which stages every entry of the registry (assets/publish/outputs.py)
into a new release and switches SCR_OUTPUT_DIR to it, and records the publication just before.
"""

from datetime import UTC, datetime

import dagster as dg

from assets._shared.code_version import code_version_of
from assets._shared.metadata import OWNERS
from assets._shared.resources import FilesResource, WarehouseResource
from assets._shared.tags import REFRESH_TAG
from assets.measures.restatements import record_publication
from assets.publish.manifest import MANIFEST
from assets.publish.release import publish
from assets.report import build as report


@dg.asset(
    code_version=code_version_of(__name__),
    deps=[
        "ingest_reconciliation",  # its blocking check rows_reconcile must pass first
        "annual_measures",
        "quarterly_measures",
        "category_measures",
        "scr_current",
        "scr_findings",
        "case_review_findings",
        "resource_request_evidence",
        "resource_request_summary",
        "resource_request_current",
        "audit_projection",
        "determination_accuracy",
        "measure_estimates",
        "reviewer_agreement",
        "audit_samples",
        "scr_determinations",
        "restatements",
        "vv_statement",
    ],
    kinds={"parquet", "html"},
    owners=[*OWNERS, "team:oao-analysts"],
    description="Every file under SCR_OUTPUT_DIR (quarterly_measures/ and category_measures/ "
    "hive-partitioned, the Parquet tables, report/index.html, audit samples), published last "
    "as one release: written whole beside it (<output>.releases/<id>/, _manifest.json last), "
    "then SCR_OUTPUT_DIR, a symlink, is switched to it in one rename; old releases pruned.",
)
def published_outputs(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, files: FilesResource
) -> dg.MaterializeResult:
    refresh_id = context.run.tags.get(REFRESH_TAG, context.run_id)
    with warehouse.connect() as con:
        # every output is staged: the next refresh's restatements are measured against this
        # release, recorded just before it is switched in
        summary = publish(
            con,
            files.output,
            refresh_id,
            before_switch=lambda: record_publication(
                con, context.run_id, datetime.now(UTC).replace(tzinfo=None)
            ),
            memory_limit=warehouse.memory_limit_setting(),
        )
    written, removed = summary["written"], summary["removed"]
    context.log.info(
        f"published {len(written)} changed file(s), removed {len(removed)}, "
        f"{summary['files']} file(s) in the manifest"
    )
    page = files.output / report.REPORT_PATH
    text = page.read_text(encoding="utf-8") if page.is_file() else ""
    return dg.MaterializeResult(
        metadata={
            "files_written": dg.MetadataValue.int(len(written)),
            "files_removed": dg.MetadataValue.int(len(removed)),
            "files_published": dg.MetadataValue.int(summary["files"]),
            "partitions_written": dg.MetadataValue.int(sum("fiscal_year=" in w for w in written)),
            # published partitions whose rows did not change: not queried or written again
            "partitions_reused": dg.MetadataValue.int(summary["partitions_reused"]),
            "written": dg.MetadataValue.json(written[:50]),
            "removed": dg.MetadataValue.json(removed[:50]),
            "leftovers_removed": dg.MetadataValue.json(summary["leftovers_removed"]),
            "release_id": dg.MetadataValue.text(summary["release_id"] or ""),
            "release_dir": dg.MetadataValue.path(str(files.output.resolve())),
            "adopted": dg.MetadataValue.text(summary.get("adopted") or ""),
            # files no publish wrote (a person's), copied to kept_dir before the switch
            "kept_files": dg.MetadataValue.json(summary["kept"][:50]),
            "kept_dir": dg.MetadataValue.text(summary.get("kept_dir") or ""),
            "releases_pruned": dg.MetadataValue.json(summary["pruned"]),
            "output_dir": dg.MetadataValue.path(str(files.output)),
            "manifest": dg.MetadataValue.path(str(files.output / MANIFEST)),
            "path": dg.MetadataValue.path(str(page)),
            "url": dg.MetadataValue.url(page.resolve().as_uri()),
            "size_bytes": dg.MetadataValue.int(len(text.encode("utf-8"))),
            "charts": dg.MetadataValue.int(text.count("<svg ")),
            "sections": dg.MetadataValue.int(text.count("<section ")),
        }
    )
