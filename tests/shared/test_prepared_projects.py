"""The shared test states (docs/TESTING.md, "The cut of 2026-12-06"): a test gets a copy of a
prepared project, never the source, and a test that writes into a shared source makes the next
user fail instead of passing on a changed state. The source here is a hand-made directory put
in the process's cache, so no refresh runs."""

from __future__ import annotations

import pytest
from support import project as support

FILES = {"scr_extract_2024-01-10.csv": [{"scr_id": "X"}]}


@pytest.fixture
def fake_source(tmp_path_factory, monkeypatch):
    """A prepared source named "guard" without a refresh: landing file, warehouse bytes, and the
    output link a publish leaves (relative, to a release dir)."""
    root = tmp_path_factory.mktemp("guard-source")
    (root / "landing").mkdir()
    (root / "landing" / "scr_extract_2024-01-10.csv").write_text("scr_id\r\nX\r\n")
    (root / "warehouse.duckdb").write_bytes(b"not a real warehouse")
    (root / "output.releases" / "r1").mkdir(parents=True)
    (root / "output.releases" / "r1" / "annual_measures.parquet").write_bytes(b"PAR1")
    (root / "output").symlink_to("output.releases/r1", target_is_directory=True)
    monkeypatch.setitem(support._PREPARED, "guard", (FILES, root, support._tree_digest(root)))
    return root


def test_a_test_gets_a_copy_and_its_writes_stay_in_the_copy(fake_source, prepared_project):
    p = prepared_project("guard", FILES)
    assert p.root != fake_source
    assert p.output.is_symlink() and (p.output / "annual_measures.parquet").read_bytes() == b"PAR1"
    (p.landing / "scr_extract_2024-01-10.csv").write_text("changed")
    (p.output / "annual_measures.parquet").write_bytes(b"changed")  # through the copied link
    assert (fake_source / "output" / "annual_measures.parquet").read_bytes() == b"PAR1"
    support.refreshed_project(None, "guard", FILES)  # the source is unchanged: no error


def test_a_write_into_the_source_fails_the_next_user(fake_source):
    (fake_source / "output.releases" / "r1" / "annual_measures.parquet").write_bytes(b"x")
    with pytest.raises(AssertionError, match="a test changed the prepared project"):
        support.refreshed_project(None, "guard", FILES)


def test_other_files_under_the_same_name_are_refused(fake_source):
    with pytest.raises(AssertionError, match="was made from other files"):
        support.refreshed_project(None, "guard", {"scr_extract_2024-01-11.csv": []})


def test_a_write_into_the_shared_demo_fails_the_next_user(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("demo-guard")
    (root / "warehouse.duckdb").write_bytes(b"demo")
    monkeypatch.setitem(support._DEMO, "demo", root)
    monkeypatch.setitem(support._DEMO_DIGEST, "demo", support._tree_digest(root))
    assert support.refreshed_demo(tmp_path_factory, refresh=None) == root
    (root / "warehouse.duckdb").write_bytes(b"changed")
    with pytest.raises(AssertionError, match="a test changed the shared demo"):
        support.refreshed_demo(tmp_path_factory, refresh=None)
