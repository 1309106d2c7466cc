"""The one quoting helper, and named SQL read from a ``.sql`` file beside a module.

Values are bound parameters (``?`` or ``$name``). Only where DuckDB cannot bind one (an
identifier, the path in ``ATTACH``, ``COPY ... TO``, ``CREATE VIEW`` over a file) does text
go into a statement, and then only through :func:`quote_ident` or :func:`quote_literal`, so
no name or path can end a quote early. Named statements let a query that decides a number
read as SQL in its own file instead of a Python string assembled from pieces.
"""

import re
from functools import cache
from pathlib import Path

__all__ = ["load_sql", "quote_ident", "quote_literal", "sql_names"]

_NAME_HEADER = re.compile(r"^--\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$", re.MULTILINE)


def quote_ident(name: str) -> str:
    """A DuckDB identifier for any name: double-quoted, an inner ``"`` doubled."""
    _no_nul(name, "identifier")
    if not name:
        raise ValueError("a SQL identifier cannot be empty")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A DuckDB string literal for a path or text that cannot be bound: ``'`` doubled."""
    _no_nul(text, "literal")
    return "'" + text.replace("'", "''") + "'"


def _no_nul(text: str, what: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"a SQL {what} must be text, got {type(text).__name__}")
    if "\x00" in text:  # DuckDB's parser stops at NUL: the rest of the statement would be lost
        raise ValueError(f"a SQL {what} cannot hold a NUL character: {text!r}")


def load_sql(module_file: str | Path, name: str) -> str:
    """Statement ``name`` from the ``.sql`` file beside ``module_file`` (``__file__``).

    The file holds statements each under a ``-- name: <statement_name>`` header; the text up
    to the next header (trailing ``;`` and blank lines dropped) is the statement."""
    statements = _statements(Path(module_file).with_suffix(".sql").resolve())
    try:
        return statements[name]
    except KeyError:
        path = Path(module_file).with_suffix(".sql")
        known = ", ".join(sorted(statements)) or "none"
        raise KeyError(f"{path} has no statement named {name!r} (it has: {known})") from None


def sql_names(module_file: str | Path) -> list[str]:
    """The statement names of the ``.sql`` file beside ``module_file``, in file order."""
    return list(_statements(Path(module_file).with_suffix(".sql").resolve()))


@cache
def _statements(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    headers = list(_NAME_HEADER.finditer(text))
    if not headers:
        raise ValueError(f"{path} has no '-- name: <statement_name>' header")
    out: dict[str, str] = {}
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        body = text[header.end() : end].strip().rstrip(";").strip()
        name = header.group(1)
        if name in out:
            raise ValueError(f"{path} names statement {name!r} twice")
        if not body:
            raise ValueError(f"{path}: statement {name!r} is empty")
        out[name] = body
    return out
