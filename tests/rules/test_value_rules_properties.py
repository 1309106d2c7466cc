"""Property tests for the value rules added after adversarial testing (CONTRACT.md): a value and
its variant with whitespace / case / UTC offset / near-miss header give the documented result.

Every oracle is written here, independently of the project: which characters count as
whitespace, what upper-case means, Eastern time through ``zoneinfo``, the future limit, and an
edit distance. Rows go through the real typed-view SQL (in-memory DuckDB) and the real pandera
schema of each extract type; headers through the real header check. Seeded: every run draws the
same examples (``derandomize=True``).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from zoneinfo import ZoneInfo

import duckdb
import hypothesis.strategies as st
import pyarrow as pa
import pytest
from hypothesis import given, settings

from assets._shared.errors import BadExtractError
from assets.landing.lifecycle import active_view
from schemas.extracts import CASE_REVIEWS, EXTRACTS, RESOURCE_REQUESTS, SCR, ExtractSpec

EASTERN = ZoneInfo("America/New_York")
WS = " \t\n\r\x0b\x0c"  # the whitespace the contract trims (ASCII), per docs/VALIDATION.md
# 30 seeded examples per property in `make test`; SCR_PROPERTY_EXAMPLES=500 for a longer run
SEEDED = settings(
    derandomize=True,
    max_examples=int(os.environ.get("SCR_PROPERTY_EXAMPLES", "30")),
    deadline=None,
)
INGESTED = dt.datetime(2026, 12, 1, 15, 0)  # UTC, as ingest stores it (10:00 Eastern)

VALID = {
    SCR: {
        "scr_id": "SCR-2024-001", "case_number": "CASE-1", "scr_type": "DISRUPTION",
        "criminal_category": "National Security", "subcategory": "sub",
        "field_office": "SAC Houston", "status": "APPROVED", "created_at": "2024-01-02T09:00:00",
        "submitted_date": "2024-01-03", "approved_date": "2024-01-10", "tco_involvement": "Y",
        "subject_count": "3", "countries": "US;MX", "last_modified_at": "2024-01-10T12:00:00",
    },
    RESOURCE_REQUESTS: {
        "request_id": "RR-1", "fiscal_year": "2024", "program_office": "HSI", "title": "Agents",
        "amount_usd": "1200.50", "positions": "3", "scr_categories": "National Security",
        "cites_scr_data": "Y", "submitted_date": "2023-05-01",
    },
    CASE_REVIEWS: {
        "case_number": "CASE-1", "reviewed_on": "2024-03-01", "association_of_individuals": "Y",
        "crosses_international_border": "N", "notes": "ok", "reviewer": "ann",
        "review_role": "first", "review_outcome": "REVIEWED",
    },
}  # fmt: skip
VIEWS = {
    SCR: ("schemas.scr_extract", "scr_versions", "scr_version_schema"),
    RESOURCE_REQUESTS: (
        "schemas.resource_request",
        "resource_request_versions",
        "resource_request_schema",
    ),
    CASE_REVIEWS: ("schemas.case_review", "case_review_versions", "case_review_schema"),
}


@functools.cache
def _schema(spec: ExtractSpec):
    import importlib

    module, _, factory = VIEWS[spec]
    return getattr(importlib.import_module(module), factory)()


def _typed(spec: ExtractSpec, rows: list[dict[str, str]], ingested: dt.datetime = INGESTED):
    """The rows as the pipeline's typed view sees them (same SQL, in-memory DuckDB)."""
    import importlib

    module, view, _ = VIEWS[spec]
    con = duckdb.connect()
    raw = pa.Table.from_pylist(
        [
            {"file_id": 1, "source_file": "f.csv", "source_row": n, "ingested_at": ingested, **r}
            for n, r in enumerate(rows, start=1)
        ],
        schema=pa.schema(
            [("file_id", pa.int32()), ("source_file", pa.string()), ("source_row", pa.int64())]
            + [("ingested_at", pa.timestamp("us"))]
            + [(c, pa.string()) for c in spec.columns]
        ),
    )
    con.register("raw", raw)
    con.execute(f"CREATE TABLE {spec.raw_table} AS SELECT * FROM raw")
    # The typed views read the active files only (assets/landing/lifecycle.py); every file is active here.
    con.execute(f"CREATE VIEW {active_view(spec.raw_table)} AS SELECT * FROM {spec.raw_table}")
    con.execute("CREATE TABLE audit_sample_cases AS SELECT 'CASE-1' AS case_number")
    con.execute(importlib.import_module(module).TYPED_VIEW_SQL)
    table = con.sql(f"SELECT * FROM {view} ORDER BY source_row").to_arrow_table()
    con.close()
    return table


