"""Read one landing file (CSV or Parquet) as Arrow batches of strings, or refuse it by name.

Every failure becomes a ``BadExtractError`` naming the file and the problem, so the operator
never sees a pyarrow traceback. Memory stays bounded: files are streamed in batches.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.errors import BadExtractError
from schemas.extracts import ExtractSpec

BATCH_ROWS = 1_000_000
CSV_BLOCK_BYTES = 16 << 20


def _check_header(name: str, columns: list[str], spec: ExtractSpec) -> None:
    if any(c.strip() == "" for c in columns):
        raise BadExtractError(name, f"the header has an empty column name: {columns}")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise BadExtractError(name, f"the header repeats column(s) {dupes}")
    missing = [c for c in spec.header_required if c not in columns]
    if missing:
        raise BadExtractError(
            name,
            f"required column(s) {missing} missing from the header (found {columns[:20]})",
        )


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
    first = next(csv.reader(io.StringIO(text)), None)
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


def read_batches(path: Path, spec: ExtractSpec) -> Iterator[tuple[list[str], pa.RecordBatch]]:
    """Yield (header, batch) pairs; raise BadExtractError for a file that is not an extract."""
    if path.stat().st_size == 0:
        raise BadExtractError(
            path.name, "the file is empty (0 bytes); an extract needs a header row"
        )
    reader = _parquet_batches if path.suffix == ".parquet" else _csv_batches
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
