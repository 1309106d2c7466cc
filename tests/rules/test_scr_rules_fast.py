"""The SCR rules and typed view in memory, fast enough to run once per mutant (mutmut's selection).

No refresh: the typed select list is built afresh by ``scr_extract.typed_columns_sql()`` (so a
changed rule block is seen; ``TYPED_COLUMNS_SQL`` is built at import), run by an in-memory DuckDB
over hand-made raw rows with the ingest DDL, and one batch goes through ``scr_version_schema()``
as validation does. Every expected finding and typed value is worked out by hand in the comments.

Anything that runs a polars query (the pandera checks) runs in a fresh interpreter
(``rules_worker.call``): polars' thread pool does not survive the fork mutmut makes per mutant.
The schema is also built here, in this process, so that mutmut sees which test runs what.

Ingest time is fixed at 2024-06-01 12:00 UTC = 08:00 EDT, so ``future_after`` (one day after
ingest, Eastern wall time) is 2024-06-02 08:00:00 and its date 2024-06-02.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import rules_worker

from assets.landing import ingest
from schemas import reference, rule_blocks, scr_extract
from schemas.extracts import CASE_REVIEWS, RESOURCE_REQUESTS, SCR, spec_for

DDL = ingest.raw_table_ddl(SCR)
GANGS = "Transnational Gangs"

BASE = {  # passes every rule: boundaries where they are cheap (equal dates, subject_count 1)
    "case_number": "C-OK",
    "scr_type": "DISRUPTION",
    "criminal_category": GANGS,
    "subcategory": "",
    "field_office": "SAC Houston",
    "status": "APPROVED",
    "created_at": "2023-08-01T09:00:00",
    "submitted_date": "2023-08-01",  # the date of created_at: not before it
    "approved_date": "2023-08-01",  # equal to submitted_date: not before it
    "tco_involvement": "Y",
    "subject_count": "1",  # the minimum
    "countries": "US;MX",
    "last_modified_at": "2023-08-01T12:00:00",
}

# (scr_id, overrides, expected findings as {(rule_id, failure_value)}); source_row = position + 1
CASES: list[tuple[str, dict[str, str], set[tuple[str, str | None]]]] = [
    # passing rows, at the boundaries
    ("Z", {"case_number": "C" * 40}, set()),  # ids of 1 and 40 characters
    ("X" * 40, {"case_number": "K"}, set()),
    (
        "V-PENDING",  # no approved date when not approved; no subject count or countries
        {
            "status": "PENDING",
            "approved_date": "",
            "scr_type": "INITIAL",
            "tco_involvement": "N",
            "subject_count": "",
            "countries": "",
            "subcategory": "Fentanyl",
            "field_office": "sac houston",  # lower case outside an identity: kept as written
        },
        set(),
    ),
    (
        "V-BEFORE-CHECKBOX",  # created one second before 2023-07-18: the checkbox may be empty
        {
            "created_at": "2023-07-17T23:59:59",
            "submitted_date": "2023-07-17",
            "approved_date": "2023-07-17",
            "tco_involvement": "",
        },
        set(),
    ),
    (
        "V-FUTURE-EDGE",  # 12:00 UTC is 08:00 EDT: exactly future_after, not after it
        {
            "created_at": "2024-06-02T12:00:00Z",
            "submitted_date": "2024-06-02",
            "approved_date": "2024-06-02",
            "last_modified_at": "2024-06-02T08:00:00",
        },
        set(),
    ),
    (
        "V-OTHER",
        {
            "scr_type": "DISMANTLEMENT",
            "status": "WITHDRAWN",
            "approved_date": "",
            "criminal_category": "National Security",
            "countries": "CA",
            "subject_count": "007",
        },
        set(),
    ),
    # failing rows: one rule each unless said
    ("", {}, {("scr.scr_id.required", None)}),
    ("A" * 41, {}, {("scr.scr_id.length", "A" * 41)}),
    ("F-CN-REQ", {"case_number": ""}, {("scr.case_number.required", None)}),
    ("F-CN-LEN", {"case_number": "B" * 41}, {("scr.case_number.length", "B" * 41)}),
    ("F-TYPE-REQ", {"scr_type": ""}, {("scr.scr_type.required", None)}),
    ("F-TYPE-ENUM", {"scr_type": "ARREST"}, {("scr.scr_type.enum", "ARREST")}),
    ("F-CAT-REQ", {"criminal_category": ""}, {("scr.criminal_category.required", None)}),
    (
        "F-CAT-ENUM",
        {"criminal_category": "Bank Robbery"},
        {("scr.criminal_category.enum", "Bank Robbery")},
    ),
    # only whitespace: blank, so missing (and no whitespace warning: there is no value)
    ("F-OFFICE", {"field_office": " \t"}, {("scr.field_office.required", None)}),
    ("F-STATUS-REQ", {"status": "", "approved_date": ""}, {("scr.status.required", None)}),
    (
        "F-STATUS-REQ-APPROVED",  # no status is not APPROVED: an approved date is out of place
        {"status": ""},
        {("scr.status.required", None), ("scr.approved_date.only_when_approved", "2023-08-01")},
    ),
    ("F-STATUS-ENUM", {"status": "OPEN", "approved_date": ""}, {("scr.status.enum", "OPEN")}),
    # no created_at: the checkbox and after_created rules have nothing to compare
    ("F-CREATED-REQ", {"created_at": ""}, {("scr.created_at.required", None)}),
    (
        "F-CREATED-FEB30",  # the shape of a timestamp, not a day
        {"created_at": "2023-02-30T09:00:00"},
        {("scr.created_at.format", "2023-02-30T09:00:00")},
    ),
    ("F-CREATED-US", {"created_at": "08/01/2023"}, {("scr.created_at.format", "08/01/2023")}),
    (
        "F-CREATED-DATE-OFFSET",  # an offset needs a time
        {"created_at": "2023-08-01-05"},
        {("scr.created_at.format", "2023-08-01-05")},
    ),
    (
        "F-CREATED-HOUR24",  # offset hours are 00-23
        {"created_at": "2023-08-01T09:00+24:00"},
        {("scr.created_at.format", "2023-08-01T09:00+24:00")},
    ),
    ("F-SUB-REQ", {"submitted_date": ""}, {("scr.submitted_date.required", None)}),
    ("F-SUB-FMT", {"submitted_date": "2023-8-1"}, {("scr.submitted_date.format", "2023-8-1")}),
    (
        "F-SUB-BEFORE",  # the day before created_at's date (approved 08-01 is not before it)
        {"submitted_date": "2023-07-31"},
        {("scr.submitted_date.after_created", "2023-07-31")},
    ),
    ("F-APP-FMT", {"approved_date": "2023-08-1"}, {("scr.approved_date.format", "2023-08-1")}),
    ("F-APP-REQ", {"approved_date": ""}, {("scr.approved_date.required_when_approved", None)}),
    (
        "F-APP-ONLY",
        {"status": "PENDING"},
        {("scr.approved_date.only_when_approved", "2023-08-01")},
    ),
    (
        "F-APP-BEFORE",  # approved the day before it was submitted
        {"submitted_date": "2023-08-02"},
        {("scr.approved_date.after_submitted", "2023-08-01")},
    ),
    (
        "F-APP-PROGRAM",  # the day before 2010-10-01 (FY2011 Q1, the program's first day)
        {"created_at": "2010-09-30", "submitted_date": "2010-09-30", "approved_date": "2010-09-30"},
        {("scr.approved_date.before_program", "2010-09-30")},
    ),
    (
        "P-APP-PROGRAM",  # the program's first day passes
        {"created_at": "2010-10-01", "submitted_date": "2010-10-01", "approved_date": "2010-10-01"},
        set(),
    ),
    ("F-TCO-ENUM", {"tco_involvement": "X"}, {("scr.tco_involvement.enum", "X")}),
    (
        "F-TCO-REQ",
        {"tco_involvement": ""},
        {("scr.tco_involvement.required_from_2023_07_18", None)},
    ),
    (
        "F-TCO-REQ-EDGE",  # created at 2023-07-18 00:00 exactly: already required
        {
            "tco_involvement": "",
            "created_at": "2023-07-18",
            "submitted_date": "2023-07-18",
            "approved_date": "2023-07-18",
        },
        {("scr.tco_involvement.required_from_2023_07_18", None)},
    ),
    ("F-SUBJ-PLUS", {"subject_count": "+3"}, {("scr.subject_count.integer", "+3")}),
    (
        "F-SUBJ-19",  # 19 digits: more than a plain integer may have
        {"subject_count": "1234567890123456789"},
        {("scr.subject_count.range", "1234567890123456789")},
    ),
    (  # 10^30: out of range, not "plain digits" (issue 28)
        "F-SUBJ-E30",
        {"subject_count": "1" + "0" * 30},
        {("scr.subject_count.range", "1" + "0" * 30)},
    ),
    ("P-SUBJ-18", {"subject_count": "9" * 18}, set()),  # the largest accepted
    # a NUL inside a value no shape rule judges: a warning, the row is kept
    ("N-NUL\x00ID", {}, {("scr.scr_id.nul", "N-NUL\x00ID")}),
    ("N-NUL-CASE", {"case_number": "C\x00K"}, {("scr.case_number.nul", "C\x00K")}),
    ("N-NUL-SUB", {"subcategory": "Fent\x00anyl"}, {("scr.subcategory.nul", "Fent\x00anyl")}),
    ("N-NUL-FO", {"field_office": "SAC\x00"}, {("scr.field_office.nul", "SAC\x00")}),
    ("F-SUBJ-ZERO", {"subject_count": "0"}, {("scr.subject_count.min", "0")}),
    ("F-SUBJ-NEG", {"subject_count": "-2"}, {("scr.subject_count.min", "-2")}),
    ("F-CTRY-LOWER", {"countries": "us"}, {("scr.countries.format", "us")}),
    ("F-CTRY-UNKNOWN", {"countries": "US;XX"}, {("scr.countries.format", "US;XX")}),
    ("F-CTRY-COMMA", {"countries": "US,MX"}, {("scr.countries.format", "US,MX")}),
    ("F-LM-REQ", {"last_modified_at": ""}, {("scr.last_modified_at.required", None)}),
    ("F-LM-FMT", {"last_modified_at": "noon"}, {("scr.last_modified_at.format", "noon")}),
    (
        "F-CREATED-FUTURE",  # one second after future_after
        {
            "created_at": "2024-06-02T08:00:01",
            "submitted_date": "2024-06-02",
            "approved_date": "2024-06-02",
            "last_modified_at": "2024-06-02T08:00:00",
        },
        {("scr.created_at.future", "2024-06-02T08:00:01")},
    ),
    (
        "F-SUB-FUTURE",  # the day after future_after's date
        {"status": "PENDING", "approved_date": "", "submitted_date": "2024-06-03"},
        {("scr.submitted_date.future", "2024-06-03")},
    ),
    ("F-APP-FUTURE", {"approved_date": "2024-06-03"}, {("scr.approved_date.future", "2024-06-03")}),
    (
        "F-LM-FUTURE",  # 12:00:01 UTC is 08:00:01 EDT
        {"last_modified_at": "2024-06-02T12:00:01Z"},
        {("scr.last_modified_at.future", "2024-06-02T12:00:01Z")},
    ),
    (
        " S-WS\t",  # every column padded, each with another whitespace character
        {
            "case_number": "C-WS ",
            "scr_type": " DISRUPTION",
            "criminal_category": GANGS + "\n",
            "subcategory": " Fentanyl ",
            "field_office": "\rSAC Houston",
            "status": "APPROVED\x0b",
            "created_at": "\x0c2023-08-01T09:00:00",
            "submitted_date": " 2023-08-01",
            "approved_date": "2023-08-01 ",
            "tco_involvement": " Y",
            "subject_count": "1 ",
            "countries": " US;MX",
            "last_modified_at": "2023-08-01T12:00:00 ",
        },
        {
            ("scr.scr_id.whitespace", " S-WS\t"),
            ("scr.case_number.whitespace", "C-WS "),
            ("scr.scr_type.whitespace", " DISRUPTION"),
            ("scr.criminal_category.whitespace", GANGS + "\n"),
            ("scr.subcategory.whitespace", " Fentanyl "),
            ("scr.field_office.whitespace", "\rSAC Houston"),
            ("scr.status.whitespace", "APPROVED\x0b"),
            ("scr.created_at.whitespace", "\x0c2023-08-01T09:00:00"),
            ("scr.submitted_date.whitespace", " 2023-08-01"),
            ("scr.approved_date.whitespace", "2023-08-01 "),
            ("scr.tco_involvement.whitespace", " Y"),
            ("scr.subject_count.whitespace", "1 "),
            ("scr.countries.whitespace", " US;MX"),
            ("scr.last_modified_at.whitespace", "2023-08-01T12:00:00 "),
        },
    ),
    (
        "s-low",  # identities written in lower case: upper-cased, a warning each
        {"case_number": "c-low"},
        {("scr.scr_id.case", "s-low"), ("scr.case_number.case", "c-low")},
    ),
    (
        " s-both ",  # padded and lower case: the case warning shows the trimmed value
        {},
        {("scr.scr_id.whitespace", " s-both "), ("scr.scr_id.case", "s-both")},
    ),
]


def _rows_of_cases() -> list[dict[str, str]]:
    return [{**BASE, "scr_id": sid, **over} for sid, over, _ in CASES]


def _typed(rows: list[dict[str, str]]) -> tuple[list[str], list[tuple]]:
    """Column names and rows of the typed select list, built now, over ``rows``."""
    con = rules_worker.raw_connection(DDL, rows)
    rel = con.sql(
        f"SELECT {scr_extract.typed_columns_sql()} FROM raw_scr_versions ORDER BY source_row"
    )
    return rel.columns, rel.fetchall()


def test_every_row_rule_has_a_failing_case():
    covered = {rule for _, _, found in CASES for rule, _ in found}
    row_rules = {
        r
        for r in reference.rules()
        if r.startswith("scr.")
        and r not in ("scr.header.normalized", "scr.tco_involvement.conflict")
    }
    assert covered == row_rules


def test_one_batch_yields_exactly_the_findings_worked_out_by_hand():
    # built here too: a mutant that breaks the schema fails here, and mutmut records the test
    assert len(scr_extract.scr_version_schema().checks) == 53
    got = {tuple(f) for f in rules_worker.call("findings", DDL, _rows_of_cases())}
    expected = {
        (n, rule, value, sid.strip(" \t").upper() or None)
        for n, (sid, _, findings) in enumerate(CASES, start=1)
        for rule, value in findings
    }
    assert got == expected


def test_one_sided_padding_is_trimmed_in_every_column():
    """The trim's fast path (``ord(v) > 32 AND ord(reverse(v)) > 32``: nothing to trim) in every
    column: a space (ord 32) on the left only and on the right only gives the typed row of the
    unpadded value, and only that column's ``__untrimmed`` shows the value as written (timestamps
    with a UTC offset: the offset is found by a pattern anchored at the end). Kills,
    per column, ``> 32`` -> ``>= 32`` on either side, AND -> OR and dropping either side (240
    SQL mutants of the typed select list)."""
    offset, fraction, day = "2023-08-01T13:00:00Z", "2023-08-01T12:00:00.5", "2023-08-01"
    for created, modified in ((offset, fraction), (fraction, offset), (day, day)):
        # a timestamp with an offset (found by a pattern anchored at the end: a trailing space
        # matters there) and one without, with a fraction (TIMESTAMP does not cast
        # '...00.5<tab>'), each column in both forms; and a date alone (TIMESTAMP does not cast
        # '2023-08-01 ' with its trailing space: kills `ord(reverse(v)) > 32` -> `>= 32` in the
        # copy inside TRY_CAST(... AS TIMESTAMP))
        plain = {**BASE, "scr_id": "P-1", "subcategory": "Street gangs"}
        plain |= {"created_at": created, "last_modified_at": modified}
        pads = (" {}", "{} ", "\t{}", "{}\t")
        padded = [(c, p.format(plain[c])) for c in SCR.columns for p in pads]
        names, got = _typed([plain] + [{**plain, c: v} for c, v in padded])
        raw = [i for i, n in enumerate(names) if n.endswith("__untrimmed") or n == "source_row"]
        want = [v for i, v in enumerate(got[0]) if i not in raw]
        for (column, value), row in zip(padded, got[1:], strict=True):
            assert [v for i, v in enumerate(row) if i not in raw] == want, (column, value)
            shown = {n: row[i] for i, n in enumerate(names) if n.endswith("__untrimmed") and row[i]}
            assert shown == {f"{column}__untrimmed": value}


def test_one_sided_padding_of_a_lower_case_identity_is_shown_trimmed():
    """``<id>__cased`` (the value before upper-casing) is the trimmed value, whichever side the
    space was on: kills the trim's fast-path mutants in the THEN branch of ``__cased``."""
    plain = {**BASE, "scr_id": "P-1"}
    for column in ("scr_id", "case_number"):
        names, got = _typed([{**plain, column: " p-1"}, {**plain, column: "p-1 "}])
        assert [r[names.index(f"{column}__cased")] for r in got] == ["p-1", "p-1"], column
        assert [r[names.index(column)] for r in got] == ["P-1", "P-1"], column