def _findings(spec: ExtractSpec, rows: list[dict[str, str]], **kw) -> list[tuple[int, str, str]]:
    """(source_row, rule_id, severity) of every finding, sorted."""
    from assets._shared.validation import failures_of_batch

    table = _typed(spec, rows, **kw)
    found = failures_of_batch(table.to_batches()[0], _schema(spec), spec.record_key)
    if found is None:
        return []
    return sorted(found.select("source_row", "rule_id", "severity").iter_rows())


def _row(spec: ExtractSpec, **overrides: str) -> dict[str, str]:
    return VALID[spec] | overrides


def test_valid_rows_have_no_finding():
    for spec in EXTRACTS:
        assert _findings(spec, [_row(spec)]) == [], spec.name


# --- whitespace -------------------------------------------------------------------------------
PAD = st.text(WS, min_size=0, max_size=3)
SPEC_COLUMN = st.sampled_from([(s, c) for s in EXTRACTS for c in s.columns])


@SEEDED
@given(spec_column=SPEC_COLUMN, left=PAD, right=PAD)
def test_padding_gives_one_warning_and_the_same_errors(spec_column, left, right):
    """`` 3 ``, ``APPROVED ``, `` 2023-01-12 ``: the same answer as the bare value, plus one
    ``<extract>.<column>.whitespace`` warning when padding was there."""
    spec, column = spec_column
    value = VALID[spec][column]
    padded = _findings(spec, [_row(spec, **{column: left + value + right})])
    expected = [(1, f"{spec.rule_prefix}{column}.whitespace", "warning")] if left + right else []
    assert padded == expected


# the characters a value's ends can hold that decide the fast path (above / at / below ' ')
EDGE_TEXT = st.text(WS + "\x00\x01\x1f!aZ\xa0\u0301\u200d\u3000\U0001f600", max_size=6)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(values=st.lists(EDGE_TEXT, min_size=1, max_size=40))
def test_the_rule_value_is_the_value_stripped_of_ascii_whitespace(values):
    """Trimming as the contract says (the six ASCII whitespace characters, both ends; blank is
    missing), also for values that skip trim() because neither end can be whitespace:
    controls, non-ASCII spaces, combining marks and emoji at either end."""
    from schemas.rule_blocks import value_sql

    con = duckdb.connect()
    con.register("v", pa.table({"i": list(range(len(values))), "x": values}))
    got = [r[0] for r in con.execute(f"SELECT {value_sql('x')} FROM v ORDER BY i").fetchall()]
    con.close()
    assert got == [v.strip(WS) or None for v in values]


@SEEDED
@given(spec_column=SPEC_COLUMN, pad=PAD)
def test_only_whitespace_is_missing_not_padded(spec_column, pad):
    """A value that is nothing but whitespace is a missing value: no whitespace warning, and
    exactly the findings of an empty value."""
    spec, column = spec_column
    blank = _findings(spec, [_row(spec, **{column: pad})])
    assert blank == _findings(spec, [_row(spec, **{column: ""})])
    assert not any(r.endswith(".whitespace") for _, r, _ in blank)


@SEEDED
@given(
    spec_column=st.sampled_from(
        [
            (SCR, "subject_count"),
            (RESOURCE_REQUESTS, "positions"),
            (RESOURCE_REQUESTS, "fiscal_year"),
        ]
    ),
    n=st.integers(0, 3000),
    sign=st.sampled_from(["", "+", " +", "+ "]),
)
def test_a_plus_sign_is_not_a_plain_integer_anywhere(spec_column, n, sign):
    spec, column = spec_column
    rule = f"{spec.rule_prefix}{column}.integer"
    found = {r for _, r, s in _findings(spec, [_row(spec, **{column: f"{sign}{n}"})])}
    assert (rule in found) == ("+" in sign)


# --- identities -------------------------------------------------------------------------------
ID = st.text("abcXYZ019-", min_size=1, max_size=12)


@SEEDED
@given(
    spec_column=st.sampled_from([(s, c) for s in EXTRACTS for c in s.identity_columns]),
    ident=ID,
)
def test_identities_are_upper_case_with_a_warning_when_changed(spec_column, ident):
    spec, column = spec_column
    table = _typed(spec, [_row(spec, **{column: ident})])
    assert table[column].to_pylist() == [ident.upper()]
    found = [r for _, r, _ in _findings(spec, [_row(spec, **{column: ident})])]
    case_rule = f"{spec.rule_prefix}{column}.case"
    assert (case_rule in found) == (ident != ident.upper())
    assert not [r for r in found if r != case_rule and not r.endswith(".in_sample")]


