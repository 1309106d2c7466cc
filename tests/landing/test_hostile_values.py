"""Hostile but valid values are stored byte-exact and counted like any other.

Quotes, commas, SQL text, unicode, embedded newlines, NUL-free control characters and 10 kB
strings in free-text columns (and odd but valid ids) go through a real refresh from CSV and
from Parquet. The raw table must hold every value exactly as written, every such SCR must
count, and a hostile value in an enum column must be quarantined with the value in its message
while the warehouse tables stay intact (values are never formatted into SQL).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.extracts import SCR_COLUMNS, valid_row, write_csv
from support.project import quarterly, query, read_output, refresh_in_process, run_cli, use_env

SQL = "'); DROP TABLE scr_current; --"
HOSTILE_TEXT = {
    "quotes": 'He said "stop", then \'go\' ""',
    "commas": "a,b,,c,",
    "sql": SQL,
    "sql_double": '"; DELETE FROM raw_scr_versions WHERE 1=1; --',
    "unicode": "Ñandú 東京 🚔 \u200b שלום e\u0301 \ufeffbom-inside",
    "newlines": "line one\nline two\r\nline three\rend",
    "backslashes": "C:\\temp\\new\\table \\N \\x00",
    "tabs_and_padding": "\t  padded  \t",
    "null_words": "NULL",
    "na": "N/A",
    "formula": "=cmd|' /C calc'!A0",
    "ten_kb_ascii": "x" * 10_240,
    "ten_kb_multibyte": "Ω漢🚔" * 1_200,
    "markdown_pipe": "| a | b |\n|---|",
    "json_like": '{"scr_id": "X", "extra": [1, 2]}',
    "nul_and_controls": "a\x00b\x07c\x1bd",
}
# ids are 1-40 characters of anything: odd ones must still work as keys
HOSTILE_IDS = ['O\'Brien "X"; DROP--', "SCR-ü-東京", "1e5", "null", " leading-space", "a,b"]


def _rows(prefix: str) -> list[dict[str, str]]:
    rows = []
    for name, text in HOSTILE_TEXT.items():
        rows.append(valid_row(f"{prefix}-{name}", subcategory=text, field_office=text))
    for scr_id in HOSTILE_IDS:
        rows.append(valid_row(f"{prefix}{scr_id}", case_number=f"{prefix}{scr_id}"))
    return rows


def _lf(row: dict[str, str]) -> dict[str, str]:
    """The BOM file was rewritten with LF line ends, inside quoted values too."""
    return {k: v.replace("\r\n", "\n") for k, v in row.items()}


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    csv_rows, pq_rows, bom_rows = _rows("csv"), _rows("pq"), _rows("bom")
    bad = valid_row("BAD-SQL", status=SQL, approved_date="")
    write_csv(root / "landing" / "scr_extract_2024-02-01.csv", csv_rows + [bad])
    # a UTF-8 byte-order mark and bare LF line ends (as Excel / Unix tools write them)
    bom = write_csv(root / "landing" / "scr_extract_2024-02-03.csv", bom_rows)
    bom.write_bytes(b"\xef\xbb\xbf" + bom.read_bytes().replace(b"\r\n", b"\n"))
    table = pa.Table.from_pylist(pq_rows, schema=pa.schema([(c, pa.string()) for c in SCR_COLUMNS]))
    pq.write_table(table, root / "landing" / "scr_extract_2024-02-02.parquet")
    with pytest.MonkeyPatch.context() as mp:
        use_env(mp, root)
        refresh_in_process(root)
    return root, csv_rows + pq_rows + [_lf(r) for r in bom_rows]


def test_raw_table_holds_every_value_byte_exact(refreshed):
    root, rows = refreshed
    stored = {
        r[0]: r[1:]
        for r in query(
            root / "warehouse.duckdb",
            "SELECT scr_id, case_number, subcategory, field_office FROM raw_scr_versions",
        )
    }
    for row in rows:
        got = stored[row["scr_id"]]
        want = (row["case_number"], row["subcategory"], row["field_office"])
        assert [v.encode() for v in got] == [v.encode() for v in want], row["scr_id"]


def test_every_hostile_row_is_counted(refreshed):
    root, rows = refreshed
    q = quarterly(root / "output")[(2024, 2)]
    assert q["disruptions"] == len(rows) == 3 * (len(HOSTILE_TEXT) + len(HOSTILE_IDS))
    assert q["dd_tco"] == len(rows)
    assert query(
        root / "warehouse.duckdb",
        "SELECT count(*), count(*) FILTER (counted) FROM scr_current WHERE scr_id <> 'BAD-SQL'",
    ) == [(len(rows), len(rows))]


def test_current_record_keeps_the_value(refreshed):
    root, _ = refreshed
    got = query(
        root / "warehouse.duckdb",
        "SELECT subcategory FROM scr_current WHERE scr_id = ?",
        ["CSV-TEN_KB_MULTIBYTE"],  # identities are published upper-case
    )
    assert got == [(HOSTILE_TEXT["ten_kb_multibyte"],)]


def test_hostile_enum_value_is_quarantined_not_executed(refreshed):
    root, rows = refreshed
    found = [
        f
        for f in read_output(root / "output", "validation_findings.parquet")
        if f["severity"] == "error"
    ]
    assert [(f["scr_id"], f["rule_id"]) for f in found] == [("BAD-SQL", "scr.status.enum")]
    assert SQL in found[0]["message"] and found[0]["failure_value"] == SQL
    # the tables the SQL text names are still there and whole
    wh = root / "warehouse.duckdb"
    assert query(wh, "SELECT count(*) FROM scr_current") == [(len(rows) + 1,)]
    assert query(wh, "SELECT count(*) FROM raw_scr_versions") == [(len(rows) + 1,)]


def test_published_findings_and_reconciliation_are_readable(refreshed):
    root, rows = refreshed
    rec = read_output(root / "output", "ingest_reconciliation.parquet")
    n = len(rows) // 3
    assert [(r["file"], r["rows_read"], r["rows_valid"], r["rows_quarantined"]) for r in rec] == [
        ("scr_extract_2024-02-01.csv", n + 1, n, 1),
        ("scr_extract_2024-02-02.parquet", n, n, 0),
        ("scr_extract_2024-02-03.csv", n, n, 0),
    ]


def test_findings_command_prints_hostile_values_on_one_line(refreshed):
    root, _ = refreshed
    proc = run_cli(root, "findings", "--details")
    assert proc.returncode == 0, proc.stderr
    assert "scr.status.enum" in proc.stdout and "DROP TABLE scr_current" in proc.stdout


def test_odd_but_valid_typed_parquet_is_counted(tmp_path, monkeypatch):
    """A Parquet extract written from pandas: dates as timestamps (midnight, some tz-aware),
    subject_count as float with gaps, created_at as a timestamp. Every row is valid and counts."""
    import pandas as pd

    use_env(monkeypatch, tmp_path)
    n = 6
    frame = pd.DataFrame(
        {
            "scr_id": [f"PD-{i}" for i in range(n)],
            "case_number": [f"CASE-PD-{i}" for i in range(n)],
            "scr_type": ["DISRUPTION"] * n,
            "criminal_category": ["National Security"] * n,
            "subcategory": [None] * n,
            "field_office": ["SAC Houston"] * n,
            "status": ["APPROVED"] * n,
            "created_at": pd.to_datetime(["2024-01-02 09:00:00"] * n),
            "submitted_date": pd.to_datetime(["2024-01-03"] * n),
            "approved_date": pd.to_datetime(["2024-01-10"] * n).tz_localize("UTC"),
            "tco_involvement": ["Y"] * n,
            "subject_count": [3.0, None, 2.0, 5.0, None, 4.0],  # float64 with gaps
            "countries": ["US;MX"] * n,
            "last_modified_at": pd.to_datetime(["2024-01-10 12:00:00"] * n),
        }
    )
    frame.to_parquet(tmp_path / "landing" / "scr_extract_2024-02-01.parquet", index=False)
    # In CSV the contract's text forms are required: a time in a date column or 3.0 subjects
    # is an error (only typed Parquet values are converted, by the reader).
    write_csv(
        tmp_path / "landing" / "scr_extract_2024-02-02.csv",
        [
            valid_row("MID", submitted_date="2024-01-03T00:00:00"),
            valid_row("FLT", subject_count="3.0"),
            valid_row("NOON", approved_date="2024-01-10T12:00:00"),
        ],
    )
    refresh_in_process(tmp_path)
    assert quarterly(tmp_path / "output")[(2024, 2)]["disruptions"] == n
    found = read_output(tmp_path / "output", "validation_findings.parquet")
    assert sorted((f["scr_id"], f["rule_id"]) for f in found) == [
        ("FLT", "scr.subject_count.integer"),
        ("MID", "scr.submitted_date.format"),
        ("NOON", "scr.approved_date.format"),
    ]