def test_typed_values_by_hand():
    rows = [
        {"scr_id": " ab-1 ", "case_number": "CN", "field_office": "sac houston"},
        {"scr_id": "R2", "created_at": "2023-08-01T09:00:00Z", "submitted_date": "2023-02-28"},
        {"scr_id": "R3", "created_at": "2023-08-01T09:00:00+02:00", "subject_count": "-3"},
        {"scr_id": "R4", "created_at": "2023-08-01 09:30", "subject_count": "007"},
        {"scr_id": "R5", "created_at": "2023-08-01", "approved_date": "2023-02-30"},
        {"scr_id": "R6", "created_at": "2023-08-01T09:00:00.5-05:00", "subject_count": "+3"},
        {
            "scr_id": "R7",
            "created_at": "2023-08-01T09:00-0430",
            "last_modified_at": "2024-01-15T12:00:00Z",
        },
        {
            "scr_id": "R8",
            "created_at": "2023-08-01T09:00:00+2:00",
            "subject_count": "1234567890123456789",
        },
        {
            "scr_id": "R9",
            "created_at": "2023-08-01T09:00:00+05",
            "subject_count": "123456789012345678",
        },
    ]
    names, values = _typed(rows)
    df = {name: [r[i] for r in values] for i, name in enumerate(names)}
    assert names[:3] == ["file_id", "source_file", "source_row"]
    ids = tuple(
        df[c][0]
        for c in (
            "scr_id",
            "scr_id__untrimmed",
            "scr_id__cased",
            "field_office",
            "field_office__untrimmed",
            "case_number__cased",
        )
    )
    # trimmed and upper-cased; as written; trimmed but not upper-cased
    # a lower-case non-identity is kept as it is, and is not "changed by cleaning"
    assert ids == ("AB-1", " ab-1 ", "ab-1", "sac houston", None, None)
    assert df["created_ts"] == [
        None,
        dt.datetime(2023, 8, 1, 5, 0),  # 09:00 UTC is 05:00 EDT
        dt.datetime(2023, 8, 1, 3, 0),  # 09:00 at UTC+2 is 07:00 UTC, 03:00 EDT
        dt.datetime(2023, 8, 1, 9, 30),  # no offset: already Eastern
        dt.datetime(2023, 8, 1, 0, 0),  # a date alone: midnight
        dt.datetime(2023, 8, 1, 10, 0, 0, 500000),  # 09:00:00.5 at UTC-5 is 10:00:00.5 EDT
        dt.datetime(2023, 8, 1, 9, 30),  # 09:00 at UTC-04:30 is 13:30 UTC, 09:30 EDT
        None,  # +2:00: an offset's hours have two digits
        dt.datetime(2023, 8, 1, 0, 0),  # 09:00 at UTC+5 is 04:00 UTC, 00:00 EDT
    ]
    assert df["submitted_d"] == [None, dt.date(2023, 2, 28), *[None] * 7]
    assert df["approved_d"] == [None] * 9  # 2023-02-30 is not a day
    assert df["last_modified_ts"] == [
        *[None] * 6,
        dt.datetime(2024, 1, 15, 7, 0),  # January: EST, UTC-5
        None,
        None,
    ]
    assert df["subject_count_i"] == [
        None,
        None,
        -3,
        7,
        None,
        None,
        None,
        None,
        123456789012345678,
    ]
    # 2024-06-01 12:00 UTC is 08:00 EDT; one day later
    assert set(df["future_after"]) == {dt.datetime(2024, 6, 2, 8, 0)}


