"""Files that cannot be read as an extract are refused by name, and nothing changes.

After a good first refresh, each kind of broken file lands beside a valid new extract and a
real ``scr-pipeline refresh`` runs in a subprocess. It must exit non-zero with one line on
stderr naming the file and the problem (no traceback), leave every published file
byte-identical and every warehouse table at its row count (the valid new file is not ingested
either: all or nothing). The cases run two at a time, each in its own copy of the project dirs.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.extracts import SCR_COLUMNS, valid_row, write_csv
from support.project import output_hashes, query, run_cli, run_main, table_counts, use_env

GOOD_NEW = "scr_extract_2024-06-01.csv"


def _csv_text(rows: list[dict[str, str]], columns: list[str] | None = None) -> str:
    cols = columns or SCR_COLUMNS
    lines = [",".join(cols)] + [",".join(r[c] for c in cols) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def _row(scr_id: str = "BAD-1") -> dict[str, str]:
    return valid_row(scr_id, criminal_category="Cyber-Enabled Crime")


def _parquet_bytes(tmp: Path) -> bytes:
    rows = [_row(f"PQ-{i}") for i in range(2000)]
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp, row_group_size=500)
    return tmp.read_bytes()


def _corrupt_middle(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[: mid - 2000] + b"\xff\x00\xfe\x01" * 1000 + data[mid + 2000 :]


def _cases(tmp: Path) -> dict[str, tuple[str, bytes, list[str]]]:
    """kind -> (file name, content, words the message must contain)."""
    base = _csv_text([_row()])
    without_status = [c for c in SCR_COLUMNS if c != "status"]
    pq_bytes = _parquet_bytes(tmp / "ok.parquet")
    no_status_pq = tmp / "no_status.parquet"
    pq.write_table(pa.Table.from_pylist([_row()]).drop(["status"]), no_status_pq)
    dup = SCR_COLUMNS + ["status"]
    quoted = _csv_text([_row(), _row("BAD-5") | {"subcategory": '"Fentanyl, heroin"'}])
    return {
        "missing required column": (
            "scr_extract_2024-05-01.csv",
            _csv_text([_row()], without_status).encode(),
            ["required column", "status", "missing"],
        ),
        "missing required column (parquet)": (
            "scr_extract_2024-05-01.parquet",
            no_status_pq.read_bytes(),
            ["required column", "status", "missing"],
        ),
        "not UTF-8 (latin-1 value)": (
            "scr_extract_2024-05-01.csv",
            base.replace("SAC Houston", "SAC Bogot\xe1").encode("latin-1"),
            ["not UTF-8"],
        ),
        "not UTF-8 (UTF-16 file)": (
            "scr_extract_2024-05-01.csv",
            base.encode("utf-16"),
            ["not UTF-8"],
        ),
        "ragged CSV (extra field)": (
            "scr_extract_2024-05-01.csv",
            (base + _csv_text([_row("BAD-2")]).splitlines()[1] + ",surplus\r\n").encode(),
            ["ragged CSV"],
        ),
        "ragged CSV (missing field)": (
            "scr_extract_2024-05-01.csv",
            (base + "BAD-3,CASE-3,INITIAL\r\n").encode(),
            ["ragged CSV"],
        ),
        "zero-byte file": ("scr_extract_2024-05-01.csv", b"", ["empty", "0 bytes"]),
        "blank file": ("scr_extract_2024-05-01.csv", b"\r\n\r\n", ["header"]),
        "truncated Parquet": (
            "scr_extract_2024-05-01.parquet",
            pq_bytes[: len(pq_bytes) // 2],
            ["cannot be read as Parquet"],
        ),
        "corrupt Parquet footer": (
            "scr_extract_2024-05-01.parquet",
            pq_bytes[:-4] + b"XXXX",
            ["cannot be read as Parquet"],
        ),
        "corrupt Parquet data pages": (
            "scr_extract_2024-05-01.parquet",
            _corrupt_middle(pq_bytes),
            ["cannot be read as Parquet"],
        ),
        "name matches no extract type": (
            "scr-extract-2024-05-01.csv",
            base.encode(),
            ["matches no extract type"],
        ),
        "not an extract at all": ("notes.txt", b"call Bob about the Q3 numbers\n", ["matches no"]),
        "duplicate header column": (
            "scr_extract_2024-05-01.csv",
            _csv_text([_row() | {"status": "APPROVED"}], dup).encode(),
            ["repeats column", "status"],
        ),
        "unterminated quote": (
            "scr_extract_2024-05-01.csv",
            (base + 'BAD-4,"CASE-4,INITIAL\r\n').encode(),
            ["looks truncated", "data row 2", "unterminated quote"],
        ),
        # a transfer cut mid-record (issue 28): refused as truncated, naming the row
        "truncated: last record short, no final newline": (
            "scr_extract_2024-05-01.csv",
            base.encode()[:-40],
            ["looks truncated", "last record (data row 1)", "of the header's 14 fields"],
        ),
        "truncated: cut inside a quoted field": (
            "scr_extract_2024-05-01.csv",
            quoted[: quoted.index('"Fentanyl') + 5].encode(),  # ends with: "Fent
            ["looks truncated", "data row 2", "never closes"],
        ),
        "ragged row in the middle": (
            "scr_extract_2024-05-01.csv",
            (base + "X,Y\r\n" + _csv_text([_row("BAD-6")]).splitlines()[1] + "\r\n").encode(),
            ["ragged CSV", "data row 2 has 2 fields", "the header has 14"],
        ),
        "CR-only line endings": (
            "scr_extract_2024-05-01.csv",
            base.replace("\r\n", "\r").encode(),
            ["line endings are CR only", "save as LF or CRLF"],
        ),
        "NUL in the header": (
            "scr_extract_2024-05-01.csv",
            base.replace("scr_id", "scr_id\x00", 1).encode(),
            ["NUL character", "column 1", "'scr_id\\x00'"],
        ),
        "a million header columns": (
            "scr_extract_2024-05-01.csv",
            (",".join(f"c{i}" for i in range(1_000_000)) + "\r\n").encode(),
            ["1,000 (SCR_CSV_MAX_COLUMNS)", "raise SCR_CSV_MAX_COLUMNS"],
        ),
        "name with a newline": (
            "notes\n2024.txt",
            b"call Bob\n",
            ["matches no extract type"],
        ),
    }


# The kinds the contract names run as real console-script subprocesses; variants of the same
# failure run in-process through pipelines.cli.main.main (same code path, no interpreter start-up).
SUBPROCESS_KINDS = [
    "missing required column",
    "not UTF-8 (latin-1 value)",
    "ragged CSV (extra field)",
    "zero-byte file",
    "truncated Parquet",
    "corrupt Parquet data pages",
    "name matches no extract type",
    "duplicate header column",
    "truncated: last record short, no final newline",  # issue 28: a transfer cut mid-record
]


def _snapshot(root: Path) -> tuple[dict, dict]:
    return output_hashes(root / "output"), table_counts(root / "warehouse.duckdb")


def _run_case(base: Path, root: Path, name: str, content: bytes):
    shutil.copytree(base, root)
    write_csv(root / "landing" / GOOD_NEW, [valid_row("NEW-1")])
    (root / "landing" / name).write_bytes(content)
    before = _snapshot(root)
    proc = run_cli(root, "refresh")
    return root, before, proc, _snapshot(root)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Good first refresh (in-process), then every broken-file refresh (two processes at a
    time)."""
    base = tmp_path_factory.mktemp("bad_files_base")
    write_csv(
        base / "landing" / "scr_extract_2024-02-01.csv",
        [valid_row("A"), valid_row("B", scr_type="INITIAL"), valid_row("C", countries="XX")],
    )
    code, output = run_main(base, "refresh")  # set-up, in-process: the broken ones are the claim
    assert code == 0, output
    assert output_hashes(base / "output"), "the good refresh published nothing"
    cases = _cases(tmp_path_factory.mktemp("bad_files_inputs"))
    work = tmp_path_factory.mktemp("bad_files_runs")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            kind: pool.submit(_run_case, base, work / f"case{i}", name, content)
            for i, (kind, (name, content, _)) in enumerate(cases.items())
            if kind in SUBPROCESS_KINDS
        }
        out = {kind: f.result() for kind, f in futures.items()}
    return base, cases, out


