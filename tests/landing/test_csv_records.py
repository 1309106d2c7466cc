"""The second reader's two passes agree: the numpy scan (``scan_count``) returns a count only
where Python's ``csv`` module (``count_records``) reads the same count without an error, and
hands every unusual file to the ``csv`` module, which names the row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets._shared.errors import BadExtractError
from assets.landing.csv_records import count_records, scan_count

LIMIT = 1000
CHUNKS = (1, 3, 7, 64, 1 << 20)  # small blocks: records and quotes cut across block ends


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    return path


def _exact(path: Path, width: int) -> int | None:
    try:
        return count_records(path, path.name, width)
    except BadExtractError:
        return None


@pytest.mark.parametrize("chunk", CHUNKS)
def test_counts_worked_out_by_hand(tmp_path, chunk):
    # header, then: a plain record, a blank line (skipped), a quoted comma and a doubled quote,
    # a quoted newline (one record over two lines), CRLF endings, an empty quoted field, no
    # newline after the last record: 4 records
    data = (
        b'\xef\xbb\xbfa,b,c\r\n1,2,3\r\n\r\n"x,y","say ""hi""",z\n"two\nlines",,""\r\nlast,"",end'
    )
    path = _write(tmp_path, data)
    assert scan_count(path, 3, LIMIT, chunk) == 4
    assert count_records(path, "x.csv", 3) == 4


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,2,3\n",  # ragged: one field too many
        b"a,b\n1,2\n3\n",  # a last record cut short
        b'a,b\n"1,2\n',  # a quote that never closes
        b'a,b\n1"x,2\n',  # a quote inside an unquoted field
        b'a,b\n"1"x,2\n',  # text after a closing quote
        b"a,b\n1,2\r3,4\n",  # a lone CR
        b"a,b\n1,\xff\n",  # not UTF-8
        b"a,b\n1,\x00\n",  # NUL
        b"\na,b\n1,2\n",  # a blank first line
        b"a,b\n1," + b"x" * (LIMIT + 1) + b"\n",  # a record longer than the field limit
    ],
)
def test_anything_unusual_goes_to_the_csv_module(tmp_path, data):
    assert scan_count(_write(tmp_path, data), 2, LIMIT) is None


_FIELD = st.text(alphabet='ab,"\n\r é', max_size=6)


@st.composite
def _valid_csv(draw) -> tuple[bytes, int, int]:
    """A CSV as a writer makes it: (bytes, width, data records)."""
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(_FIELD, min_size=width, max_size=width), max_size=8))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    if end == "\n":  # the writer quotes a field holding a character of the line end only
        rows = [[f.replace("\r", "") for f in r] for r in rows]
    buf = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    writer = csv.writer(buf, quoting=quoting, lineterminator=end)
    writer.writerow([f"c{i}" for i in range(width)])
    writer.writerows(rows)
    records = len(rows)  # a lone empty field is written '""': never a blank line
    text = buf.getvalue()
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no newline after the last record
    return text.encode("utf-8"), width, records


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(made=_valid_csv(), chunk=st.sampled_from(CHUNKS))
def test_a_written_csv_is_counted_by_the_scan(tmp_path, made, chunk):
    data, width, records = made
    path = _write(tmp_path, data)
    exact = count_records(path, "x.csv", width)
    assert scan_count(path, width, LIMIT, chunk) == exact
    if not data.endswith(b"\n") and data.endswith(b","):
        return  # a trailing empty field without newline: as the csv module reads it
    assert exact == records


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.text(alphabet='ab,"\n\r \x00é', max_size=40),
    width=st.integers(1, 3),
    chunk=st.sampled_from(CHUNKS),
)
def test_the_scan_never_counts_what_the_csv_module_would_not(tmp_path, body, width, chunk):
    path = _write(tmp_path, (",".join(["h"] * width) + "\n" + body).encode("utf-8"))
    fast = scan_count(path, width, LIMIT, chunk)
    if fast is not None:
        assert fast == _exact(path, width)
