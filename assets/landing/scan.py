"""The landing dir as the ingest sees it: which entries are extracts, which are settled, and
how each is named and read. Symlinks, names that are not UTF-8 and non-regular files named like
an extract are refused by name; hidden files and partial copies are ignored; a file changed less
than ``SCR_SETTLE_SECONDS`` ago is left for later; ``<extract>.sha256`` control files are
checked against their extract's bytes.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assets._shared.errors import BadExtractError
from schemas.extracts import ExtractSpec, spec_for

IGNORED_SUFFIXES = (".part", ".tmp", ".partial")
CONTROL_SUFFIX = ".sha256"  # CONTRACT.md, turn 4: optional, sha256sum format
EXTENSIONS = (".csv", ".parquet", ".xlsx")


@dataclass(frozen=True)
class LandingFile:
    path: Path  # where the bytes are read (the landing file, or its archived copy)
    spec: ExtractSpec
    sha256: str
    size: int
    mtime_ns: int | None
    source_name: str | None = None  # the landing name when ``path`` is an archived copy

    @property
    def name(self) -> str:
        return self.source_name or self.path.name


@dataclass
class LandingScan:
    files: list[LandingFile]  # settled extracts, lexical name order
    present: set[str] = field(default_factory=set)  # every extract name in landing
    unsettled: list[str] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_ignored(name: str) -> bool:
    """Hidden files and partial copies (``.part``, ``.tmp``, ``.partial``) are not extracts."""
    return name.startswith(".") or name.endswith(IGNORED_SUFFIXES)


def is_unsettled(st: os.stat_result, settle_seconds: float) -> bool:
    """Changed less than ``settle_seconds`` ago: possibly still being copied in."""
    return settle_seconds > 0 and time.time() - st.st_mtime < settle_seconds


def _refuse_symlink(path: Path) -> None:
    if path.is_symlink():  # named, never followed: its target is not ours to read or print
        raise BadExtractError(
            path.name,
            "is a symbolic link; the landing dir takes real files only",
            "Replace the link with a copy of the file (or remove it), then refresh again.",
        )


def is_control_file(name: str) -> bool:
    """``<extract>.sha256`` beside an extract: checked with it, never read as data."""
    return name.endswith(CONTROL_SUFFIX)


def _refuse_odd_name(path: Path) -> None:
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise BadExtractError(
            path.name,
            "the file NAME is not UTF-8 text (its content was not read)",
            "Rename the file using UTF-8 characters only, then run `scr-pipeline refresh` again.",
        ) from None


def _refuse_not_regular(path: Path, mode: int) -> None:
    """An entry named like an extract that is no regular file (a directory, a FIFO, a socket,
    a device) is reported by name, never skipped silently; other names are not ours."""
    if stat.S_ISREG(mode) or (spec_for(path.name) is None and not path.name.endswith(EXTENSIONS)):
        return
    kind = (
        "a directory" if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
        else "a socket" if stat.S_ISSOCK(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )  # fmt: skip
    raise BadExtractError(
        path.name,
        f"is {kind}, not a regular file; the landing dir takes extract files only",
        "Move it out of the landing dir (or replace it with the file itself), then run "
        "`scr-pipeline refresh` again.",
    )


def landing_candidates(landing: Path) -> Iterator[Path]:
    """Extract-like entries of the landing dir in name order (ignored names and control files
    skipped); a symlink, a name that is not UTF-8, or a non-regular file named like an extract
    refuses the refresh by name."""
    for path in sorted(landing.iterdir(), key=lambda p: p.name):
        if is_ignored(path.name):
            continue
        _refuse_odd_name(path)
        _refuse_symlink(path)
        if is_control_file(path.name):
            continue
        mode = path.lstat().st_mode
        _refuse_not_regular(path, mode)
        if stat.S_ISREG(mode):
            yield path


def check_control_file(path: Path, sha256: str) -> None:
    """When ``<extract>.sha256`` lies beside the extract, its digest must match the bytes read."""
    control = path.with_name(path.name + CONTROL_SUFFIX)
    if not control.is_file():
        return
    try:
        words = control.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        words = []
    digest = words[0].lower() if words else ""
    named = words[1].lstrip("*") if len(words) > 1 else path.name
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BadExtractError(
            control.name,
            "is not a sha256sum line (`<64 hex digits>  <file name>`)",
            f"Write it with `sha256sum {path.name} > {control.name}`, then run "
            "`scr-pipeline refresh` again.",
        )
    if named != path.name:
        raise BadExtractError(
            path.name,
            f"its control file {control.name} names another file ({named!r})",
            "Fix the control file, then run `scr-pipeline refresh` again.",
        )
    if digest != sha256:
        raise BadExtractError(
            path.name,
            f"its bytes do not match {control.name} (sha256 {sha256[:16]}..., the control "
            f"file says {digest[:16]}...): the copy is incomplete or altered",
            "Land the file again from the source (with its control file), then run "
            "`scr-pipeline refresh` again.",
        )


def scan_landing(
    landing: Path,
    known: dict[tuple[str, int, int], str] | None = None,
    settle_seconds: float = 0,
) -> LandingScan:
    """Landing files in lexical name order; a bad name or a symlink refuses the refresh.

    ``known`` maps (name, size, mtime_ns) of files already ingested to their content hash, so an
    unchanged file is not read again (hashing gigabytes of old extracts on every refresh).
    Files changed less than ``settle_seconds`` ago are listed as unsettled, not read."""
    if not landing.is_dir():
        raise BadExtractError(
            str(landing), "the landing dir does not exist", "Create it or set SCR_LANDING_DIR."
        )
    scan = LandingScan([])
    for path in landing_candidates(landing):
        spec = spec_for(path.name)
        if spec is None:
            raise BadExtractError(
                path.name,
                "the name matches no extract type (expected scr_extract_*, resource_requests_* "
                "or case_reviews_*, ending .csv or .parquet; case_reviews_* also .xlsx)",
                "Rename the file or move it out of the landing dir, then refresh again.",
            )
        scan.present.add(path.name)
        st = path.stat()
        if is_unsettled(st, settle_seconds):
            scan.unsettled.append(path.name)
            continue
        key = (path.name, st.st_size, st.st_mtime_ns)
        sha = (known or {}).get(key) or sha256_of(path)
        check_control_file(path, sha)
        scan.files.append(LandingFile(path, spec, sha, st.st_size, st.st_mtime_ns))
    return scan


def wait_until_settled(landing: Path, settle_seconds: float, progress=print) -> None:
    """Block until no extract in landing changed in the last ``settle_seconds`` (re-stat every
    second; never gives up: the operator can Ctrl-C)."""
    announced: set[str] = set()
    while landing.is_dir():
        waiting = []
        for path in landing_candidates(landing):
            try:
                if spec_for(path.name) and is_unsettled(path.stat(), settle_seconds):
                    waiting.append(path.name)
            except FileNotFoundError:
                continue
        if not waiting:
            return
        for name in waiting:
            if name not in announced:
                progress(f"waiting for {name} to settle")
                announced.add(name)
        time.sleep(1)


def glob_escaped(path: str) -> str:
    """``path`` with DuckDB's glob characters as one-character classes: read exactly it."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)
