"""Property tests: generated SCR rows, valid and broken, never crash and are never lost.

Each column's strategy mixes valid values with the mistakes seen in real extracts (empty
values, wrong case, bad dates, dates out of order, unknown codes, over-long ids). The strategy
also says, independently of the pipeline, whether a row breaks an error rule.

* ``test_refresh_counts_or_quarantines_every_scr``: rows are written to one or two CSV files
  and refreshed for real (Dagster in-process, DuckDB file, Parquet read back). Every SCR is
  counted, quarantined with an error finding, or not approved; every row is reconciled; the
  quarterly Parquet counts exactly the approved, valid current records.
* ``test_schema_flags_exactly_the_broken_rows``: the pandera schema over polars frames (no
  Dagster) flags exactly the rows the strategy broke, over many more examples.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from scr_fixtures import (
    SCR_COLUMNS,
    env_for,
    quarterly,
    read_output,
    refresh_in_process,
    write_csv,
)

from schemas.reference import criminal_categories
from schemas.scr_extract import SCR_TYPES, STATUSES

CHECKBOX = dt.datetime(2023, 7, 18)
REAL_REFRESH_EXAMPLES = 20
SCHEMA_EXAMPLES = 200
_examples = Counter()


def _mix(valid: st.SearchStrategy, broken: st.SearchStrategy) -> st.SearchStrategy:
    """(value, is_broken): a valid value nine times in ten, else a typical mistake."""
    return st.sampled_from(range(10)).flatmap(
        lambda n: broken.map(lambda v: (v, True)) if n == 0 else valid.map(lambda v: (v, False))
    )


IDS = _mix(
    st.sampled_from(["S-1", "S-2", "S-3", "S-4", 'O\'Brien, "x"', "Ω-5"]),
    st.sampled_from(["", "   ", "S" * 41]),
)
CASES = _mix(st.sampled_from(["C-1", "C-2", "C" * 40]), st.sampled_from(["", "C" * 41]))
# padded values are trimmed (a warning, not an error): " INITIAL" is valid
TYPES = _mix(
    st.sampled_from([*SCR_TYPES, " INITIAL"]), st.sampled_from(["", "disruption", "DISRUPT"])
)
CATEGORIES = _mix(
    st.sampled_from([*criminal_categories(), "Cyber-Enabled Crime "]),
    st.sampled_from(["", "Illicit Trade", "national security"]),
)
OFFICES = _mix(st.text(min_size=1, max_size=20).filter(str.strip), st.sampled_from(["", "  "]))
COUNTRIES = _mix(
    st.sampled_from(["", "US", "US;MX", "MX;CA", "GB"]),
    st.sampled_from(["USA", "us;mx", "US;;MX", "XX", "US, MX", ";"]),
)
SUBJECTS = _mix(
    st.one_of(st.just(""), st.integers(1, 40).map(str)),
    st.sampled_from(["0", "-1", "2.5", "many", "1e3"]),
)
CHECKBOXES = _mix(st.sampled_from(["Y", "N", ""]), st.sampled_from(["Yes", "y", "n", "TRUE"]))
BAD_DATES = st.sampled_from(["01/02/2024", "2024-02-30", "2024-13-01", "yesterday", "20240101"])


@st.composite
def scr_rows(draw) -> tuple[dict[str, str], bool, dt.datetime | None]:
    """(row, breaks an error rule, parsed last_modified_at or None when it does not parse)."""
    broken = False

    def take(strategy):
        nonlocal broken
        value, bad = draw(strategy)
        broken |= bad
        return value

    row = {
        "scr_id": take(IDS),
        "case_number": take(CASES),
        "scr_type": take(TYPES),
        "criminal_category": take(CATEGORIES),
        "subcategory": draw(st.text(max_size=30)),
        "field_office": take(OFFICES),
        "subject_count": take(SUBJECTS),
        "countries": take(COUNTRIES),
    }
    created = draw(st.datetimes(dt.datetime(2022, 10, 1), dt.datetime(2024, 9, 1)))
    created = created.replace(microsecond=0)
    submitted = created.date() + dt.timedelta(days=draw(st.integers(0, 40)))
    approved = submitted + dt.timedelta(days=draw(st.integers(0, 60)))
    row["created_at"] = created.isoformat(sep=draw(st.sampled_from(["T", " "])))
    row["submitted_date"] = submitted.isoformat()
    status, bad = draw(_mix(st.sampled_from(STATUSES), st.sampled_from(["", "approved", "DONE"])))
    row["status"], broken = status, broken or bad
    row["approved_date"] = approved.isoformat() if status == "APPROVED" else ""
    row["tco_involvement"] = take(CHECKBOXES)
    if row["tco_involvement"] == "" and created >= CHECKBOX:
        broken = True  # the checkbox is mandatory from 2023-07-18
    mistake = draw(st.sampled_from(["none"] * 18 + ["created", "submitted", "approved", "order",
                                                   "approved_missing", "approved_extra"]))  # fmt: skip
    if mistake == "created":
        row["created_at"] = draw(BAD_DATES)
    elif mistake == "submitted":
        row["submitted_date"] = draw(st.sampled_from(["", "2024-02-30", "03/04/2024"]))
    elif mistake == "approved" and status == "APPROVED":
        row["approved_date"] = draw(BAD_DATES)
    elif mistake == "order":
        row["submitted_date"] = (created.date() - dt.timedelta(days=1)).isoformat()
    elif mistake == "approved_missing" and status == "APPROVED":
        row["approved_date"] = ""
    elif mistake == "approved_extra" and status != "APPROVED":
        row["approved_date"] = approved.isoformat()
    else:
        mistake = "none"
    broken |= mistake != "none"
    modified = approved if row["approved_date"] else submitted
    lm = dt.datetime.combine(modified, dt.time(12)) + dt.timedelta(minutes=draw(st.integers(0, 3)))
    lm_text, lm_bad = draw(_mix(st.just(lm.isoformat()), st.sampled_from(["", "soon", "2024-1-1"])))
    row["last_modified_at"], broken = lm_text, broken or lm_bad
    return row, broken, None if lm_bad else lm


def _fy_q(day: str) -> tuple[int, int]:
    d = dt.date.fromisoformat(day)
    fy = d.year + (d.month >= 10)
    return fy, (d.month - 10) % 12 // 3 + 1


def _expected_current(files: list[list[tuple]]) -> dict[str, tuple[str, int]]:
    """scr_id -> (file, row) of its current version, by the contract's ordering."""
    best: dict[str, tuple] = {}
    for f_index, rows in enumerate(files):
        name = f"scr_extract_2024-10-0{f_index + 1}.csv"
        for r_index, (row, _, lm) in enumerate(rows, start=1):
            if not row["scr_id"].strip():
                continue
            key = (lm is None, lm or dt.datetime.min, name, r_index)
            if row["scr_id"] not in best or key > best[row["scr_id"]][0]:
                best[row["scr_id"]] = (key, (name, r_index))
    return {k: v[1] for k, v in best.items()}


