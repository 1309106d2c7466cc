"""Releases: what ``SCR_OUTPUT_DIR`` shows is one complete release, switched in one step.

Why: a reader (DuckDB, pyarrow, a browser, Excel) must see the previous set of files or the new
one, never a mix, and never a staging file. So every publish writes a whole new release dir
beside the output path, ``<output>.releases/<release id>/`` (same file system), and then
replaces ``SCR_OUTPUT_DIR`` (a symlink to the current release) with a freshly made symlink by
``os.replace``: a rename, atomic on POSIX. Release ids start with the UTC time, so they sort by
age; the last ``SCR_KEEP_RELEASES`` stay, older ones are removed after the switch (never the
current one). A plain output dir (empty, or laid out as before releases) is adopted on the first
publish: it becomes a release and the link takes its place.

Files nobody published (a person's notes saved in the output dir, a worksheet filled in place)
would disappear from view at the switch: they are copied first to
``<output>.releases/_kept/<release id>/<same path>`` and named in the refresh's output.

Only the file system here (no Dagster, no warehouse). ``SCR_TEST_KILL_AT`` is a test hook: the
publish kills its own process (SIGKILL) at the named point (``KILL_POINTS``), so a test can
show that a reader never sees a mix (tests/publish/test_release_kill_points.py).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path

from assets._shared.settings import keep_releases
from assets.publish.manifest import MANIFEST, list_files, read_manifest, sha256_file

RELEASES_SUFFIX = ".releases"
STAGING_PREFIX = ".staging-"  # a release being written (in the releases dir, never the output)
PRUNING_PREFIX = ".pruning-"  # a release being removed (renamed first, so never half-listed)
LINK_PREFIX = ".link-"  # a new symlink, made beside the output path, renamed onto it
KEPT_DIR = "_kept"
ADOPTED = "adopted"
KILL_ENV = "SCR_TEST_KILL_AT"
KILL_POINTS = ("staging", "staged", "switching", "switched", "pruning")


def kill_point(name: str) -> None:
    """Test hook: SIGKILL this process at the publish point ``SCR_TEST_KILL_AT`` names."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def releases_root(output: Path) -> Path:
    """``<output>.releases``: beside the output path, so on the same file system."""
    return output.with_name(output.name + RELEASES_SUFFIX)


def kept_root(output: Path) -> Path:
    return releases_root(output) / KEPT_DIR


def current_dir(output: Path) -> Path | None:
    """The dir a reader of ``output`` sees: the link's release, or a plain dir not adopted yet."""
    if output.is_symlink():
        target = output.resolve()
        return target if target.is_dir() else None
    return output if output.is_dir() else None


def current_id(output: Path) -> str | None:
    return output.resolve().name if output.is_symlink() and output.resolve().is_dir() else None


def release_dirs(output: Path) -> list[Path]:
    """Complete releases, oldest first (staging, pruning and _kept left out)."""
    root = releases_root(output)
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "_"))
    )


def new_release_id(output: Path, refresh_id: str, now: datetime | None = None) -> str:
    """``<UTC time>-<refresh id>`` (sortable by time), unique among the releases."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in refresh_id)[:40] or "refresh"
    base, root, n = f"{stamp}-{safe}", releases_root(output), 1
    rid = base
    while (root / rid).exists() or (root / f"{STAGING_PREFIX}{rid}").exists():
        n += 1
        rid = f"{base}-{n}"
    return rid


def staging_dir(output: Path, release_id: str) -> Path:
    return releases_root(output) / f"{STAGING_PREFIX}{release_id}"


def leftovers(output: Path) -> list[Path]:
    """What a killed publish left: half-written releases, half-removed ones, unused new links.
    All ours, and none under the output path."""
    root = releases_root(output)
    found = []
    if root.is_dir():
        found += [p for p in root.iterdir() if p.name.startswith((STAGING_PREFIX, PRUNING_PREFIX))]
    if output.parent.is_dir():
        found += [p for p in output.parent.glob(f".{output.name}{LINK_PREFIX}*") if p.is_symlink()]
    return sorted(found)


def remove_leftovers(output: Path) -> list[str]:
    """Remove ``leftovers``; their names (relative to the output's folder) returned."""
    removed = []
    for p in leftovers(output):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p.relative_to(output.parent).as_posix())
    return removed


