"""``scr-pipeline refresh``: the refresh plan walked in-process, with progress.

The walk itself lives in ``pipelines/orchestration/refresh_walk.py``, so that ``verify``
rebuilds through the very same functions in-process; this module is the CLI's name for it.
"""

from __future__ import annotations

from pipelines.orchestration.refresh_walk import (
    QUIET,
    RefreshFailed,
    RefreshResult,
    _execute,
    current_differences,
    execute_job,
    run_publish,
    run_refresh,
)

__all__ = [
    "QUIET", "RefreshFailed", "RefreshResult", "_execute", "current_differences",
    "execute_job", "run_publish", "run_refresh",
]  # fmt: skip