def _kinds() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return list(_cases(Path(d)))


IN_PROCESS_KINDS = [k for k in _kinds() if k not in SUBPROCESS_KINDS]


def _assert_one_message(code: int, stderr: str, name: str, words: list[str]) -> None:
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    shown = name if name.isprintable() else repr(name)  # a newline is printed as \n
    assert lines[0].startswith(f"error: {shown}: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "again" in lines[0]  # tells the operator what to do next


@pytest.mark.parametrize("kind", SUBPROCESS_KINDS)
def test_refused_with_one_message_naming_file_and_problem(results, kind):
    _, cases, out = results
    name, _, words = cases[kind]
    _, _, proc, _ = out[kind]
    _assert_one_message(proc.returncode, proc.stderr, name, words)


@pytest.mark.parametrize("kind", SUBPROCESS_KINDS)
def test_outputs_byte_identical_and_warehouse_unchanged(results, kind):
    _, _, out = results
    _, before, _, after = out[kind]
    assert after[0] == before[0]  # every published file, by sha256
    assert after[1] == before[1]  # every warehouse table, by row count


@pytest.mark.parametrize("kind", IN_PROCESS_KINDS)
def test_more_broken_files_refused_in_process(results, kind, tmp_path, monkeypatch, capsys):
    from pipelines.cli.main import main

    base, cases, _ = results
    name, content, words = cases[kind]
    root = tmp_path / "case"
    shutil.copytree(base, root)
    use_env(monkeypatch, root)
    write_csv(root / "landing" / GOOD_NEW, [valid_row("NEW-1")])
    (root / "landing" / name).write_bytes(content)
    before = _snapshot(root)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["refresh"])
    _assert_one_message(exc.value.code, capsys.readouterr().err, name, words)
    assert _snapshot(root) == before


