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
        super().__init__(f"{file_name}: {problem}. {hint}")


class WarehouseBusyError(PipelineError):
    """Another process holds the DuckDB writer lock or the refresh lock."""