# --- time zones -------------------------------------------------------------------------------
INSTANT = st.datetimes(dt.datetime(2023, 7, 16), dt.datetime(2023, 7, 20)).map(
    lambda t: t.replace(second=0, microsecond=0, tzinfo=dt.UTC)
)
OFFSET_MINUTES = st.sampled_from([-600, -420, -300, -240, 0, 60, 300, 330, 345, 600, 840])


def _written(instant: dt.datetime, minutes: int, style: str) -> str:
    local = instant.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    sign, m = ("-" if minutes < 0 else "+"), abs(minutes)
    offset = {
        "colon": f"{sign}{m // 60:02d}:{m % 60:02d}",
        "compact": f"{sign}{m // 60:02d}{m % 60:02d}",
    }[style]
    if minutes == 0 and style == "compact":
        offset = "Z"
    return local.strftime("%Y-%m-%dT%H:%M") + offset


@SEEDED
@given(instant=INSTANT, minutes=OFFSET_MINUTES, style=st.sampled_from(["colon", "compact"]))
def test_offset_timestamps_become_eastern_wall_time(instant, minutes, style):
    """Any offset: the typed value is the Eastern wall time of the instant, and the 2023-07-18
    checkbox rule follows that Eastern time (an empty checkbox is an error from then on)."""
    text = _written(instant, minutes, style)
    eastern = instant.astimezone(EASTERN).replace(tzinfo=None)
    row = _row(SCR, created_at=text, submitted_date="2023-07-21", tco_involvement="")
    table = _typed(SCR, [row])
    assert table["created_ts"].to_pylist() == [eastern]
    found = [r for _, r, _ in _findings(SCR, [row])]
    required = "scr.tco_involvement.required_from_2023_07_18"
    assert (required in found) == (eastern >= dt.datetime(2023, 7, 18))


@SEEDED
@given(wall=INSTANT.map(lambda t: t.replace(tzinfo=None)))
def test_a_timestamp_without_offset_is_eastern_already(wall):
    table = _typed(SCR, [_row(SCR, last_modified_at=wall.isoformat())])
    assert table["last_modified_ts"].to_pylist() == [wall]


@pytest.mark.parametrize(
    ("written", "eastern"),
    [
        ("2023-07-17T23:00-05:00", dt.datetime(2023, 7, 18, 0, 0)),  # EDT is -04:00
        ("2023-07-18T01:00+05:00", dt.datetime(2023, 7, 17, 16, 0)),
        ("2024-01-10T17:00Z", dt.datetime(2024, 1, 10, 12, 0)),  # EST is -05:00
        ("2024-01-10 12:00:00", dt.datetime(2024, 1, 10, 12, 0)),
        ("2024-01-10", dt.datetime(2024, 1, 10, 0, 0)),  # a date ending "-10" has no offset
    ],
)
def test_examples_of_the_contract(written, eastern):
    assert _typed(SCR, [_row(SCR, last_modified_at=written)])["last_modified_ts"].to_pylist() == [
        eastern
    ]


# --- future dates -----------------------------------------------------------------------------
FUTURE_COLUMNS = [
    (SCR, "approved_date", "date"),
    (SCR, "last_modified_at", "timestamp"),
    (RESOURCE_REQUESTS, "submitted_date", "date"),
    (CASE_REVIEWS, "reviewed_on", "date"),
]


@SEEDED
@given(
    target=st.sampled_from(FUTURE_COLUMNS),
    ingested=st.datetimes(dt.datetime(2024, 1, 1), dt.datetime(2031, 1, 1)).map(
        lambda t: t.replace(microsecond=0)
    ),
    days=st.integers(-3, 4),
    minutes=st.integers(0, 24 * 60 - 1),
)
def test_later_than_one_day_after_ingest_is_an_error(target, ingested, days, minutes):
    """The limit is the Eastern time of ingest plus one day; a date is compared with the day of
    that limit. The same file ingested at the same time gives the same findings."""
    spec, column, kind = target
    limit = ingested.replace(tzinfo=dt.UTC).astimezone(EASTERN).replace(tzinfo=None)
    limit += dt.timedelta(days=1)
    day = limit.date() + dt.timedelta(days=days)
    if kind == "date":
        value, future = day.isoformat(), day > limit.date()
    else:
        stamp = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
        value, future = stamp.isoformat(), stamp > limit
    row = _row(spec, **{column: value})
    if spec is SCR and column == "approved_date":
        row["submitted_date"] = row["created_at"] = min(value, "2024-01-01")
    found = {r for _, r, _ in _findings(spec, [row], ingested=ingested)}
    assert (f"{spec.rule_prefix}{column}.future" in found) == future


