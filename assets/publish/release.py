"""One publish: a complete new release staged beside SCR_OUTPUT_DIR, then switched in.

Why: a reader must see the old set of files or the new one, never a mix (issue 28). The
registry (what to write) is assets/publish/outputs.py; the file-system steps (ids, switch,
prune, kept files) are assets/publish/releases.py; this module puts them in order: stage
(unchanged partitions hard-linked from the current release), keep the files no publish wrote,
carry the report's history, write the manifest last, rename the stage into a release, switch
the link, prune. Each step is a kill point for the test hook ``SCR_TEST_KILL_AT``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from assets._shared.errors import UnwritablePathError, unwritable
from assets._shared.resources import memory_capped
from assets._shared.settings import duckdb_memory_limit, keep_releases
from assets.audit.sample import SAMPLE_DIR, WORKSHEET_DIR
from assets.publish.export import partition_columns, partition_path, partitions_rows
from assets.publish.manifest import (
    MANIFEST,
    deferred_interrupt,
    read_manifest,
    release_manifest,
    sha256_file,
    write_json_atomic,
)
from assets.publish.manifest import remove_leftovers as remove_plain_leftovers
from assets.publish.outputs import OutputPlan, plan_outputs
from assets.publish.releases import (
    adopted_id,
    current_dir,
    current_id,
    foreign_files,
    keep_foreign,
    kill_point,
    link_or_copy,
    missing_files,
    new_release_id,
    prune,
    releases_root,
    remove_leftovers,
    staging_dir,
    switch,
)
from assets.report import build as report
from assets.report import history

# DuckDB's memory limit while the partitions are exported: the one ordered query over every
# scr_determinations row (2.8M rows x 21 columns at 10M SCR versions) otherwise sorts in memory,
# up to the 2 GB limit, beside Python's ~1.3 GB: a 5-second peak of 2.6 GB. Capped, the sort
# spills to disk; at 10M the peak was 1.9 GB and the step's CPU unchanged (27.2 against 25.1 CPU
# s, within run-to-run noise). The same bytes either way.
EXPORT_MEMORY_LIMIT = "512MB"


def reusable_partitions(plan: OutputPlan, output: Path | None) -> dict[str, str]:
    """Published partition files that already hold what the warehouse implies: same rows and
    columns (fingerprint) as when written, and the file still has the manifest's sha256;
    path -> that sha256."""
    if output is None:
        return {}
    listed = (read_manifest(output) or {}).get("files", {})
    return {
        rel: entry["sha256"]
        for rel, fp in plan.partition_fingerprints.items()
        if (entry := listed.get(rel))
        and entry.get("fingerprint") == fp
        and (output / rel).is_file()
        and not (output / rel).is_symlink()
        and sha256_file(output / rel) == entry.get("sha256")
    }


def stage_outputs(
    con: duckdb.DuckDBPyConnection,
    stage: Path,
    reuse: Path | None = None,
    memory_limit: str | None = None,
) -> tuple[OutputPlan, dict[str, str]]:
    """Write every output the warehouse implies into ``stage`` (a fresh dir); partition files of
    the release ``reuse`` that hold the same rows already are hard-linked, not rewritten.
    Returns the plan and those reused files (path -> sha256). The partition export runs under
    ``EXPORT_MEMORY_LIMIT`` and then gives the connection back its ``memory_limit`` (unset: the
    configured ``SCR_DUCKDB_MEMORY_LIMIT``)."""
    plan = plan_outputs(con, render=True)
    kept = reusable_partitions(plan, reuse)
    for rel in kept:
        link_or_copy(reuse / rel, stage / rel)
    for table, counts in plan.partition_counts.items():
        todo = {k: n for k, n in counts.items() if partition_path(table, *k) not in kept}
        if not todo:
            continue
        with memory_capped(con, EXPORT_MEMORY_LIMIT, memory_limit or duckdb_memory_limit()):
            for (fy, q), rows in partitions_rows(con, table, todo, partition_columns(con, table)):
                target = stage / partition_path(table, fy, q)
                target.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(rows, target, compression="zstd")
    kill_point("staging")  # test hook: some files staged, others not yet
    for name, sql in plan.queries.items():
        target = stage / name
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(con.sql(sql).to_arrow_table(), target, compression="zstd")
    for rel, content in plan.rendered.items():
        target = stage / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if rel.startswith(f"{SAMPLE_DIR}/{WORKSHEET_DIR}/"):
            target.chmod(0o444)  # a copy: people fill the one in SCR_WORKSHEET_DIR
    return plan, kept


def carry_history(previous: Path | None, previous_id: str | None, stage: Path, keep: int) -> dict:
    """Into the staged release: the previous release's report as ``report/history/<id>.html``,
    the earlier reports it carried (unchanged ones, the newest ``keep - 1`` in all) and their
    index. Returns the carried paths with their publish times (for the manifest)."""
    if not (stage / report.REPORT_PATH).is_file():
        return {}
    pages: dict[str, tuple[bytes, str | None]] = {}
    manifest = (read_manifest(previous) if previous else None) or {}
    for rel, entry in manifest.get("carried", {}).items():
        path = previous / rel
        if rel != history.INDEX and path.is_file() and sha256_file(path) == entry.get("sha256"):
            pages[Path(rel).stem] = (path.read_bytes(), entry.get("published_at"))
    page = report.REPORT_PATH.as_posix()
    entry = manifest.get("files", {}).get(page)
    path = previous / page if previous else None
    if previous_id and entry and path.is_file() and sha256_file(path) == entry["sha256"]:
        text = history.as_history_page(path.read_text(encoding="utf-8"))
        pages[previous_id] = (text.encode("utf-8"), manifest.get("published_at"))
    keep_ids = sorted(pages)[-(keep - 1) :] if keep > 1 else []
    carried = {}
    for rid in keep_ids:
        rel = f"{history.HISTORY_DIR}/{rid}.html"
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage / rel).write_bytes(pages[rid][0])
        carried[rel] = {"published_at": pages[rid][1]}
    index = history.history_index([(rid, pages[rid][1]) for rid in keep_ids])
    (stage / history.INDEX).parent.mkdir(parents=True, exist_ok=True)
    (stage / history.INDEX).write_text(index, encoding="utf-8")
    return carried | {history.INDEX: {}}


def _same(new: dict, previous: dict | None) -> bool:
    """The staged release is the current one: every entry (bytes, partition fingerprints) and
    every output fingerprint unchanged. Then it stays, and no release is made."""
    return (
        previous is not None
        and new["files"] == previous["files"]
        and new["outputs"] == previous.get("outputs")
    )


def publish(
    con: duckdb.DuckDBPyConnection,
    output: Path,
    refresh_id: str,
    keep: int | None = None,
    before_switch: Callable[[], None] = lambda: None,
    memory_limit: str | None = None,
) -> dict:
    """Stage a complete release beside ``output``, keep the files no publish wrote, switch the
    link, prune old releases (assets/publish/releases.py). Nothing changed: no new release.
    ``before_switch`` records the publication in the warehouse: a kill after it and before the
    switch leaves the old release, which the next refresh republishes as recorded."""
    keep = keep_releases() if keep is None else keep
    try:
        if output.exists() and not output.is_symlink() and not output.is_dir():
            raise UnwritablePathError(
                f"{output} is a file where the output dir should be (SCR_OUTPUT_DIR); move it "
                "away and run `scr-pipeline refresh` again"
            )
        releases_root(output).mkdir(parents=True, exist_ok=True)
        leftovers = remove_leftovers(output)
        previous = current_dir(output)
        plain = previous is not None and not output.is_symlink()
        if plain:
            leftovers += remove_plain_leftovers(previous)
        previous_manifest = read_manifest(previous) if previous else None
        previous_id = adopted_id(output) if plain else current_id(output)
        rid = new_release_id(output, refresh_id)
        stage = staging_dir(output, rid)
        stage.mkdir()
        plan, kept = stage_outputs(con, stage, reuse=previous, memory_limit=memory_limit)
        foreign, missing = foreign_files(previous), missing_files(previous)
        carried = carry_history(previous, previous_id, stage, keep)
        summary = release_manifest(
            stage, rid, refresh_id, plan.fingerprints, previous_manifest, kept,
            plan.partition_fingerprints, carried, frozenset(foreign) | frozenset(missing),
        )  # fmt: skip
        out = {"leftovers_removed": leftovers, "partitions_reused": len(kept), "kept": foreign}
        if not (plain or foreign or missing) and _same(summary["manifest"], previous_manifest):
            shutil.rmtree(stage)  # the current release is what the warehouse implies: it stays
            before_switch()
            return summary | out | {"release_id": previous_id, "pruned": prune(output, keep)}
        write_json_atomic(summary["manifest"], stage / MANIFEST)  # last: the release is whole
        kill_point("staged")
        release = stage.with_name(rid)
        os.rename(stage, release)
        kept_dir = keep_foreign(output, previous, previous_id, foreign)
        before_switch()
        with deferred_interrupt():  # a Ctrl-C lands after the switch
            adopted = switch(output, release, previous_id if plain else None)
        kill_point("switched")
        pruned = prune(output, keep)
    except PermissionError as err:
        raise unwritable(err.filename or output, f"the output dir {output}") from None
    return summary | out | {
        "release_id": rid, "adopted": adopted, "kept_dir": str(kept_dir or ""), "pruned": pruned
    }  # fmt: skip
