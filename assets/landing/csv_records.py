"""An independent count of a CSV extract's records, by a second reader (a byte scan in numpy,
checked record by record; Python's ``csv`` module wherever the scan sees anything unusual).

Why: the reader that loads the rows (DuckDB, or pyarrow as the fallback) once returned no row
and no error for a record with a 60 MB field. Ingest compares the rows it stored with this
count, and reconciliation shows both, so a record is read or the file is refused by name; it is
never dropped silently. The same pass refuses what no reader should guess at: a field or a
header beyond the configured limits, a record whose field count differs from the header's, and
a last record cut short (a transfer that stopped mid-record).

Two passes, one answer: ``scan_count`` finds quotes, newlines and commas with numpy (about
0.3 s of CPU per million rows against 1.6 s for the ``csv`` module) and returns the count only
for a file it can vouch for: UTF-8 without NUL, every quote where RFC 4180 puts it (opening a
field, closing it, or doubled inside it), line ends LF or CRLF, no record longer than the
field limit, and every record with exactly the header's number of fields. Anything else (a
ragged row, a stray quote, a lone CR, a cut last record, a bad byte) returns None and the file
is counted again by ``count_records`` (the ``csv`` module, strict), whose message names the row.
``tests/landing/test_csv_records.py`` checks that the scan never returns a count the ``csv``
module would not.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np

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


BOM = b"\xef\xbb\xbf"
CHUNK_BYTES = 1 << 20
QUOTE, COMMA, LF, CR = 34, 44, 10, 13


def scan_count(path: Path, width: int, limit: int, chunk: int = CHUNK_BYTES) -> int | None:
    """Data records of the CSV at ``path`` (header and blank lines excluded, as
    ``count_records`` counts them), or None when the file is not one the scan can vouch for
    (see the module docstring): then ``count_records`` counts it and names what is wrong.

    The file is read in ``chunk``-byte blocks, each cut after its last newline outside quotes
    (the rest is carried into the next block), so every block starts at a record's start."""
    records, header, carry = 0, True, b""
    with open(path, "rb") as fh:
        block = fh.read(max(chunk, len(BOM)))
        if block.startswith(BOM):
            block = block[len(BOM) :]
        ahead = fh.read(chunk)
        while True:
            data = carry + block if carry else block
            final = not ahead
            found = _scan_block(data, final, width, limit, header) if data else (0, 0, header)
            if found is None:
                return None
            n, end, header = found
            records += n
            if final:
                return records
            carry = data[end:]
            if len(carry) > 4 * limit + chunk:  # no record end in sight: the csv module decides
                return None
            block, ahead = ahead, fh.read(chunk)


def _scan_block(
    buf: bytes, final: bool, width: int, limit: int, header: bool
) -> tuple[int, int, bool] | None:
    """(data records, bytes consumed, header still to come) for the records of ``buf`` up to
    its last newline outside quotes (all of it when ``final``); None for anything unusual."""
    if b"\0" in buf:
        return None
    a = np.frombuffer(buf, np.uint8)
    quotes = np.flatnonzero(a == QUOTE)
    newlines = np.flatnonzero(a == LF)
    ends = newlines[(np.searchsorted(quotes, newlines) & 1) == 0]  # newlines outside quotes
    if final:
        if len(quotes) % 2:
            return None  # a quote that never closes
        end = len(a)
    elif len(ends):
        end = int(ends[-1]) + 1
        quotes = quotes[quotes < end]
    else:
        return 0, 0, header  # no record ends in this block yet: read more
    if not buf.isascii():
        try:
            buf[:end].decode("utf-8")  # ``end`` follows a newline: never inside a character
        except UnicodeDecodeError:
            return None
    if not _quotes_in_place(a, quotes, end):
        return None
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [end])) if final else ends
    starts = starts[: len(stops)]
    if final and len(stops) and starts[-1] == end:  # nothing after the last newline
        starts, stops = starts[:-1], stops[:-1]
    commas = np.flatnonzero(a[:end] == COMMA)
    # commas before each line's end; a line starts right after the previous end (never a comma)
    before_stop = np.searchsorted(commas, stops)
    fields = np.diff(before_stop, prepend=0) + 1
    in_quotes = np.searchsorted(commas, quotes)  # commas before each quote
    fields -= np.bincount(
        np.searchsorted(stops, quotes[0::2]),
        weights=in_quotes[1::2] - in_quotes[0::2],
        minlength=len(stops),
    ).astype(np.int64)[: len(stops)]
    if (
        buf.find(b"\r", 0, end) >= 0
    ):  # a CR is allowed inside quotes or right before a newline, only
        cr = np.flatnonzero(a[:end] == CR)
        outside = (np.searchsorted(quotes, cr) & 1) == 0
        before_lf = (cr + 1 < end) & (a[np.minimum(cr + 1, len(a) - 1)] == LF)
        if np.any(outside & ~before_lf):
            return None
        stops = stops - (a[np.maximum(stops - 1, 0)] == CR) * (stops > starts)
    length = stops - starts
    if len(length) and int(length.max()) > limit:
        return None  # a field may be too long: the csv module says which
    blank = length == 0
    if header and len(blank):
        if blank[0]:
            return None  # a blank first line: the csv module reads it as the header
        blank, fields, header = blank[1:], fields[1:], False
    if np.any(fields[~blank] != width):
        return None  # a ragged record: the csv module names it
    return int(np.count_nonzero(~blank)), end, header


def _quotes_in_place(a: np.ndarray, quotes: np.ndarray, end: int) -> bool:
    """Every quote opens a field (after a comma or a line start), closes one (before a comma,
    a line end or the end of the file), or is doubled inside a quoted field: where the csv
    module and a parity count of quotes agree on what is quoted."""
    if not len(quotes):
        return True
    opens, closes = quotes[0::2], quotes[1::2]
    before = a[np.maximum(opens - 1, 0)]
    doubled_open = np.zeros(len(opens), bool)
    doubled_open[1:] = opens[1:] - 1 == closes[: len(opens) - 1]
    ok_open = (opens == 0) | (before == COMMA) | (before == LF) | doubled_open
    after = a[np.minimum(closes + 1, len(a) - 1)]
    doubled_close = np.zeros(len(closes), bool)
    doubled_close[: len(opens) - 1] = closes[: len(opens) - 1] + 1 == opens[1:]
    ok_close = (
        (closes + 1 == end) | (after == COMMA) | (after == LF) | (after == CR) | doubled_close
    )
    return bool(ok_open.all() and ok_close.all())


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
    fast = scan_count(Path(path), width, field_limit)
    return fast if fast is not None else count_records(Path(path), name, width)


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