def test_schema_is_named_lax_and_checks_every_row_rule_once():
    schema = scr_extract.scr_version_schema()
    assert (schema.name, schema.strict) == ("scr_version", False)
    names = [c.name for c in schema.checks]
    assert (
        len(names) == len(set(names)) == 53
    )  # the 55 scr rules less the header and the conflict rule
    assert "scr.tco_involvement.conflict" not in names
    assert "scr.header.normalized" not in names


def test_schema_refuses_checks_that_differ_from_the_catalogue():
    exprs = scr_extract.rule_expressions()
    extra = {**exprs, "scr.bogus": rule_blocks.present("scr_id")}
    with pytest.raises(RuntimeError, match=r"differ: \['scr.bogus'\]"):
        rule_blocks.schema_from_rules(
            "x", "scr.", extra, elsewhere=("scr.tco_involvement.conflict",)
        )
    missing = {k: v for k, v in exprs.items() if k != "scr.status.enum"}
    with pytest.raises(RuntimeError, match=r"differ: \['scr.status.enum'\]"):
        rule_blocks.schema_from_rules(
            "x", "scr.", missing, elsewhere=("scr.tco_involvement.conflict",)
        )
    # the conflict rule is computed elsewhere: without saying so, the catalogue has one more
    with pytest.raises(RuntimeError, match=r"differ: \['scr.tco_involvement.conflict'\]"):
        rule_blocks.schema_from_rules("x", "scr.", exprs)


