"""Ingest reads CSVs with DuckDB's reader first and pyarrow when DuckDB refuses a file: both
paths must store the same rows, values and row numbers, and refuse a file with the same message."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import assets.landing.ingest as ingest
import assets.landing.raw_rows as raw_rows
from assets._shared.errors import BadExtractError

H = (
    "scr_id,case_number,scr_type,criminal_category,subcategory,field_office,status,created_at,"
    "submitted_date,approved_date,tco_involvement,subject_count,countries,last_modified_at"
)
ROW = "A,b,c,d,e,f,g,h,i,j,k,l,m,n"
CASES = {
    "quoted_newline_comma_quote": (
        H + '\nA,"multi\nline",INITIAL,"Illicit Trade, Travel, and Finance (Drug-Related)",,x,'
        'APPROVED,2024-01-01,2024-01-02,,"",3,"US;MX",2024-01-03\n B ,c,"x""y",d,,f,g,h,i,j,k,l,m,n\n'
    ).encode(),
    "bom_crlf_extra_column": (
        "\ufeff" + H + ",extra col\r\n" + ROW + ",EX\r\n" + ROW + ",\r\n"
    ).encode(),
    "header_only": (H + "\n").encode(),
    "no_trailing_newline": (H + "\n" + ROW).encode(),
    "blank_and_quoted_empty": (H + '\n  ,"",   ,,,,,,,,,,,\n').encode(),
    "optional_columns_absent": (
        b"scr_id,case_number,scr_type,criminal_category,field_office,status,created_at,"
        b"submitted_date,last_modified_at\nA,b,c,d,f,g,h,i,n\n"
    ),
    "ragged": (H + "\nA,b,c\n").encode(),
    "not_utf8": (H + "\nA,b\xff,c,d,e,f,g,h,i,j,k,l,m,n\n").encode("latin-1"),
    "missing_required_column": b"scr_id,case_number\nA,b\n",
}


def _ingest(tmp_path: Path, data: bytes, use_duckdb: bool, monkeypatch):
    (tmp_path / "landing").mkdir(parents=True)
    (tmp_path / "landing" / "scr_extract_a.csv").write_bytes(b"scr_id,case_number,scr_type,"
        b"criminal_category,field_office,status,created_at,submitted_date,last_modified_at\n"
        b"OK,b,c,d,f,g,h,i,n\n")  # fmt: skip
    (tmp_path / "landing" / "scr_extract_b.csv").write_bytes(data)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    real = ingest._ingest_all
    monkeypatch.setattr(
        ingest,
        "_ingest_all",
        lambda c, f, r, log, archive, duckdb_csv: real(
            c, f, r, log, archive, duckdb_csv and use_duckdb
        ),
    )
    log = _Log()
    try:
        ingest.ingest_new_files(con, tmp_path / "landing", "run", log, tmp_path / "archive")
    except BadExtractError as err:
        stored = con.execute("SELECT count(*) FROM raw_scr_versions").fetchall()
        return ("refused", str(err), stored), log.fell_back()
    rows = con.sql("SELECT * EXCLUDE (ingested_at) FROM raw_scr_versions ORDER BY ALL").fetchall()
    files = con.sql("SELECT source_file, rows_read, extra_columns FROM ingested_files").fetchall()
    return (rows, files), log.fell_back()


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)

    def fell_back(self) -> bool:
        return any("reading with pyarrow" in line for line in self.lines)


@pytest.mark.parametrize("case", sorted(CASES))
def test_duckdb_and_pyarrow_paths_agree(case, tmp_path, monkeypatch):
    fast, fell_back = _ingest(tmp_path / "fast", CASES[case], True, monkeypatch)
    slow, _ = _ingest(tmp_path / "slow", CASES[case], False, monkeypatch)
    assert fast == slow
    refused = case in ("ragged", "not_utf8", "missing_required_column")
    assert (fast[0] == "refused") == refused
    # DuckDB read every accepted file itself; a ragged row is refused by the second reader's
    # record count (assets/landing/csv_records.py) before either reader, bad UTF-8 by the header
    assert not fell_back
    if refused:
        assert fast[2] == [(0,)]  # all or nothing: the good file was not kept either


def test_a_file_duckdb_refuses_is_read_by_pyarrow_to_the_same_rows(tmp_path, monkeypatch):
    """The fallback: DuckDB made to refuse every line (a 16-byte ``max_line_size``), pyarrow
    reads the same rows, and they equal the second reader's count."""
    data = CASES["quoted_newline_comma_quote"]
    expected, _ = _ingest(tmp_path / "duckdb", data, True, monkeypatch)
    monkeypatch.setattr(raw_rows, "duckdb_max_line_size", lambda: 16)
    got, fell_back = _ingest(tmp_path / "fallback", data, True, monkeypatch)
    assert fell_back and got == expected
    assert got[1] == [
        ("scr_extract_a.csv", 1, []),
        ("scr_extract_b.csv", 2, []),
    ]
