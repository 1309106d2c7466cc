"""Named SQL statements read from ``.sql`` files beside the modules that run them.

Why: the queries that decide a number read as SQL in one file a newcomer can open, with
parameters bound (``$name``), instead of Python strings assembled by formatting. A file holds
statements under ``-- name: <statement_name>`` headers; :func:`load_sql` returns one, cached.
(h-layers owns this module; this is the same ``load_sql`` until theirs is merged.)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_HEADER = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.M)


@functools.cache
def statements(path: str) -> dict[str, str]:
    """Every named statement of the ``.sql`` file at ``path`` (name -> text, stripped)."""
    text = Path(path).read_text(encoding="utf-8")
    parts = _HEADER.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def load_sql(package_file: str | Path, name: str) -> str:
    """Statement ``name`` of the ``.sql`` file ``package_file`` (a module's ``__file__`` means
    the ``.sql`` file of the same name beside it). A missing name is a KeyError naming the file."""
    path = Path(package_file)
    if path.suffix == ".py":
        path = path.with_suffix(".sql")
    found = statements(str(path))
    if name not in found:
        raise KeyError(f"no statement {name!r} in {path} (has: {', '.join(found) or 'none'})")
    return found[name]