def test_rule_blocks_on_a_small_frame():
    # n: None, -1, 0, 1; labels: None, "a|b", "a;b", "a|c" (known: a, b);
    # t: None, future_after exactly, one second after it, None (future_after 2024-06-02 08:00)
    # (the expressions are built here as well, unevaluated, so that mutmut records this test)
    rule_blocks.at_least("n", 0), rule_blocks.labels_known("labels", ["a"], separator="|")
    assert rules_worker.call("frame_checks") == {
        "min0": [True, False, True, True],
        "pipe": [True, True, False, False],  # "a;b" is one unknown label when split on "|"
        "semi": [True, False, True, False],  # split on ";": "a|b" and "a|c" are unknown labels
        "future": [True, True, False, True],
    }
    assert rule_blocks.header_rule("rr.") == "rr.header.normalized"
    assert rule_blocks.finding_value_column("scr.x.whitespace", "x") == "x__untrimmed"
    assert rule_blocks.finding_value_column("scr.x.case", "x") == "x__cased"
    assert rule_blocks.finding_value_column("scr.x.enum", "x") == "x"


def test_reference_rows_and_paths():
    cats = reference._rows("criminal_categories.csv")
    assert len(cats) == 8
    assert cats[0] == {
        "category": "Transnational Crimes Against Children",
        "audit_table2_non_tco_scrs": "156",
    }
    assert cats[2]["category"] == "Illicit Trade, Travel, and Finance (Non-Drug-Related)"  # quoted
    assert reference.annual_targets_path() == reference.REFERENCE_DIR / "annual_targets.csv"
    assert reference.annual_targets_path().is_file()


