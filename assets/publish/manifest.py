"""A release as a set of files: ``_manifest.json``, its checks, and comparisons.

Why: the published measure must be checkable file by file (sha256 in a manifest written last
into each release, assets/publish/releases.py) and comparable with a rebuild from the archive. These functions touch only the file system (no Dagster, no warehouse), so the
refresh, ``scr-pipeline verify`` and tests share them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

MANIFEST = "_manifest.json"
STAGING_PREFIX = ".staging-"
# Columns that say when/by which run a row was written: they legitimately differ in a rebuild.
PROVENANCE_COLUMNS = ("ingested_at", "run_id", "superseded_at", "refresh_id", "drawn_at")
# Time stamps in the HTML report ("2026-12-01 11:33 UTC", "2026-12-01 11:33:28.123"): removed
# before comparing a report with a rebuilt one. Plain dates (approvals) are data and stay.
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC)?")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def list_files(root: Path) -> list[str]:
    """Every file under ``root`` (hidden ones, temp files and staging dirs included), POSIX paths."""
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    )


def read_manifest(output: Path) -> dict | None:
    try:
        data = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def check_manifest(output: Path) -> list[str]:
    """Each listed file exists with the listed sha256, and no file is unlisted (temp files too)."""
    manifest = read_manifest(output)
    if manifest is None:
        return [f"{MANIFEST}: missing or unreadable"]
    listed = manifest["files"] | manifest.get("carried", {})
    problems = []
    for rel, entry in sorted(listed.items()):
        path = output / rel
        if not path.is_file():
            problems.append(f"{rel}: listed in the manifest but missing")
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(f"{rel}: content differs from the manifest (sha256)")
    problems += [
        f"{rel}: not in the manifest"
        for rel in list_files(output)
        if rel != MANIFEST and rel not in listed
    ]
    return problems


def remove_leftovers(output: Path) -> list[str]:
    """Staging dirs and ``*.tmp`` files a killed refresh left inside a plain output dir (the
    layout before releases, adopted by the next publish); removed, names returned."""
    removed = []
    if not output.is_dir():
        return removed
    for p in sorted(output.glob(f"{STAGING_PREFIX}*")):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        removed.append(p.name)
    for p in sorted(output.rglob("*.tmp")):
        if p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p.relative_to(output).as_posix())
    return removed


@contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) until the block is done, then raise it: renames and the manifest
    are never left half-way by an operator's interrupt (a SIGKILL is repaired by the next one)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def write_json_atomic(data: dict, target: Path) -> None:
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def release_manifest(
    stage: Path,
    release_id: str,
    refresh_id: str,
    fingerprints: dict,
    previous: dict | None,
    known: dict[str, str] | None = None,
    file_fingerprints: dict[str, str] | None = None,
    carried: dict[str, dict] | None = None,
    repaired: frozenset[str] = frozenset(),
) -> dict:
    """The ``_manifest.json`` of a complete staged release (the caller writes it last) and what
    changed
    against the ``previous`` release's manifest: ``written`` (new or different sha256),
    ``removed`` (no longer published). ``known``: sha256 already checked (reused files);
    ``carried``: files kept from earlier releases (report history; path -> extra fields),
    listed apart from the outputs the warehouse implies; ``repaired``: files the previous
    release had missing or changed (written again now, whatever its manifest said)."""
    carried = carried or {}
    old = (previous or {}).get("files", {})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    files, history, written = {}, {}, []
    for rel in list_files(stage):
        sha = (known or {}).get(rel) or sha256_file(stage / rel)
        size = (stage / rel).stat().st_size
        if rel in carried:
            history[rel] = carried[rel] | {"sha256": sha, "size": size}
            continue
        prior = old.get(rel, {})
        same = prior.get("sha256") == sha and rel not in repaired
        if not same:
            written.append(rel)
        files[rel] = {
            "sha256": sha,
            "size": size,
            "refresh_id": prior.get("refresh_id") if same else refresh_id,
            "written_at": prior.get("written_at") if same else now,
        }
        if (fp := (file_fingerprints or {}).get(rel)) is not None:
            files[rel]["fingerprint"] = fp
    manifest = {
        "release_id": release_id,
        "refresh_id": refresh_id,
        "published_at": now,
        "files": files,
        "carried": history,
        "outputs": fingerprints,
    }
    removed = sorted(set(old) - set(files))
    return {"written": written, "removed": removed, "files": len(files), "manifest": manifest}


def _parquet_difference(a: Path, b: Path) -> str | None:
    import duckdb  # here: the "nothing new" check imports this module and needs neither
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    drop = [c for c in PROVENANCE_COLUMNS if c in ta.column_names]
    ta = ta.drop_columns(drop)
    tb = tb.drop_columns([c for c in PROVENANCE_COLUMNS if c in tb.column_names])
    if ta.schema != tb.schema:
        return f"columns differ ({ta.schema.names} vs {tb.schema.names})"
    with duckdb.connect() as con:
        con.register("a", ta)
        con.register("b", tb)
        only_a = con.execute("SELECT count(*) FROM (FROM a EXCEPT ALL FROM b)").fetchall()[0][0]
        only_b = con.execute("SELECT count(*) FROM (FROM b EXCEPT ALL FROM a)").fetchall()[0][0]
    if only_a or only_b:
        return f"{only_a} row(s) only in the published file, {only_b} only in the rebuild"
    return None


def normalized_report(text: str) -> str:
    """The HTML report without its time stamps (refresh and ingest times differ in a rebuild)."""
    return TIMESTAMP_RE.sub("<time>", text)


def compare_output_dirs(published: Path, rebuilt: Path) -> list[str]:
    """Every file (partitions included) missing, extra or different; Parquet compared as tables
    without PROVENANCE_COLUMNS, HTML without time stamps, anything else byte for byte. The
    manifest is not compared (it names refreshes); the files it lists are. Files carried from
    earlier releases (the report's history) are checked against the manifest, not here."""
    skip = {MANIFEST}
    for root in (published, rebuilt):
        skip |= set((read_manifest(root) or {}).get("carried", {}))
    a = {r for r in list_files(published) if r not in skip}
    b = {r for r in list_files(rebuilt) if r not in skip}
    diffs = [f"{r}: missing from the published output" for r in sorted(b - a)]
    diffs += [f"{r}: published but not in the rebuild" for r in sorted(a - b)]
    for rel in sorted(a & b):
        pa_, pb = published / rel, rebuilt / rel
        if pa_.read_bytes() == pb.read_bytes():
            continue
        if rel.endswith(".parquet"):
            why = _parquet_difference(pa_, pb)
        elif rel.endswith(".html"):
            same = normalized_report(pa_.read_text("utf-8")) == normalized_report(
                pb.read_text("utf-8")
            )
            why = None if same else "report content differs (time stamps ignored)"
        else:
            why = "bytes differ"
        if why:
            diffs.append(f"{rel}: {why}")
    return diffs