def _check_refresh(root: Path, files: list[list[tuple]]) -> None:
    out = root / "output"
    by_pos = {
        (f"scr_extract_2024-10-0{i + 1}.csv", n): item
        for i, rows in enumerate(files)
        for n, item in enumerate(rows, start=1)
    }
    findings = read_output(out, "validation_findings.parquet")
    errors = {(f["source_file"], f["source_row"]) for f in findings if f["severity"] == "error"}
    # the independent oracle and the pipeline agree on which rows break an error rule
    assert {pos for pos, (_, broken, _) in by_pos.items() if broken} == errors
    current = _expected_current(files)
    counted: Counter = Counter()
    for pos in current.values():
        row, broken, _ = by_pos[pos]
        if not broken and row["status"] == "APPROVED":
            counted[_fy_q(row["approved_date"])] += 1
    got = {k: v["initial_approved"] + v["dd_total"] for k, v in quarterly(out).items()}
    assert got == dict(counted)  # every valid approved current SCR counts, once
    quarantined = read_output(out, "quarantined_scrs.parquet")
    assert {(r["source_file"], r["source_row"]) for r in quarantined} == {
        pos for pos in current.values() if by_pos[pos][1]
    }
    rec = read_output(out, "ingest_reconciliation.parquet")
    for i, rows in enumerate(files):
        name = f"scr_extract_2024-10-0{i + 1}.csv"
        (r,) = [r for r in rec if r["file"] == name]
        bad = sum(1 for (f, _) in errors if f == name)
        assert (r["rows_read"], r["rows_valid"], r["rows_quarantined"]) == (
            len(rows),
            len(rows) - bad,
            bad,
        )