def test_reference_csv_is_read_as_utf8_whatever_the_locale():
    # a host with the C locale and no UTF-8 mode reads text files as ASCII by default
    ascii_host = {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
    rows = rules_worker.call("reference_rows", "iso3166_alpha2.csv", env=ascii_host)
    names = {r["code"]: r["name"] for r in rows}
    assert (len(rows), names["CI"], names["AX"]) == (249, "Côte d'Ivoire", "Åland Islands")
    reference._rows("iso3166_alpha2.csv")  # in-process too, so that mutmut records this test


def test_reference_csv_fields_keep_their_line_breaks(tmp_path, monkeypatch):
    # csv needs newline="": a quoted field's CRLF is data, not a line ending to translate
    (tmp_path / "notes.csv").write_bytes(b'id,text\r\n1,"line one\r\nline two"\r\n')
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path)
    assert reference._rows("notes.csv") == [{"id": "1", "text": "line one\r\nline two"}]


def test_rules_markdown_escapes_pipes_and_filters_by_prefix(monkeypatch):
    assert reference.rules_markdown("scr.header") == (
        "| rule_id | column | severity | description |\n"
        "|---|---|---|---|\n"
        "| `scr.header.normalized` | header | warning | a header name differs from a contract "
        "column only by case or surrounding spaces and was read as that column (file-level: "
        "source_row 0) |"
    )
    catalogue = {
        "a.one": reference.Rule("a.one", "x", "error", "x | y"),
        "b.two": reference.Rule("b.two", "z", "warning", "z"),
    }
    monkeypatch.setattr(reference, "rules", lambda: catalogue)
    assert reference.rules_markdown().splitlines()[2:] == [
        "| `a.one` | x | error | x \\| y |",
        "| `b.two` | z | warning | z |",
    ]
    assert reference.rules_markdown("b.").splitlines()[2:] == ["| `b.two` | z | warning | z |"]


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("scr_extract_2024-01-01.csv", SCR),
        ("scr_extract_x.parquet", SCR),
        ("resource_requests_fy25.csv", RESOURCE_REQUESTS),
        ("case_reviews_q1.parquet", CASE_REVIEWS),
        ("scr_extract_.csv", None),  # the prefix needs something after it
        ("scr_extract_a.CSV", None),
        ("scr_extract_a.csv.bak", None),
        ("old_scr_extract_a.csv", None),
        ("scr_extract_a.tsv", None),
        ("scr_extract_a_csv", None),
        ("scrXextract_a.csv", None),
    ],
)
def test_spec_for_file_names(name, spec):
    assert spec_for(name) is spec