def test_debug_shows_the_traceback(results, tmp_path):
    base, cases, _ = results
    name, content, _ = cases["ragged CSV (extra field)"]
    root = tmp_path / "debug"
    shutil.copytree(base, root)
    (root / "landing" / name).write_bytes(content)
    proc = run_cli(root, "--debug", "refresh")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "BadExtractError" in proc.stderr


def test_operator_removes_the_file_and_refreshes(results, monkeypatch):
    """The documented next step (docs/VALIDATION.md): move the broken file out; the next refresh ingests the rest."""
    from pipelines.cli.main import main

    _, cases, out = results
    name, _, _ = cases["zero-byte file"]
    root = out["zero-byte file"][0]
    (root / "landing" / name).unlink()
    use_env(monkeypatch, root)
    with pytest.raises(SystemExit) as exc:
        main(["refresh"])
    assert exc.value.code == 0
    counts = table_counts(root / "warehouse.duckdb")
    assert counts["raw_scr_versions"] == 4 and counts["ingested_files"] == 2


# --- issue 28: files around the extract, names, limits, and the second reader ---------------
def _refresh_after(results, tmp_path, monkeypatch, capsys, setup):
    """After the good refresh: a valid new file, then ``setup(landing)``, then a refresh.
    Returns (exit code, stderr, project root, snapshot before)."""
    from pipelines.cli.main import main

    base, _, _ = results
    root = tmp_path / "case"
    shutil.copytree(base, root)
    use_env(monkeypatch, root)
    write_csv(root / "landing" / GOOD_NEW, [valid_row("NEW-1")])
    setup(root / "landing")
    before = _snapshot(root)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["refresh"])
    return exc.value.code, capsys.readouterr().err, root, before


def _refused(results, tmp_path, monkeypatch, capsys, setup, name: str, words: list[str]):
    code, err, root, before = _refresh_after(results, tmp_path, monkeypatch, capsys, setup)
    _assert_one_message(code, err, name, words)
    assert _snapshot(root) == before  # nothing ingested, nothing published
    return err


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_extract_whose_control_file_does_not_match_is_refused(
    results, tmp_path, monkeypatch, capsys
):
    def setup(landing: Path) -> None:
        write_csv(landing / "scr_extract_2024-05-01.csv", [valid_row("CTL-1")])
        (landing / "scr_extract_2024-05-01.csv.sha256").write_text(
            "0" * 64 + "  scr_extract_2024-05-01.csv\n"
        )

    _refused(results, tmp_path, monkeypatch, capsys, setup, "scr_extract_2024-05-01.csv",
             ["do not match scr_extract_2024-05-01.csv.sha256", "incomplete or altered"])  # fmt: skip


def test_a_control_file_that_is_no_sha256sum_line_is_named(results, tmp_path, monkeypatch, capsys):
    def setup(landing: Path) -> None:
        write_csv(landing / "scr_extract_2024-05-01.csv", [valid_row("CTL-1")])
        (landing / "scr_extract_2024-05-01.csv.sha256").write_text("checked by Bob\n")

    _refused(results, tmp_path, monkeypatch, capsys, setup, "scr_extract_2024-05-01.csv.sha256",
             ["not a sha256sum line"])  # fmt: skip


