"""``verify`` rebuilds in this process, through the functions ``scr-pipeline refresh`` calls,
and reads the rebuild's structured results (no CLI subprocess, no parsing of its output)."""

from __future__ import annotations

import subprocess

import pytest
from support.extracts import FILE_A, write_csv


def test_verify_rebuilds_in_process_and_counts_removed_files_from_the_metadata(
    project, monkeypatch: pytest.MonkeyPatch
):
    write_csv(project.landing / "scr_extract_2024-01-10.csv", FILE_A)
    project.refresh()

    def no_process(*args, **kwargs):
        raise AssertionError(f"verify started a process: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    project.messages.clear()
    assert project.verify() == []
    rebuild = [m for m in project.messages if m.startswith("  rebuild")]
    assert "  rebuild: 1 archived file(s) replayed from the archive alone" in rebuild
    assert any(m.startswith("  rebuild [plan] ") for m in rebuild)
    assert not any("removed" in m for m in rebuild if m.startswith("  rebuild [ingest]"))
