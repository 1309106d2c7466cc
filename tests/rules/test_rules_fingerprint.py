"""The rule fingerprint covers every module a rule depends on, so stored files are validated
again when a shared rule block changes (not only when the extract's own module does).

A copy of ``schemas/`` in a temp dir is edited; the project's files are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import assets._shared.validation as validate
import schemas

SCHEMAS = Path(schemas.__file__).resolve().parent
EXTRACT_MODULES = ("scr_extract.py", "resource_request.py", "case_review.py")


@pytest.fixture
def schemas_copy(tmp_path, monkeypatch) -> Path:
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(validate, "REFERENCE_DIR", copy / "reference")
    return copy


@pytest.mark.parametrize("module", EXTRACT_MODULES)
def test_every_extract_depends_on_the_shared_blocks(module):
    names = {p.name for p in validate.schema_modules(str(SCHEMAS / module))}
    assert {module, "rule_blocks.py", "extracts.py"} <= names
    # and on nothing outside schemas/ (assets, pipelines or third-party code)
    assert all(p.parent == SCHEMAS for p in validate.schema_modules(str(SCHEMAS / module)))


@pytest.mark.parametrize("module", EXTRACT_MODULES)
def test_a_change_to_a_shared_block_changes_every_fingerprint(schemas_copy, module):
    before = validate.rules_fingerprint(str(schemas_copy / module))
    assert validate.rules_fingerprint(str(schemas_copy / module)) == before  # stable
    blocks = schemas_copy / "rule_blocks.py"
    blocks.write_text(blocks.read_text() + "\n# a changed rule block\n")
    assert validate.rules_fingerprint(str(schemas_copy / module)) != before


def test_a_change_to_another_extract_leaves_the_fingerprint(schemas_copy):
    before = validate.rules_fingerprint(str(schemas_copy / "case_review.py"))
    scr = schemas_copy / "scr_extract.py"
    scr.write_text(scr.read_text() + "\n# an SCR-only change\n")
    assert validate.rules_fingerprint(str(schemas_copy / "case_review.py")) == before


def test_a_new_fingerprint_revalidates_stored_files(project):
    """The link from fingerprint to re-validation: files checked under another fingerprint are
    checked again (and only those)."""
    import duckdb
    from support.extracts import write_csv

    from schemas.extracts import SCR
    from schemas.scr_extract import TYPED_VIEW_SQL, scr_version_schema

    write_csv(project.landing / "scr_extract_2024-01-10.csv", [{"scr_id": "A"}])
    project.refresh()
    with duckdb.connect(str(project.warehouse)) as con:
        args = (con, SCR, TYPED_VIEW_SQL, "scr_versions", scr_version_schema())
        current = con.execute(
            "SELECT DISTINCT validated_rules FROM ingested_files WHERE extract_type = 'scr_extract'"
        ).fetchall()
        [(fingerprint,)] = current
        assert validate.validate_new_files(*args, fingerprint)["files_validated"] == 0
        assert validate.validate_new_files(*args, "changed-rules")["files_validated"] == 1