def test_a_matching_control_file_lets_the_extract_in_and_is_not_data(
    results, tmp_path, monkeypatch, capsys
):
    """sha256sum's own output (``<hex>  <name>``, or ``<hex> *<name>`` in binary mode); the
    control files are neither ingested nor reported as unknown names."""

    def setup(landing: Path) -> None:
        write_csv(landing / "scr_extract_2024-05-01.csv", [valid_row("CTL-1")])
        for name, mode in (("scr_extract_2024-05-01.csv", " "), (GOOD_NEW, "*")):
            (landing / f"{name}.sha256").write_text(f"{_sha256(landing / name)} {mode}{name}\n")
        (landing / "old").mkdir()  # a folder not named like an extract is left alone

    code, err, root, _ = _refresh_after(results, tmp_path, monkeypatch, capsys, setup)
    assert code == 0, err
    names = {
        r[0] for r in query(root / "warehouse.duckdb", "SELECT source_file FROM ingested_files")
    }
    assert names == {"scr_extract_2024-02-01.csv", GOOD_NEW, "scr_extract_2024-05-01.csv"}


def test_a_fifo_named_like_an_extract_is_reported(results, tmp_path, monkeypatch, capsys):
    import os

    name = "scr_extract_2024-05-01.csv"
    _refused(results, tmp_path, monkeypatch, capsys, lambda d: os.mkfifo(d / name), name,
             ["is a FIFO (named pipe), not a regular file"])  # fmt: skip


def test_a_directory_named_like_an_extract_is_reported(results, tmp_path, monkeypatch, capsys):
    name = "scr_extract_2024-05-01.parquet"
    _refused(results, tmp_path, monkeypatch, capsys, lambda d: (d / name).mkdir(), name,
             ["is a directory, not a regular file"])  # fmt: skip


def test_a_file_name_that_is_not_utf8_is_named_not_its_content(
    results, tmp_path, monkeypatch, capsys
):
    import os

    name = os.fsdecode(b"scr_extract_2024-05-01_Bogot\xe1.csv")  # latin-1 bytes in the name
    err = _refresh_after(
        results, tmp_path, monkeypatch, capsys,
        lambda d: write_csv(d / name, [valid_row("NAME-1")]),
    )[1]  # fmt: skip
    assert err == (
        "error: 'scr_extract_2024-05-01_Bogot\\xe1.csv': the file NAME is not UTF-8 text (its "
        "content was not read). Rename the file using UTF-8 characters only, then run "
        "`scr-pipeline refresh` again.\n"
    )


def _write_big_field(path: Path, size: int) -> None:
    """Header, one valid row, then a row whose subcategory has ``size`` characters (streamed:
    the test never holds the field in memory)."""
    row = _row("BIG-1")
    head = ",".join(row[c] for c in SCR_COLUMNS[: SCR_COLUMNS.index("subcategory")])
    tail = ",".join(row[c] for c in SCR_COLUMNS[SCR_COLUMNS.index("subcategory") + 1 :])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(_csv_text([_row("OK-1")]))
        fh.write(head + ",")
        chunk = "x" * (1 << 20)
        for _ in range(size >> 20):
            fh.write(chunk)
        fh.write("x" * (size % (1 << 20)) + "," + tail + "\r\n")


def test_a_60_mb_field_is_refused_by_name_not_dropped(results, tmp_path, monkeypatch, capsys):
    """Before: ``1 new file(s), 0 rows read``, validated, exit 0 (DuckDB returned no row)."""
    name = "scr_extract_2024-05-01.csv"
    _refused(results, tmp_path, monkeypatch, capsys,
             lambda d: _write_big_field(d / name, 60 << 20), name,
             ["data row 2 has a field longer than the limit of 33,554,432 characters",
              "raise SCR_CSV_MAX_FIELD_CHARS"])  # fmt: skip


