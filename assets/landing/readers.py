"""Read one landing file (CSV, Parquet, or a review worksheet .xlsx) as Arrow batches of strings, or refuse it by name.

Every failure becomes a ``BadExtractError`` naming the file and the problem, so the operator
never sees a pyarrow traceback. Memory stays bounded: files are streamed in batches.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from assets._shared.errors import BadExtractError
from assets._shared.settings import csv_max_columns
from assets.landing.xlsx_reader import first_sheet_table
from schemas.extracts import ExtractSpec

BATCH_ROWS = 1_000_000
CSV_BLOCK_BYTES = 16 << 20


NEAR_MISS_DISTANCE = 2  # an unknown header this close to a missing contract column is a typo
# Headers read as a contract column only after trimming / case folding (one row per header),
# recorded at ingest so validation reports them as file-level warnings.


def header_key(header: str) -> str:
    """How a header is compared with the contract's names: trimmed, case-insensitive."""
    return header.strip().lower()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute), for near-miss header names."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _check_header(name: str, columns: list[str], spec: ExtractSpec) -> dict[str, str]:
    """Contract column -> header as written in the file, or BadExtractError naming the problem.

    Names match after trimming, case-insensitively. A file lacking a contract column but
    carrying an unknown one within edit distance 2 of it is refused (a typo would otherwise
    silently empty that column)."""
    limit = csv_max_columns()
    if len(columns) > limit:  # before the near-miss search, which compares every pair
        raise BadExtractError(
            name,
            f"the header has {len(columns):,} columns or more, beyond the limit of {limit:,} "
            "(SCR_CSV_MAX_COLUMNS)",
            "Fix the file, or raise SCR_CSV_MAX_COLUMNS if so many columns are expected, then "
            "run `scr-pipeline refresh` again.",
        )
    nul = [i for i, c in enumerate(columns, start=1) if "\x00" in c]
    if nul:
        raise BadExtractError(
            name,
            f"the header has a NUL character (\\x00) in column {nul[0]} "
            f"({columns[nul[0] - 1]!r}): a binary or corrupted header",
        )
    if any(c.strip() == "" for c in columns):
        raise BadExtractError(name, f"the header has an empty column name: {columns}")
    by_key: dict[str, list[str]] = {}
    for c in columns:
        by_key.setdefault(header_key(c), []).append(c)
    dupes = sorted(c for cs in by_key.values() if len(cs) > 1 for c in cs)
    if dupes:
        raise BadExtractError(name, f"the header repeats column(s) {dupes}")
    mapping = {c: by_key[c][0] for c in spec.columns if c in by_key}
    unknown = [c for c in columns if header_key(c) not in spec.columns]
    for wanted in (c for c in spec.columns if c not in mapping):
        near = [u for u in unknown if edit_distance(header_key(u), wanted) <= NEAR_MISS_DISTANCE]
        if near:
            raise BadExtractError(
                name,
                f"column '{near[0]}' looks like '{wanted}'",
                f"Rename the header to '{wanted}' (the contract's name) and land the file again.",
            )
    missing = [c for c in spec.header_required if c not in mapping]
    if missing:
        raise BadExtractError(
            name,
            f"required column(s) {missing} missing from the header (found {columns[:20]})",
        )
    return mapping


def contract_header(name: str, columns: list[str], spec: ExtractSpec) -> dict[str, str]:
    """The column mapping ingest uses: contract column -> the file's header for it."""
    return _check_header(name, columns, spec)


def record_header_renames(con, file_id: int, mapping: dict[str, str], columns: list[str]) -> None:
    """Remember headers that differ from their contract name (validation warns about them)."""
    renamed = [(file_id, columns.index(h) + 1, h, c) for c, h in mapping.items() if h != c]
    if renamed:
        con.executemany("INSERT INTO header_renames VALUES (?, ?, ?, ?)", renamed)