@settings(
    max_examples=REAL_REFRESH_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(scr_rows(), min_size=2, max_size=14),
    split=st.integers(0, 14),
)
@example(  # found by this test: nothing counted at all made the report's annual chart crash
    rows=[
        (
            {"scr_id": "S-1", "case_number": "C-1", "scr_type": "DISRUPTION",
             "criminal_category": "Illicit Trade", "subcategory": "", "field_office": "0",
             "subject_count": "", "countries": "US", "created_at": "2022-10-28 03:05:11",
             "submitted_date": "2022-11-16", "status": "APPROVED", "approved_date": "2022-11-22",
             "tco_involvement": "Y", "last_modified_at": "2022-11-22T12:00:00"},
            True,
            dt.datetime(2022, 11, 22, 12, 0),
        )
    ],
    split=0,
)  # fmt: skip
def test_refresh_counts_or_quarantines_every_scr(rows, split, tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("fuzz")
    for k, v in env_for(root).items():
        monkeypatch.setenv(k, v)
    files = [rows[:split], rows[split:]] if 0 < split < len(rows) else [rows]
    for i, part in enumerate(files):
        write_csv(root / "landing" / f"scr_extract_2024-10-0{i + 1}.csv", [r for r, _, _ in part])
    refresh_in_process(root)  # never raises
    _check_refresh(root, files)
    _examples["refresh"] += 1
    _examples["refresh_rows"] += len(rows)
    _examples["refresh_rows_broken"] += sum(1 for _, broken, _ in rows if broken)
    shutil.rmtree(root, ignore_errors=True)


@functools.cache
def _schema():
    from schemas.scr_extract import scr_version_schema

    return scr_version_schema()


def _typed_frame(rows: list[dict[str, str]]):
    """The typed view the pipeline validates, computed by the same SQL in in-memory DuckDB."""
    from schemas.scr_extract import TYPED_COLUMNS_SQL

    con = duckdb.connect()
    raw = pa.Table.from_pylist(
        [{"file_id": 1, "source_file": "f.csv", "source_row": n, **r} for n, r in enumerate(rows)],
        schema=pa.schema(
            [("file_id", pa.int32()), ("source_file", pa.string()), ("source_row", pa.int64())]
            + [("ingested_at", pa.timestamp("us"))]  # NULL: no future limit
            + [(c, pa.string()) for c in SCR_COLUMNS]
        ),
    )
    con.register("raw_scr_versions", raw)
    table = con.sql(f"SELECT {TYPED_COLUMNS_SQL} FROM raw_scr_versions").to_arrow_table()
    con.close()
    return table


@settings(max_examples=SCHEMA_EXAMPLES, deadline=None)
@given(rows=st.lists(scr_rows(), min_size=1, max_size=20))
def test_schema_flags_exactly_the_broken_rows(rows):
    from assets.validate import failures_of_batch

    table = _typed_frame([r for r, _, _ in rows])
    found = failures_of_batch(table.to_batches()[0], _schema(), "scr_id")
    errors = None if found is None else found.filter(found["severity"] == "error")
    flagged = set() if errors is None else set(errors["source_row"].to_list())
    assert flagged == {n for n, (_, broken, _) in enumerate(rows) if broken}
    _examples["schema"] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_examples():
    yield
    print(f"\nfuzz examples run: {dict(_examples)}")