def test_cleaned_is_not_an_identity_unless_asked():
    # the block's default: a rule value and the value as written, no upper-casing, no __cased
    assert [s.rsplit(" AS ", 1)[1] for s in rule_blocks.cleaned("status")] == [
        "status",
        "status__untrimmed",
    ]
    assert [s.rsplit(" AS ", 1)[1] for s in rule_blocks.cleaned("scr_id", identity=True)] == [
        "scr_id",
        "scr_id__untrimmed",
        "scr_id__cased",
    ]
    assert not rule_blocks.cleaned("status")[0].startswith("upper(")


@pytest.mark.parametrize("sql_type", ["DATE", "BIGINT"])
def test_casts_skip_the_whitespace_the_rules_trim(sql_type):
    """``rule_blocks.parsed`` (dates, integers) casts the raw value, not the trimmed one: DuckDB's
    casts to DATE and BIGINT skip every character the rules trim (WHITESPACE), on either side.
    (TIMESTAMP does not: ``'2023-08-01T09:30:00.5<tab>'`` is NULL, so timestamps cast the
    trimmed value, and the padding test below checks it.)"""
    import duckdb

    values = {"DATE": ["2023-08-01"], "BIGINT": ["-7", "007", "+3", "1234567890123456789"]}
    con = duckdb.connect()
    for ws, value in itertools.product(rule_blocks.WHITESPACE, values[sql_type]):
        for padded in (ws + value, value + ws, ws * 2 + value + ws):
            got = con.execute(f"SELECT TRY_CAST(? AS {sql_type}) = TRY_CAST(? AS {sql_type})",
                              [padded, value]).fetchall()  # fmt: skip
            assert got == [(True,)], (sql_type, padded)


