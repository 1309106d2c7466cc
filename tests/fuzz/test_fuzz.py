"""Fuzz the SCR measure against an oracle that imports nothing from the project.

``tests/fuzz/fuzz_oracle.py`` is the contract (CONTRACT.md) written in plain Python: it reads the
reference CSVs with ``csv`` and computes, for a set of SCR extract files, the error rules each
row breaks, the current version of every SCR, quarantine, the TCO determination (and non-TCO
reason), the fiscal quarter, and from these the published quarterly and per-category rows.

Generation (``extract_files``): 2-14 rows (40 nightly) spread over 1-3 files, SCR ids from a
pool of one to four (a lower-case or padded spelling is the same SCR), so most SCRs have several
versions; ``last_modified_at`` comes from a small set that spells the same Eastern instant
several ways (``12:00``, ``17:00Z``, ``12:00-05:00``, ``13:00-04:00``), so ties within a file
and across files are common. About one row in ten breaks an error rule (one typical mistake);
the rest are valid: approved and not, INITIAL / DISRUPTION / DISMANTLEMENT, created before and
after 2023-07-18 (boundary times with UTC offsets included), subject_count / countries missing.

* ``test_refresh_matches_the_oracle``: the files are refreshed for real (Dagster in-process, a
  DuckDB file, Parquet read back). Error findings (file, row, rule), the current record of every
  SCR (file, row, quarantined, determination, reason, counted), the quarantined SCRs, the counted
  determinations, every published quarterly row and every category row equal the oracle's;
  ``dd_total = dd_tco + dd_non_tco + dd_undetermined`` on every row; every file reconciles.
* ``test_schema_flags_what_the_oracle_flags``: the project's typed view and pandera schema (no
  Dagster) flag exactly the oracle's (row, rule) pairs, over more examples.

Seeded: ``derandomize=True`` and no example database, so every run tries the same examples.
Profiles (environment variable ``SCR_FUZZ_PROFILE``):

* ``default``: 10 generated refreshes + 5 explicit examples (one a known disagreement,
  ``xfail``), 60 schema examples; the file runs
  in about a minute on two shared cores (``make test`` / CI).
* ``nightly``: 150 refreshes of up to 40 rows, 2,000 schema examples (about 15 minutes):
  ``SCR_FUZZ_PROFILE=nightly .venv/bin/python -m pytest -q -p no:randomly tests/fuzz/test_fuzz.py``.

A refresh failure is not shrunk (each shrink step is a refresh: minutes); set
``SCR_FUZZ_SHRINK=1`` to shrink it before writing it down as an ``@example``.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from fuzz_oracle import (
    CATEGORIES,
    CHECKBOX_FROM,
    EASTERN,
    NON_TCO_REASONS,
    SCR_COLUMNS,
    STATUSES,
    category_rows,
    current_records,
    error_rules,
    parse_timestamp,
    quarterly_rows,
    versions_of,
)
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from support.extracts import write_csv
from support.project import env_for, query, read_output, refresh_in_process

PROFILES = {
    "default": {"refreshes": 10, "max_rows": 14, "schema": 60},
    "nightly": {"refreshes": 150, "max_rows": 40, "schema": 2000},
}
PROFILE = os.environ.get("SCR_FUZZ_PROFILE", "default")
if PROFILE not in PROFILES:
    raise ValueError(f"SCR_FUZZ_PROFILE={PROFILE!r}: one of {sorted(PROFILES)}")
SIZE = PROFILES[PROFILE]
# Shrinking re-runs the refresh hundreds of times (minutes); it is off unless asked for. An
# unshrunk failure is still reproducible: the examples are derandomized.
SHRINK = os.environ.get("SCR_FUZZ_SHRINK") == "1"
PHASES = tuple(p for p in Phase if SHRINK or p not in (Phase.shrink, Phase.explain))
SEEDED = {"derandomize": True, "database": None, "deadline": None, "print_blob": True}
_examples: Counter = Counter()

# --- generation ---------------------------------------------------------------------------
ID_POOL = ("S-1", "S-2", "S-3", 'O\'Brien, "x"')
CASES = ("C-1", "C-2", "c-3", "C" * 40)
OFFICES = ("SAC Houston", "HQ", "SAC El Paso, TX")
SUBCATEGORIES = ("", "Fentanyl", 'say "hi", twice', "ü\nline")
# Tie-prone: the first six are all 2024-01-10 12:00 Eastern, then one second earlier, then
# three spellings of 2024-01-11 00:00 (ISO 8601's 24:00 is the end of the day); the last three
# are 2023-11-05 01:30 Eastern wall time, once as EDT and once as EST (converted to Eastern wall
# time, the contract's rule, the repeated hour ties).
LAST_MODIFIED = (
    "2024-01-10T12:00:00", "2024-01-10 12:00", "2024-01-10T17:00:00Z",
    "2024-01-10T12:00:00-05:00", "2024-01-10T13:00-04:00", "2024-01-10T12:00:00.000",
    "2024-01-10T11:59:59", "2024-01-11", "2024-01-11T00:00:00", "2024-01-10T24:00:00",
    "2023-11-05T01:30:00", "2023-11-05T05:30:00Z", "2023-11-05T06:30:00Z",
)  # fmt: skip
# created_at around the checkbox day: Eastern 2023-07-18 00:00, 2023-07-17 16:00, 23:59:59, ...
CREATED_EDGES = (
    "2023-07-17T23:00-05:00", "2023-07-18T01:00+05:00", "2023-07-17T23:59:59",
    "2023-07-18", "2023-07-18T03:59:59Z", "2023-07-18T04:00:00Z",
)  # fmt: skip
# How a generated created_at is written: naive Eastern, or UTC with an offset.
CREATED_FORMATS = ("T", " ", "minutes", "date", "Z", "-05:00", "+0530")
PADS = ("", "", "", "", "", "", " ", "\t", "  ")
TYPES = ("INITIAL", "DISRUPTION", "DISRUPTION", "DISMANTLEMENT")
COUNTRIES = ("", "", "US", "US;MX", "MX", "CA;US", "GB;FR", "US;US")
SUBJECTS = ("", "", "1", "2", "3", "17")
MISTAKES = (
    "scr_id", "case_number", "scr_type", "criminal_category", "field_office", "status",
    "created_at", "submitted_date", "submitted_before_created", "approved_missing",
    "approved_extra", "approved_before_submitted", "approved_format", "approved_future",
    "approved_out_of_range", "tco_involvement", "checkbox_missing", "subject_count", "countries", "last_modified_at",
)  # fmt: skip
BAD = {
    "scr_id": ("", "   ", "S" * 41),
    "case_number": ("", "C" * 41),
    "scr_type": ("", "disruption", "DISRUPT"),
    "criminal_category": ("", "Illicit Trade", "national security"),
    "field_office": ("", "  "),
    "status": ("", "approved", "DONE"),
    "created_at": (
        "",
        "01/02/2024",
        "2024-02-30T10:00",
        "yesterday",
        "2099-01-01T00:00:00",
        "2023-07-17T20:00:00+99:00",
        "2024-01-02T24:30:00",
    ),  # fmt: skip
    "submitted_date": ("", "2024-02-30", "03/04/2024", "2099-01-01"),
    "approved_format": ("2024-13-01", "01/02/2024", "2024-1-5"),
    # typos a refresh must take as findings (issue 28): no partition, never a stopped refresh
    "approved_out_of_range": ("9999-12-31", "0001-01-03", "1999-01-03", "2010-09-30"),
    "tco_involvement": ("Yes", "y", "TRUE"),
    "subject_count": ("0", "-1", "2.5", "many", "+3", "1" + "0" * 30),
    "countries": ("USA", "us;mx", "US;;MX", "XX", "US, MX", ";"),
    "last_modified_at": (
        "",
        "soon",
        "2024-1-1",
        "2024-02-30T12:00:00",
        "2099-01-01T00:00:00",
        "2024-01-10T12:00:00-99:00",
        "2024-01-10T12:00:00+05:99",
    ),  # fmt: skip
}


def _write_created(stamp: dt.datetime, how: str) -> str:
    """``stamp`` (Eastern wall time) written the way ``how`` says."""
    if how in ("T", " "):
        return stamp.isoformat(sep=how)
    if how == "minutes":
        return stamp.strftime("%Y-%m-%dT%H:%M")
    if how == "date":
        return stamp.date().isoformat()
    utc = stamp.replace(tzinfo=EASTERN).astimezone(dt.UTC)
    if how == "Z":
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    offset = dt.timedelta(hours=-5) if how == "-05:00" else dt.timedelta(hours=5, minutes=30)
    return utc.astimezone(dt.timezone(offset)).strftime("%Y-%m-%dT%H:%M:%S") + how


@st.composite
def scr_rows(draw) -> tuple[dict[str, str], bool]:
    """(row, whether a mistake was made): a valid row, broken one time in ten."""
    if draw(st.booleans()):
        created_text = draw(st.sampled_from(CREATED_EDGES))
    else:
        stamp = draw(st.datetimes(dt.datetime(2023, 5, 1), dt.datetime(2024, 1, 31)))
        created_text = _write_created(
            stamp.replace(microsecond=0), draw(st.sampled_from(CREATED_FORMATS))
        )
    created = parse_timestamp(created_text)
    submitted = created.date() + dt.timedelta(days=draw(st.integers(0, 30)))
    approved = submitted + dt.timedelta(days=draw(st.integers(0, 75)))
    status = draw(st.sampled_from(("APPROVED",) * 5 + STATUSES[1:]))
    checkbox = ("Y", "N") if created >= CHECKBOX_FROM else ("Y", "N", "", "")
    row = {
        "scr_id": draw(st.sampled_from(ID_POOL)),
        "case_number": draw(st.sampled_from(CASES)),
        "scr_type": draw(st.sampled_from(TYPES)),
        "criminal_category": draw(st.sampled_from(CATEGORIES)),
        "subcategory": draw(st.sampled_from(SUBCATEGORIES)),
        "field_office": draw(st.sampled_from(OFFICES)),
        "status": status,
        "created_at": created_text,
        "submitted_date": submitted.isoformat(),
        "approved_date": approved.isoformat() if status == "APPROVED" else "",
        "tco_involvement": draw(st.sampled_from(checkbox)),
        "subject_count": draw(st.sampled_from(SUBJECTS)),
        "countries": draw(st.sampled_from(COUNTRIES)),
        "last_modified_at": draw(st.sampled_from(LAST_MODIFIED)),
    }
    if draw(st.integers(0, 4)) == 4:  # an identity spelled another way: the same SCR
        row["scr_id"] = draw(st.sampled_from((str.lower, lambda s: f" {s}\t")))(row["scr_id"])
    pad = draw(st.sampled_from(PADS))  # padding is a warning: the row stays valid
    if pad:
        column = draw(st.sampled_from(SCR_COLUMNS))
        row[column] = pad + row[column] + draw(st.sampled_from(PADS))
    if draw(st.integers(0, 9)) < 9:
        return row, False
    mistake = draw(st.sampled_from(MISTAKES))
    if mistake in ("approved_format", "approved_future", "approved_out_of_range"):
        row["status"] = "APPROVED"
        row["approved_date"] = draw(st.sampled_from(BAD.get(mistake, ("2031-01-01",))))
    elif mistake in BAD:
        row[mistake] = draw(st.sampled_from(BAD[mistake]))
    elif mistake == "submitted_before_created":
        row["submitted_date"] = (created.date() - dt.timedelta(days=1)).isoformat()
    elif mistake == "approved_missing":
        row["status"], row["approved_date"] = "APPROVED", ""
    elif mistake == "approved_extra":
        row["status"], row["approved_date"] = (
            draw(st.sampled_from(STATUSES[1:])),
            approved.isoformat(),
        )
    elif mistake == "approved_before_submitted":
        row["status"] = "APPROVED"
        row["approved_date"] = (submitted - dt.timedelta(days=1)).isoformat()
    elif mistake == "checkbox_missing":  # 2023-07-18 00:00 Eastern: the checkbox is required
        row["created_at"], row["tco_involvement"] = "2023-07-17T23:00-05:00", ""
        row["submitted_date"] = "2023-07-20"
        row["approved_date"] = "2023-07-25" if row["status"] == "APPROVED" else ""
    return row, True


@st.composite
def extract_files(draw, max_rows: int = SIZE["max_rows"]) -> list[list[tuple[dict, bool]]]:
    """1-3 non-empty files of (row, broken) in landing order."""
    n_ids = draw(st.integers(1, len(ID_POOL)))
    size = draw(st.sampled_from(range(2, max_rows + 1)))  # uniform: st.integers favours small
    rows = draw(st.lists(scr_rows(), min_size=size, max_size=size))
    for row, _ in rows:  # keep the pool small: most SCRs get several versions
        for k, scr_id in enumerate(ID_POOL[n_ids:]):
            row["scr_id"] = row["scr_id"].replace(scr_id, ID_POOL[k % n_ids])
            row["scr_id"] = row["scr_id"].replace(scr_id.lower(), ID_POOL[k % n_ids].lower())
    n_files = draw(st.integers(1, min(3, len(rows))))
    where = [draw(st.integers(0, n_files - 1)) for _ in rows]
    files = [[r for r, f in zip(rows, where, strict=True) if f == i] for i in range(n_files)]
    files = [f for f in files if f]
    # byte-identical files are DUPLICATE_CONTENT below (a known disagreement): not generated
    assume(len({repr(f) for f in files}) == len(files))
    return files


def _name(i: int) -> str:
    return f"scr_extract_2024-10-0{i + 1}.csv"


# --- what the pipeline published ----------------------------------------------------------
def _dataset(out: Path, name: str) -> list[dict]:
    root = out / name
    if not root.exists():
        return []
    return ds.dataset(root, partitioning="hive", format="parquet").to_table().to_pylist()


def _sums_hold(row: dict, what: str) -> None:
    assert row["dd_total"] == row["dd_tco"] + row["dd_non_tco"] + row["dd_undetermined"], (
        what,
        row,
    )


def _check_refresh(root: Path, files: list[list[tuple[dict, bool]]]) -> dict:
    out = root / "output"
    named = {_name(i): [r for r, _ in rows] for i, rows in enumerate(files)}
    # ingested moments ago: "future" is later than one day from now (generated values are far
    # from that limit either way: 2024 or 2031/2099)
    future_after = dt.datetime.now(EASTERN).replace(tzinfo=None) + dt.timedelta(days=1)
    versions = versions_of(named, future_after)
    # the oracle breaks exactly the rows the generator broke (a check of the oracle itself)
    assert [bool(v.errors) for v in versions] == [b for rows in files for _, b in rows]

    findings = read_output(out, "validation_findings.parquet")
    assert {
        (f["source_file"], f["source_row"], f["rule_id"])
        for f in findings
        if f["severity"] == "error"
    } == {(v.file, v.row, rule) for v in versions for rule in v.errors}

    current = current_records(versions)
    expected_current = {
        c.scr_id: (c.version.file, c.version.row, c.quarantined, c.determination,
                   c.non_tco_reason, c.counted)
        for c in current.values()
    }  # fmt: skip
    got_current = {
        r[0]: r[1:]
        for r in query(
            root / "warehouse.duckdb",
            "SELECT scr_id, source_file, source_row, quarantined, determination, non_tco_reason, "
            "counted FROM scr_current",
        )
    }
    assert got_current == expected_current

    quarantined = read_output(out, "quarantined_scrs.parquet")
    assert {(r["scr_id"], r["source_file"], r["source_row"]) for r in quarantined} == {
        (c.scr_id, c.version.file, c.version.row) for c in current.values() if c.quarantined
    }
    determinations = {
        r["scr_id"]: (
            r["determination"],
            r["non_tco_reason"],
            r["fiscal_year"],
            r["fiscal_quarter"],
        )
        for r in _dataset(out, "scr_determinations")
        if r["counted"]
    }
    assert determinations == {
        c.scr_id: (c.determination, c.non_tco_reason, *c.quarter)
        for c in current.values()
        if c.counted
    }

    expected_q = quarterly_rows(current)
    got_q = {
        (r["fiscal_year"], r["fiscal_quarter"]): r for r in _dataset(out, "quarterly_measures")
    }
    assert set(got_q) == set(expected_q)
    for key, want in expected_q.items():
        assert {c: got_q[key][c] for c in want} == want, key
    for r in got_q.values():
        _sums_hold(r, "quarterly")

    expected_c = category_rows(current)
    got_c = {
        (r["fiscal_year"], r["fiscal_quarter"], r["criminal_category"]): r
        for r in _dataset(out, "category_measures")
    }
    assert set(got_c) == set(expected_c)
    for key, want in expected_c.items():
        assert {c: got_c[key][c] for c in want} == want, key
    for r in got_c.values():
        _sums_hold(r, "category")
        assert r["dd_non_tco"] == sum(r[k] for k in NON_TCO_REASONS), r
    for (fy, q), r in got_q.items():  # the categories add up to the quarter
        for c in ("dd_total", "dd_tco", "dd_non_tco", "dd_undetermined"):
            assert r[c] == sum(got_c[(fy, q, cat)][c] for cat in CATEGORIES), (fy, q, c)

    rec = {r["file"]: r for r in read_output(out, "ingest_reconciliation.parquet")}
    for name, rows in named.items():
        bad = sum(1 for v in versions if v.file == name and v.errors)
        r = rec[name]
        assert (r["rows_read"], r["rows_valid"], r["rows_quarantined"]) == (
            len(rows),
            len(rows) - bad,
            bad,
        )
    return {"versions": versions, "current": current}


def _tally(checked: dict) -> None:
    """How much each example exercised (printed at the end of the module)."""
    versions, current = checked["versions"], checked["current"]
    _examples["refresh"] += 1
    _examples["rows"] += len(versions)
    _examples["rows_broken"] += sum(1 for v in versions if v.errors)
    by_scr: dict[str, list] = {}
    for v in versions:
        if v.scr_id is not None:
            by_scr.setdefault(v.scr_id, []).append(v)
    for vs in by_scr.values():
        top = sorted((v.order[:2] for v in vs), reverse=True)
        _examples["scrs"] += 1
        _examples["scrs_with_versions"] += len(vs) > 1
        _examples["scrs_tied_on_latest"] += len(top) > 1 and top[0] == top[1]
        _examples["scrs_tied_across_files"] += (
            len({v.file for v in vs if v.order[:2] == top[0]}) > 1
        )
    for c in current.values():
        _examples["quarantined" if c.quarantined else (c.determination or "?")] += 1
        _examples["counted"] += c.counted


# --- explicit examples ----------------------------------------------------------------------
def _row(scr_id="S-1", **kw) -> dict[str, str]:
    row = {
        "scr_id": scr_id, "case_number": "C-1", "scr_type": "DISRUPTION",
        "criminal_category": "National Security", "subcategory": "", "field_office": "HQ",
        "status": "APPROVED", "created_at": "2024-01-02T09:00:00", "submitted_date": "2024-01-03",
        "approved_date": "2024-01-05", "tco_involvement": "Y", "subject_count": "3",
        "countries": "US;MX", "last_modified_at": "2024-01-10T12:00:00",
    }  # fmt: skip
    return row | kw


# found by the earlier fuzz: nothing counted at all made the report's annual chart crash
NOTHING_COUNTED = [[(_row(criminal_category="Illicit Trade"), True)]]
# one instant spelled three ways across two files: the later file wins, then the later row;
# the winner's checkbox 'N' makes it NON_TCO (indicator_no) in FY2024 Q2; a third file adds an
# UNDETERMINED disruption (FY2023 Q4) and an INITIAL determined TCO (FY2024 Q2)
TIE_ACROSS_FILES = [
    [(_row(), False), (_row(last_modified_at="2024-01-10T17:00:00Z", countries=""), False)],
    [
        (_row("s-1", last_modified_at="2024-01-10T13:00-04:00", tco_involvement="N"), False),
        (_row("S-2", scr_type="INITIAL", status="PENDING", approved_date=""), False),
    ],
    [  # before the checkbox day, no checkbox, no countries: UNDETERMINED; an INITIAL TCO
        (_row("S-3", created_at="2023-07-17T23:59:59", submitted_date="2023-07-17",
              approved_date="2023-09-30", tco_involvement="", countries=""), False),
        (_row("S-4", scr_type="INITIAL", approved_date="2024-03-31"), False),
    ],
]  # fmt: skip
# an undatable correction in the earlier file sorts as latest and quarantines its SCR; a future
# last_modified_at in the later file quarantines another
UNDATABLE_WINS = [
    [(_row(last_modified_at="soon"), True), (_row("S-2"), False)],
    [(_row(), False), (_row("S-2", last_modified_at="2099-01-01T00:00:00"), True)],
]

# found by this fuzz: "-99:00" is not a UTC offset, so the first version's last_modified_at is
# not a timestamp (scr.last_modified_at.format) and, undatable, is the current record: S-1 is
# quarantined and nothing counts. The pipeline read it as 99 hours later and counted it TCO.
INVALID_OFFSET = [
    [(_row(last_modified_at="2024-01-10T12:00:00-99:00"), True)],
    [(_row(last_modified_at="2024-01-11T00:00:00", tco_involvement="N"), False)],
]

# Known disagreement (found by the nightly profile, not fixed here): a file with the same bytes
# as an earlier file is skipped at ingest ("same content as ..., already ingested"), which the
# contract does not provide for. By the contract each file's rows are versions and a tie goes to
# the later file: S-1's current record is the third file's row (TCO). The pipeline ignores the
# third file, so the second file's row (checkbox N, NON_TCO) is current.
_TIED_TCO = (_row(), False)
DUPLICATE_CONTENT = [[_TIED_TCO], [(_row(tco_involvement="N"), False)], [_TIED_TCO]]


@settings(
    max_examples=SIZE["refreshes"],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    phases=PHASES,
    **SEEDED,
)
@given(files=extract_files())
@example(files=NOTHING_COUNTED)
@example(files=TIE_ACROSS_FILES)
@example(files=UNDATABLE_WINS)
@example(files=INVALID_OFFSET)
@example(files=DUPLICATE_CONTENT).xfail(
    reason="a file with an earlier file's bytes is skipped; the contract makes its rows versions",
    raises=AssertionError,
)
def test_refresh_matches_the_oracle(files, tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("fuzz")
    for k, v in env_for(root).items():
        monkeypatch.setenv(k, v)
    for i, rows in enumerate(files):
        write_csv(root / "landing" / _name(i), [r for r, _ in rows], list(SCR_COLUMNS))
    refresh_in_process(root)  # never raises
    _tally(_check_refresh(root, files))
    shutil.rmtree(root, ignore_errors=True)


# --- the schema alone ---------------------------------------------------------------------
@functools.cache
def _schema():
    from schemas.scr_extract import scr_version_schema

    return scr_version_schema()


def _project_findings(rows: list[dict[str, str]], ingested: dt.datetime) -> set[tuple[int, str]]:
    """(row, rule) errors by the project's typed view (in-memory DuckDB) and pandera schema;
    ``ingested`` is the UTC ingest time the future rules count from."""
    from assets._shared.validation import failures_of_batch
    from schemas.scr_extract import TYPED_COLUMNS_SQL

    raw = pa.Table.from_pylist(
        [
            {"file_id": 1, "source_file": "f.csv", "source_row": n, "ingested_at": ingested, **r}
            for n, r in enumerate(rows)
        ],
        schema=pa.schema(
            [("file_id", pa.int32()), ("source_file", pa.string()), ("source_row", pa.int64())]
            + [("ingested_at", pa.timestamp("us"))]
            + [(c, pa.string()) for c in SCR_COLUMNS]
        ),
    )
    con = duckdb.connect()
    con.register("raw_scr_versions", raw)
    table = con.sql(f"SELECT {TYPED_COLUMNS_SQL} FROM raw_scr_versions").to_arrow_table()
    con.close()
    found = failures_of_batch(table.to_batches()[0], _schema(), "scr_id")
    if found is None:
        return set()
    errors = found.filter(found["severity"] == "error")
    return set(zip(errors["source_row"].to_list(), errors["rule_id"].to_list(), strict=True))


@settings(max_examples=SIZE["schema"], **SEEDED)
@given(rows=st.lists(scr_rows(), min_size=1, max_size=20))
def test_schema_flags_what_the_oracle_flags(rows):
    ingested = dt.datetime.now(dt.UTC)
    future_after = ingested.astimezone(EASTERN).replace(tzinfo=None) + dt.timedelta(days=1)
    expected = {(n, r) for n, (row, _) in enumerate(rows) for r in error_rules(row, future_after)}
    assert {n for n, _ in expected} == {n for n, (_, broken) in enumerate(rows) if broken}
    assert _project_findings([r for r, _ in rows], ingested.replace(tzinfo=None)) == expected
    _examples["schema"] += 1


@pytest.fixture(scope="module", autouse=True)
def _report_examples():
    yield
    print(f"\nfuzz profile {PROFILE}, examples run: {dict(_examples)}")
