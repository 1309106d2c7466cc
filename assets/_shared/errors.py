"""Errors a person can act on. The CLI prints their message alone, without a traceback."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class: ``str(err)`` is the whole message shown to the operator."""


class BadExtractError(PipelineError):
    """A landing file that cannot be read as an extract; nothing from the refresh is published."""

    def __init__(self, file_name: str, problem: str, hint: str = "") -> None:
        self.file_name = file_name
        self.problem = problem
        hint = hint or (
            "Fix or remove the file in the landing dir (it was not ingested), then run "
            "`scr-pipeline refresh` again."
        )
        super().__init__(f"{shown_name(file_name)}: {problem}. {hint}")


def shown_name(name: str) -> str:
    """A file name as one printable line: as it is when it is, else escaped like a Python
    literal (a newline as ``\\n``; a name that is not UTF-8 as its bytes, ``\\xe9``)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        import os

        return repr(os.fsencode(name))[1:]
    return name if name.isprintable() else repr(name)


class WarehouseBusyError(PipelineError):
    """Another process holds the DuckDB writer lock or the refresh lock."""


class UnwritablePathError(PipelineError):
    """A path the refresh must write is read-only, or a file sits where a directory belongs."""


def unwritable(path: object, what: str) -> UnwritablePathError:
    """One line naming the path and what to do, instead of ``[Errno 13] Permission denied``."""
    return UnwritablePathError(
        f"cannot write {path}: permission denied. Make {what} writable for this user, then run "
        "`scr-pipeline refresh` again (it completes whatever the failed refresh left undone)"
    )