def test_timestamp_casts_skip_the_whitespace_the_rules_trim_where_the_trim_is_redundant():
    """Why 18 SQL mutants of the trim inside ``eastern_timestamp`` are equivalent (listed in
    ``tests/mutation/sql_mutants.py`` EQUIVALENT): the copy of the trimmed value inside
    ``TRY_CAST(... AS TIMESTAMPTZ)`` may be padded on either side, and the copy inside
    ``TRY_CAST(... AS TIMESTAMP)`` on the left, because DuckDB's casts skip every character the
    rules trim there. Not on the right of a TIMESTAMP (a tab after a fraction, a space after a
    date alone): that side is needed (and killed by the padding test above). If a DuckDB upgrade changes this, this test fails and the
    equivalents are to be re-checked."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    def same(padded: str, value: str, sql_type: str) -> bool:
        sql = f"SELECT TRY_CAST(? AS {sql_type}) = TRY_CAST(? AS {sql_type})"  # NULL: no cast
        return con.execute(sql, [padded, value]).fetchall() == [(True,)]

    with_offset = ["2023-08-01T09:00:00Z", "2023-08-01T09:00+05:30", "2023-08-01 09:00-0430",
                   "2023-08-01T09:00:00.5-05:00", "2023-08-01T09:00:00.123456+02"]  # fmt: skip
    without = ["2023-08-01", "2023-08-01T09:00", "2023-08-01 09:00:00", "2023-08-01T09:00:00.5"]
    for ws in rule_blocks.WHITESPACE:
        for value in with_offset:
            for padded in (ws + value, value + ws, ws * 2 + value + ws):
                assert same(padded, value, "TIMESTAMPTZ"), repr(padded)
        for value in without:
            assert same(ws + value, value, "TIMESTAMP"), repr(ws + value)
    assert not same("2023-08-01T09:00:00.5\t", "2023-08-01T09:00:00.5", "TIMESTAMP")
    assert not same("2023-08-01 ", "2023-08-01", "TIMESTAMP")