def _csv_header(path: Path) -> list[str]:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multi-byte char cut at the 1 MiB boundary
            raise BadExtractError(
                path.name, f"not UTF-8 text (bad byte at offset {err.start})"
            ) from None
        text = head[: err.start].decode("utf-8-sig")
    first_break = re.search(r"\r\n|\n|\r", text)
    if first_break and first_break.group() == "\r":
        raise BadExtractError(
            path.name,
            "line endings are CR only (old Mac style), which no CSV reader here takes; "
            "save as LF or CRLF",
            "Save the file again with LF or CRLF line endings, then run `scr-pipeline refresh` "
            "again.",
        )
    first = next(csv.reader(io.StringIO(text, newline="")), None)
    if not first:
        raise BadExtractError(path.name, "no header row")
    return first


def _csv_batches(path: Path, spec: ExtractSpec) -> Iterator[tuple[list[str], pa.RecordBatch]]:
    columns = _csv_header(path)
    _check_header(path.name, columns, spec)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns}, strings_can_be_null=False
        ),
    )
    for batch in reader:
        yield columns, batch


def _parquet_batches(path: Path, spec: ExtractSpec) -> Iterator[tuple[list[str], pa.RecordBatch]]:
    pf = pq.ParquetFile(path)
    columns = list(pf.schema_arrow.names)
    _check_header(path.name, columns, spec)
    for batch in pf.iter_batches(batch_size=BATCH_ROWS):
        yield columns, _as_contract_types(batch, spec)


def _xlsx_batches(path: Path, spec: ExtractSpec) -> Iterator[tuple[list[str], pa.RecordBatch]]:
    """The first sheet as text (assets/landing/xlsx_reader.py), then the CSV path's header rules."""
    columns, batch = first_sheet_table(path)
    _check_header(path.name, columns, spec)
    yield columns, batch


READERS = {".parquet": _parquet_batches, ".xlsx": _xlsx_batches}


def _whole(arr: pa.Array, unit: pa.Array) -> bool:
    return bool(pc.all(pc.equal(arr, unit)).as_py() in (True, None))


def _as_contract_types(batch: pa.RecordBatch, spec: ExtractSpec) -> pa.RecordBatch:
    """Typed Parquet written by pandas stores dates as midnight timestamps and integer columns
    with gaps as floats; give such values their contract text form (``2024-01-05``, ``3``).
    Anything else is left for the rules to judge (e.g. 3.5 subjects, a non-midnight date)."""
    arrays = []
    for name, arr in zip(batch.schema.names, batch.columns, strict=True):
        if name in spec.date_columns and pa.types.is_timestamp(arr.type):
            day = pc.cast(pc.floor_temporal(arr, unit="day"), pa.date32())
            if _whole(pc.cast(day, arr.type), arr):
                arr = day
        elif name in spec.integer_columns and pa.types.is_floating(arr.type):
            if _whole(pc.floor(arr), arr):
                arr = pc.cast(arr, pa.int64())
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise BadExtractError(
            path.name, "the file is empty (0 bytes); an extract needs a header row"
        )


def csv_columns(path: Path, spec: ExtractSpec) -> list[str]:
    """The header of a CSV extract, with the same checks (and messages) as ``read_batches``."""
    _check_not_empty(path)
    columns = _csv_header(path)
    _check_header(path.name, columns, spec)
    return columns


def read_batches(path: Path, spec: ExtractSpec) -> Iterator[tuple[list[str], pa.RecordBatch]]:
    """Yield (header, batch) pairs; raise BadExtractError for a file that is not an extract."""
    _check_not_empty(path)
    reader = READERS.get(path.suffix, _csv_batches)
    try:
        yield from reader(path, spec)
    except BadExtractError:
        raise
    except (pa.ArrowException, OSError, ValueError) as err:
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        problem = str(err).splitlines()[0][:300]
        if "UTF8" in problem or "utf-8" in problem.lower():
            problem = f"not UTF-8 text ({problem})"
        elif "columns, got" in problem:
            problem = (
                f"ragged CSV: a row has a different number of fields than the header ({problem})"
            )
        else:
            problem = f"cannot be read as {kind} ({problem})"
        raise BadExtractError(path.name, problem) from None
