"""``scr-pipeline``: the entry point (``main``), one module per sub-command, and the in-process
refresh driver that walks the orchestration's refresh plan with progress and plain messages."""
