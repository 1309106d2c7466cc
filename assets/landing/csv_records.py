"""An independent count of a CSV extract's records, by a second reader (Python's ``csv`` module).

Why: the reader that loads the rows (DuckDB, or pyarrow as the fallback) once returned no row
and no error for a record with a 60 MB field. Ingest compares the rows it stored with this
count, and reconciliation shows both, so a record is read or the file is refused by name; it is
never dropped silently. The same pass refuses what no reader should guess at: a field or a
header beyond the configured limits, a record whose field count differs from the header's, and
a last record cut short (a transfer that stopped mid-record).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from assets._shared.errors import BadExtractError
from assets._shared.settings import csv_max_field_chars
from assets.landing.readers import csv_columns
from schemas.extracts import ExtractSpec

TRUNCATED_HINT = (
    "Land the complete file again (copy it once more from the source), then run "
    "`scr-pipeline refresh` again."
)


def _limit_hint(variable: str) -> str:
    return (
        f"Fix the file, or raise {variable} if such values are expected, then run "
        "`scr-pipeline refresh` again."
    )


def _truncated(name: str, problem: str) -> BadExtractError:
    return BadExtractError(name, f"looks truncated: {problem}", TRUNCATED_HINT)


def count_records(path: Path, name: str, width: int) -> int:
    """Data records of the CSV at ``path`` (header excluded, blank lines skipped as the readers
    skip them), or ``BadExtractError`` naming the file, the data row and what is wrong.

    ``width`` is the header's number of fields; every record must have exactly as many."""
    limit = csv_max_field_chars()
    previous = csv.field_size_limit(limit)
    records, last = 0, None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            next(reader, None)  # the header: checked by readers.py
            for row in reader:
                if not row:
                    continue
                if last is not None:  # a record after a ragged one: not a cut, a bad row
                    raise BadExtractError(name, _ragged(records, last, width))
                records += 1
                last = None if len(row) == width else row
    except csv.Error as err:
        row_no = records + 1
        if "field larger than field limit" in str(err):
            raise BadExtractError(
                name,
                f"data row {row_no} has a field longer than the limit of {limit:,} characters "
                "(SCR_CSV_MAX_FIELD_CHARS)",
                _limit_hint("SCR_CSV_MAX_FIELD_CHARS"),
            ) from None
        if "unexpected end of data" in str(err):
            raise _truncated(
                name,
                f"data row {row_no} opens a quoted field that never closes before the end of "
                "the file (an unterminated quote)",
            ) from None
        raise BadExtractError(name, f"broken CSV quoting in data row {row_no} ({err})") from None
    except UnicodeDecodeError:
        raise BadExtractError(
            name, f"not UTF-8 text (a bad byte after data row {records})"
        ) from None
    finally:
        csv.field_size_limit(previous)
    if last is not None and len(last) > width:
        raise BadExtractError(name, _ragged(records, last, width))
    if last is not None:
        raise _truncated(
            name,
            f"its last record (data row {records}) has {len(last)} of the header's {width} "
            "fields (a ragged CSV row, or a copy cut mid-record)",
        )
    return records


def _ragged(row_no: int, row: list[str], width: int) -> str:
    return (
        f"ragged CSV: data row {row_no} has {len(row)} fields, the header has {width} "
        "(a comma inside an unquoted value, or a value missing)"
    )


def records_in_file(path: Path, name: str, spec: ExtractSpec, sha256: str) -> int | None:
    """The independent count for any extract: the CSV's records by this module (after the
    header checks), a Parquet file's row count from its footer; None for a worksheet (.xlsx,
    read cell by cell). Counted once per content: a refresh that falls back from DuckDB's CSV
    reader to pyarrow reads every file again, but does not count it again."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - the reader names what is wrong with the file
            return None
    if path.suffix == ".xlsx":
        return None
    columns = csv_columns(path, spec)  # header checks, the column limit among them
    return _counted(str(path), name, len(columns), sha256, csv_max_field_chars())


@functools.lru_cache(maxsize=32)
def _counted(path: str, name: str, width: int, sha256: str, field_limit: int) -> int:
    return count_records(Path(path), name, width)


def check_rows_read(name: str, rows: int, records: int | None) -> None:
    """Rows stored must equal the file's records: a difference refuses the file by name."""
    if records is not None and rows != records:
        raise BadExtractError(
            name,
            f"{rows:,} rows were read but the file holds {records:,} records (counted by a "
            "second reader); no row of it was ingested",
        )


def duckdb_max_line_size() -> int:
    """DuckDB's ``max_line_size`` for a CSV: room for a record with fields up to the limit (its
    default, 2 MB, refused a 3 MB field, and a line beyond its buffer was dropped unnoticed)."""
    return 4 * csv_max_field_chars() + (1 << 20)
