"""Shared set-up of the audit tests: one small demo dataset refreshed once per module, and a
fresh copy of it (landing, warehouse, output, Dagster home) for each test that writes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import scr_fixtures

from pipelines.demo_extracts import write_demo_extracts


def use_env(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Point the pipeline's environment variables at ``root`` (the one list in scr_fixtures)."""
    env = scr_fixtures.use_env(monkeypatch, root)
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)


def refreshed_demo(tmp_path_factory: pytest.TempPathFactory, refresh: Callable) -> Path:
    """A small demo dataset (seed 7, scale 0.05), refreshed once."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, root)
        write_demo_extracts(root / "landing", seed=7, scale=0.05)
        refresh()
    return root


def copy_site(refreshed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the refreshed dataset, with the environment pointing at it."""
    root = tmp_path / "site"
    shutil.copytree(refreshed, root)
    use_env(monkeypatch, root)
    return root
