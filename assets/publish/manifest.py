"""The output dir as a set of files: staged commit, ``_manifest.json``, and comparisons.

Why: the published measure must change only as a whole step after every blocking check, be
checkable file by file (sha256 in a manifest written last), and be comparable with a rebuild
from the archive. These functions touch only the file system (no Dagster, no warehouse), so the
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

import duckdb
import pyarrow.parquet as pq

from assets._shared.errors import UnwritablePathError

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
    listed = manifest["files"]
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


def _writable_dirs(target: Path, output: Path) -> None:
    """mkdir -p ``target``'s parents, naming a file that sits where a directory should be."""
    for parent in reversed([p for p in target.parents if p == output or output in p.parents]):
        if parent.exists() and not parent.is_dir():
            raise UnwritablePathError(
                f"{parent} is a file where the output needs a directory; move it away and run "
                "`scr-pipeline refresh` again"
            )
    target.parent.mkdir(parents=True, exist_ok=True)


def remove_leftovers(output: Path) -> list[str]:
    """Staging dirs and ``*.tmp`` files a killed refresh left behind; removed, names returned."""
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


def staging_dir(output: Path, refresh_id: str) -> Path:
    """Hidden, inside the output dir: same file system, so every move into place is a rename."""
    return output / f"{STAGING_PREFIX}{refresh_id}"


def _prune_empty_dirs(output: Path) -> None:
    for d in sorted((p for p in output.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()


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


def commit_staged(
    stage: Path,
    output: Path,
    refresh_id: str,
    fingerprints: dict,
    kept: set[str] = frozenset(),
    file_fingerprints: dict[str, str] | None = None,
) -> dict:
    """Move each staged file that differs (by sha256) from the published one into place, remove
    published files neither staged nor ``kept`` (published ones reused as they are), then write
    the manifest (last) and drop the stage. ``file_fingerprints`` go into the files' entries."""
    output.mkdir(parents=True, exist_ok=True)
    old = (read_manifest(output) or {}).get("files", {})
    now = datetime.now(UTC).isoformat(timespec="seconds")
    staged = list_files(stage)
    files, written = {rel: old[rel] for rel in sorted(kept)}, []
    for rel in staged:
        src, target = stage / rel, output / rel
        sha = sha256_file(src)
        if not (target.is_file() and sha256_file(target) == sha):
            _writable_dirs(target, output)
            with open(src, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(src, target)
            written.append(rel)
        prior = old.get(rel, {})
        keep = rel not in written and prior.get("sha256") == sha
        files[rel] = {
            "sha256": sha,
            "size": target.stat().st_size,
            "refresh_id": prior.get("refresh_id") if keep else refresh_id,
            "written_at": prior.get("written_at") if keep else now,
        }
    for rel, fp in (file_fingerprints or {}).items():
        if rel in files:
            files[rel] = files[rel] | {"fingerprint": fp}
    shutil.rmtree(stage, ignore_errors=True)
    removed = [rel for rel in list_files(output) if rel != MANIFEST and rel not in files]
    for rel in removed:
        (output / rel).unlink()
    _prune_empty_dirs(output)
    manifest = {
        "refresh_id": refresh_id,
        "published_at": now,
        "files": files,
        "outputs": fingerprints,
    }
    write_json_atomic(manifest, output / MANIFEST)
    return {"written": written, "removed": removed, "files": len(files)}


def _parquet_difference(a: Path, b: Path) -> str | None:
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
    manifest is not compared (it names refreshes); the files it lists are."""
    a = {r for r in list_files(published) if r != MANIFEST}
    b = {r for r in list_files(rebuilt) if r != MANIFEST}
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