# --- headers ----------------------------------------------------------------------------------
def _distance(a: str, b: str) -> int:
    """The oracle's own edit distance (insertions, deletions, substitutions)."""
    d = {(i, j): i + j for i in range(len(a) + 1) for j in range(len(b) + 1) if not i * j}
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i, j] = min(
                d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1])
            )
    return d[len(a), len(b)]


def _check(spec: ExtractSpec, header: list[str]) -> dict[str, str]:
    from assets.landing.readers import contract_header

    return contract_header("x.csv", header, spec)


@SEEDED
@given(
    spec_column=SPEC_COLUMN,
    case=st.sampled_from([str.upper, str.title, str.lower, lambda s: s[:1].upper() + s[1:]]),
    left=st.text(" ", max_size=2),
    right=st.text(" ", max_size=2),
)
def test_header_in_another_case_or_padded_is_the_contract_column(spec_column, case, left, right):
    spec, column = spec_column
    written = left + case(column) + right
    header = [written if c == column else c for c in spec.columns]
    assert _check(spec, header)[column] == written


@SEEDED
@given(
    spec_column=SPEC_COLUMN,
    edits=st.lists(
        st.tuples(
            st.sampled_from(["del", "sub", "ins"]), st.integers(0, 40), st.sampled_from("xqz_")
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_near_miss_header_refuses_the_file(spec_column, edits):
    """A contract column replaced by a name within edit distance 2 refuses the file naming both;
    further away, it is an unknown extra column (refused only if the column is required)."""
    spec, column = spec_column
    name = column
    for op, at, ch in edits:
        at %= len(name) + (op == "ins")
        name = {"del": name[:at] + name[at + 1 :], "sub": name[:at] + ch + name[at + 1 :],
                "ins": name[:at] + ch + name[at:]}[op]  # fmt: skip
    if not name or name.strip().lower() in spec.columns:
        return  # the edits cancelled out or hit another contract column: not this property
    header = [name if c == column else c for c in spec.columns]
    others = [c for c in spec.columns if c != column]
    near = _distance(name.lower(), column) <= 2 or any(
        _distance(name.lower(), c) <= 2 for c in others if c not in header
    )
    if near:
        with pytest.raises(BadExtractError, match=f"column '{name}' looks like '{column}'"):
            _check(spec, header)
    elif column in spec.header_required:
        with pytest.raises(BadExtractError, match=r"required column\(s\)"):
            _check(spec, header)
    else:
        assert column not in _check(spec, header)


def test_two_headers_meeting_on_one_contract_name_are_a_repeated_column():
    header = [*SCR.columns, "Status "]
    with pytest.raises(BadExtractError, match=r"repeats column\(s\) \['Status ', 'status'\]"):
        _check(SCR, header)


def test_a_no_break_space_is_not_trimmed():
    """Only ASCII whitespace is trimmed (docs/VALIDATION.md): ``APPROVED\\u00a0`` stays an
    unknown status, reported as an error, not a warning."""
    found = _findings(SCR, [_row(SCR, status="APPROVED\u00a0", approved_date="")])
    assert [r for _, r, _ in found] == ["scr.status.enum"]


@pytest.mark.parametrize(
    ("written", "eastern"),
    [
        ("2024-01-10T17:00+05", dt.datetime(2024, 1, 10, 7, 0)),
        ("2024-01-10T17:00:00+0530", dt.datetime(2024, 1, 10, 6, 30)),
        ("2024-01-10T17:00:00.250-08:00", dt.datetime(2024, 1, 10, 20, 0, 0, 250000)),
    ],
)
def test_offset_forms(written, eastern):
    assert _typed(SCR, [_row(SCR, last_modified_at=written)])["last_modified_ts"].to_pylist() == [
        eastern
    ]


@pytest.mark.parametrize(("day", "future"), [("2026-12-02", False), ("2026-12-03", True)])
def test_future_example_of_the_docs(day, future):
    """Ingested 2026-12-01 15:00 UTC = 10:00 Eastern: the limit is 2026-12-02 10:00."""
    found = {
        r for _, r, _ in _findings(RESOURCE_REQUESTS, [_row(RESOURCE_REQUESTS, submitted_date=day)])
    }
    assert ("rr.submitted_date.future" in found) == future