def test_a_field_at_the_limit_is_read_whole_and_one_past_it_is_refused(
    results, tmp_path, monkeypatch, capsys
):
    name = "scr_extract_2024-05-01.csv"
    monkeypatch.setenv(
        "SCR_CSV_MAX_FIELD_CHARS", str(3 << 20)
    )  # 3 MiB: DuckDB's default refused it
    code, err, root, _ = _refresh_after(
        results, tmp_path, monkeypatch, capsys, lambda d: _write_big_field(d / name, 3 << 20)
    )
    assert code == 0, err
    assert query(
        root / "warehouse.duckdb",
        "SELECT scr_id, length(subcategory) FROM raw_scr_versions WHERE source_file = ? "
        "ORDER BY source_row",
        [name],
    ) == [("OK-1", 0), ("BIG-1", 3 << 20)]
    assert query(
        root / "warehouse.duckdb",
        "SELECT records_in_file, rows_read FROM ingested_files WHERE source_file = ?",
        [name],
    ) == [(2, 2)]
    (root / "landing" / name).unlink()
    _write_big_field(root / "landing" / "scr_extract_2024-05-02.csv", (3 << 20) + 1)
    capsys.readouterr()
    from pipelines.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["refresh"])
    _assert_one_message(exc.value.code, capsys.readouterr().err, "scr_extract_2024-05-02.csv",
                        ["data row 2", "limit of 3,145,728 characters"])  # fmt: skip


def test_a_record_the_loading_reader_skips_refuses_the_file(results, tmp_path, monkeypatch, capsys):
    """The second reader's count against the rows stored: a reader that drops a record without
    an error (DuckDB did, for a 60 MB line) cannot slip it past ingest."""
    import assets.landing.raw_rows as raw_rows
    from assets.landing.csv_records import records_in_file

    monkeypatch.setattr(raw_rows, "records_in_file", lambda *a: records_in_file(*a) + 1)
    _refused(results, tmp_path, monkeypatch, capsys, lambda d: None, GOOD_NEW,
             ["1 rows were read but the file holds 2 records", "second reader"])  # fmt: skip


def _zip_bomb(path: Path, mib: int) -> None:
    """A workbook part of ``mib`` MiB of repeated sheet XML, deflated to a few MB on disk."""
    import zipfile

    row = '<row><c t="inlineStr"><is><t>CASE-1</t></is></c></row>'
    chunk = (row * ((1 << 20) // len(row))).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for _ in range(mib):
                fh.write(chunk)


def test_a_workbook_zip_bomb_is_refused_from_its_declared_size(
    results, tmp_path, monkeypatch, capsys
):
    """640 MiB of sheet XML in about 4 MB: refused before anything inflates (before: 2,000,000
    rows read and still running at 120 s for a 2 GB one)."""
    name = "case_reviews_2024-05-01.xlsx"
    _refused(results, tmp_path, monkeypatch, capsys, lambda d: _zip_bomb(d / name, 640), name,
             ["expands to 67", "beyond the limit of 536,870,912 (SCR_XLSX_MAX_BYTES)",
              "raise SCR_XLSX_MAX_BYTES"])  # fmt: skip


def test_a_workbook_with_more_rows_than_the_limit_is_refused(
    results, tmp_path, monkeypatch, capsys
):
    import openpyxl

    name = "case_reviews_2024-05-01.xlsx"

    def setup(landing: Path) -> None:
        book = openpyxl.Workbook()
        book.active.title = "reviews"
        book.active.append(["case_number", "reviewed_on"])
        for i in range(5):
            book.active.append([f"CASE-{i}", "2024-05-01"])
        book.save(landing / name)

    monkeypatch.setenv("SCR_XLSX_MAX_ROWS", "4")
    _refused(results, tmp_path, monkeypatch, capsys, setup, name,
             ["sheet 'reviews' has 6 rows, beyond the limit of 4 (SCR_XLSX_MAX_ROWS)"])  # fmt: skip


@pytest.mark.parametrize("text", ["many", "0", "-5", "1.5"])
def test_a_limit_that_is_no_whole_number_stops_with_one_line(text, monkeypatch):
    from assets._shared.errors import PipelineError
    from assets._shared.settings import csv_max_columns, csv_max_field_chars

    monkeypatch.setenv("SCR_CSV_MAX_COLUMNS", text)
    with pytest.raises(PipelineError) as err:
        csv_max_columns()
    assert str(err.value) == (
        f"SCR_CSV_MAX_COLUMNS={text!r}: set it to a whole number, 1 or more (default 1000)"
    )
    monkeypatch.setenv("SCR_CSV_MAX_FIELD_CHARS", "67_108_864")
    assert csv_max_field_chars() == 64 << 20
