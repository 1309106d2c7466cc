"""The benchmark generator writes extracts the pipeline accepts: only the intended rows fail
validation (each exactly the rule it was broken for), every category and SCR type appears, the
checkbox exists only from 2023-07-18, and the correction extract moves exactly one quarter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets._shared.code_version import code_version_of
from assets._shared.validation import validate_new_files
from assets.landing.ingest import ingest_new_files
from benchmarks.generate import CORRECTION_QUARTER, write_correction, write_extracts
from schemas.extracts import SCR
from schemas.fiscal import quarter_key
from schemas.reference import criminal_categories
from schemas.scr_extract import TYPED_VIEW_SQL, scr_version_schema

ROWS = 10_000
RULE_OF_KIND = {
    "unknown_scr_type": "scr.scr_type.enum",
    "misspelled_category": "scr.criminal_category.enum",
    "missing_field_office": "scr.field_office.required",
    "subject_count_zero": "scr.subject_count.min",
    "malformed_country": "scr.countries.format",
    "bad_submitted_date": "scr.submitted_date.format",
    "missing_created_at": "scr.created_at.required",
    "unreadable_last_modified_at": "scr.last_modified_at.format",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    landing = tmp_path_factory.mktemp("landing")
    return landing, write_extracts(landing, ROWS, seed=11, rows_per_file=4_000)


def ingest_and_validate(landing: Path, warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The files ingested and validated by the pipeline's own functions."""
    con = duckdb.connect(str(warehouse))
    ingest_new_files(con, landing, run_id="test")
    import schemas.scr_extract as module

    validate_new_files(
        con,
        SCR,
        TYPED_VIEW_SQL,
        "scr_versions",
        scr_version_schema(),
        code_version_of(module),
    )
    con.execute(TYPED_VIEW_SQL)
    return con


@pytest.fixture(scope="module")
def validated(generated, tmp_path_factory) -> duckdb.DuckDBPyConnection:
    return ingest_and_validate(generated[0], tmp_path_factory.mktemp("wh") / "wh.duckdb")


def test_files_and_rows(generated, validated):
    landing, summary = generated
    assert summary["files"] == sorted(p.name for p in landing.glob("scr_extract_*.csv"))
    assert len(summary["files"]) == 3
    assert validated.execute("SELECT count(*) FROM raw_scr_versions").fetchall()[0][0] == ROWS


def test_only_the_intended_rows_fail_each_on_its_rule(generated, validated):
    _, summary = generated
    found = validated.execute(
        "SELECT source_file, source_row, rule_id FROM scr_findings ORDER BY ALL"
    ).fetchall()
    expected = sorted((f, r, RULE_OF_KIND[k]) for f, r, k in summary["bad_rows"])
    assert found == expected
    assert 0.0005 * ROWS <= summary["invalid_rows"] <= 0.002 * ROWS


def test_every_kind_of_broken_row_fails_its_rule(tmp_path):
    landing = tmp_path / "landing"
    summary = write_extracts(landing, 3_000, seed=5, invalid_per_mille=40)
    assert {k for _, _, k in summary["bad_rows"]} == set(RULE_OF_KIND)
    con = ingest_and_validate(landing, tmp_path / "wh.duckdb")
    found = con.execute("SELECT source_file, source_row, rule_id FROM scr_findings ORDER BY ALL")
    assert found.fetchall() == sorted((f, r, RULE_OF_KIND[k]) for f, r, k in summary["bad_rows"])


def test_every_category_type_and_status_appears(validated):
    def distinct(col: str) -> set[str]:
        q = f"SELECT DISTINCT {col} FROM scr_versions WHERE {col} IS NOT NULL"
        return {r[0] for r in validated.execute(q).fetchall()}

    assert set(criminal_categories()) <= distinct("criminal_category")
    assert {"INITIAL", "DISRUPTION", "DISMANTLEMENT"} <= distinct("scr_type")
    assert distinct("status") == {"APPROVED", "PENDING", "RETURNED", "REJECTED", "WITHDRAWN"}


def test_versions_per_scr(validated):
    per_scr = dict(
        validated.execute(
            "SELECT versions, count(*) FROM (SELECT scr_id, count(*) AS versions "
            "FROM scr_versions GROUP BY ALL) GROUP BY ALL"
        ).fetchall()
    )
    assert set(per_scr) == {1, 2, 3, 4}
    assert sum(per_scr.values()) == ROWS // 10 * 4


def test_checkbox_only_from_2023_07_18(validated):
    before, after_missing, after = validated.execute(
        "SELECT count(tco_involvement) FILTER (created_ts < TIMESTAMP '2023-07-18'), "
        "count(*) FILTER (created_ts >= TIMESTAMP '2023-07-18' AND tco_involvement IS NULL), "
        "count(*) FILTER (created_ts >= TIMESTAMP '2023-07-18') FROM scr_versions"
    ).fetchall()[0]
    assert before == 0
    assert after_missing == 0
    assert after > 0


def test_correction_changes_exactly_one_quarter(tmp_path, monkeypatch):
    from pipelines.cli.refresh import run_refresh
    from pipelines.orchestration.definitions import defs

    landing = tmp_path / "landing"
    write_extracts(landing, 5_000, seed=3, rows_per_file=5_000)
    for name, sub in (
        ("SCR_LANDING_DIR", "landing"),
        ("SCR_WAREHOUSE", "wh.duckdb"),
        ("SCR_OUTPUT_DIR", "out"),
        ("DAGSTER_HOME", "dh"),
    ):
        monkeypatch.setenv(name, str(tmp_path / sub))
    with dg.DagsterInstance.ephemeral() as inst:
        full = run_refresh(defs, inst, progress=lambda s: None)
        correction = write_correction(landing, 5_000, seed=3, share_pct=50)
        assert correction["rows"] > 0
        again = run_refresh(defs, inst, progress=lambda s: None)
    assert len(full.changed_quarters) > 30
    assert again.changed_quarters == [quarter_key(*CORRECTION_QUARTER)]
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    restated = con.execute(
        "SELECT count(*) FROM scr_current WHERE source_file = ? AND counted "
        "AND fiscal_year = ? AND fiscal_quarter = ? AND determination = 'NON_TCO'",
        [correction["file"], *CORRECTION_QUARTER],
    ).fetchall()[0][0]
    assert restated == correction["rows"]
    assert (
        dt.date(2024, 7, 1)
        <= con.execute(
            "SELECT min(approved_date) FROM scr_current WHERE source_file = ?", [correction["file"]]
        ).fetchall()[0][0]
    )
