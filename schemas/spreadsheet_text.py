"""Formula protection for the files the pipeline writes for people to open in a spreadsheet.

Why: Excel (and LibreOffice) run a CSV field that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula, so a field office typed as ``=HYPERLINK(...)``
in ICM would become a live link in the analysts' worksheet (CSV injection). Following OWASP's
advice, such a *text* value is written with a single quote in front; numbers are left alone (a
negative count is not a formula). A value that already starts with a quote gets one more, so
the protection can be undone exactly: :func:`unprotect_sql` reads a value back as it was.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_PROTECTED = (*FORMULA_STARTS, QUOTE)


def protect(value: object) -> object:
    """A text value a spreadsheet could run as a formula, quoted; anything else unchanged."""
    if isinstance(value, str) and value.startswith(_PROTECTED):
        return QUOTE + value
    return value


def unprotect(value: str) -> str:
    """The inverse of :func:`protect` for text (the rule :func:`unprotect_sql` applies)."""
    if value.startswith(QUOTE) and value[1:].startswith(_PROTECTED):
        return value[1:]
    return value


def unprotect_sql(col: str) -> str:
    """SQL for :func:`unprotect`: drop a leading quote that stands before a protected start."""
    starts = " OR ".join(f"starts_with(substr({col}, 2), chr({ord(c)}))" for c in _PROTECTED)
    return (
        f"CASE WHEN starts_with({col}, chr(39)) AND ({starts}) THEN substr({col}, 2) ELSE {col} END"
    )