def foreign_files(release: Path | None) -> list[str]:
    """Files in the release no publish wrote as they are: not in its manifest, or changed since
    (sha256). A person's files: kept (``keep_foreign``), never deleted."""
    if release is None:
        return []
    manifest = read_manifest(release) or {"files": {}}
    listed = manifest["files"] | manifest.get("carried", {})
    out = []
    for rel in list_files(release):
        if rel == MANIFEST:
            continue
        entry = listed.get(rel)
        path = release / rel
        if entry is None or path.is_symlink() or sha256_file(path) != entry.get("sha256"):
            out.append(rel)
    return out


def missing_files(release: Path | None) -> list[str]:
    """Files the release's manifest lists that are not there (deleted by hand)."""
    manifest = (read_manifest(release) if release else None) or {"files": {}}
    listed = manifest["files"] | manifest.get("carried", {})
    return sorted(rel for rel in listed if not (release / rel).is_file())


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def keep_foreign(output: Path, release: Path, name: str, names: list[str]) -> Path | None:
    """Copy (hard link) each foreign file of ``release`` (id ``name``) to
    ``_kept/<release id>/<path>`` before the switch hides it; returns that dir."""
    if not names:
        return None
    dest = kept_root(output) / name
    for rel in names:
        target = dest / rel
        if not target.exists():
            link_or_copy(release / rel, target)
    return dest


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def adopted_id(plain: Path) -> str:
    """A plain output dir's id as a release: its manifest's publish time, else the dir's
    modification time (both before the release that replaces it, so ids sort by age)."""
    published = (read_manifest(plain) or {}).get("published_at")
    try:
        when = datetime.fromisoformat(published).astimezone(UTC)
    except (TypeError, ValueError):
        when = datetime.fromtimestamp(plain.stat().st_mtime, UTC)
    return new_release_id(plain, ADOPTED, min(when, datetime.now(UTC)))


def switch(output: Path, release: Path, adopt_as: str | None = None) -> str | None:
    """Point ``output`` at ``release`` in one rename. A plain dir in its place is adopted (moved
    into the releases dir as ``adopt_as``; an empty one removed); returns the line saying so,
    else None."""
    tmp = output.with_name(f".{output.name}{LINK_PREFIX}{uuid.uuid4().hex[:8]}")
    os.symlink(os.path.relpath(release, output.parent), tmp, target_is_directory=True)
    kill_point("switching")
    if output.is_symlink() or not output.exists():
        os.replace(tmp, output)
        return None
    if not any(output.iterdir()):
        output.rmdir()
        os.replace(tmp, output)
        return f"adopted the empty output dir {output}: it is now a link to {release}"
    adopted = releases_root(output) / (adopt_as or adopted_id(output))
    if _exchange(tmp, output):  # readers see the old dir, then the new release: no gap
        os.rename(tmp, adopted)
    else:
        os.rename(output, adopted)
        os.replace(tmp, output)
    return (
        f"adopted the output dir {output}: its files are kept as release {adopted.name} in "
        f"{adopted.parent}, and {output} is now a link to the current release"
    )


def prune(output: Path, keep: int) -> list[str]:
    """Remove all but the newest ``keep`` releases, never the current one; ids returned. Each
    is renamed first (``.pruning-``), so a kill leaves no half release in the listing."""
    current = current_id(output)
    dirs = release_dirs(output)
    drop = [p for p in dirs[: max(len(dirs) - keep, 0)] if p.name != current]
    for p in drop:
        doomed = p.with_name(f"{PRUNING_PREFIX}{p.name}")
        os.rename(p, doomed)
        kill_point("pruning")
        shutil.rmtree(doomed)
    return [p.name for p in drop]


def list_releases(output: Path) -> list[dict]:
    """Every kept release, oldest first: id, published_at, refresh_id, files, current, path."""
    current = current_id(output)
    out = []
    for p in release_dirs(output):
        manifest = read_manifest(p) or {}
        out.append(
            {
                "id": p.name,
                "published_at": manifest.get("published_at"),
                "refresh_id": manifest.get("refresh_id"),
                "files": len(manifest.get("files", {})),
                "current": p.name == current,
                "path": str(p),
            }
        )
    return out


def release_differences(output: Path) -> list[str]:
    """What the next publish tidies even when every file is right: a plain output dir (to be
    adopted), leftovers of a killed publish, more releases than ``SCR_KEEP_RELEASES``."""
    diffs = []
    if output.is_dir() and not output.is_symlink():
        diffs.append(f"{output}: a plain dir, not yet a link to a release (adopted on publish)")
    diffs += [f"{p.name}: left by an interrupted publish" for p in leftovers(output)]
    if len(release_dirs(output)) > keep_releases():
        diffs.append(f"{len(release_dirs(output))} releases kept, more than SCR_KEEP_RELEASES")
    return diffs
