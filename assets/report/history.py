"""The report's history: each earlier release's report, readable from the current one.

Why: a browser does not resolve the ``SCR_OUTPUT_DIR`` symlink, so a link from
``report/index.html`` to another release dir would break; instead every release carries the
earlier reports (each with its own "What changed") as ``report/history/<release id>.html`` with
an index, and the report links to ``history/index.html`` (the same link in every release, so a
rebuild's report equals the published one). Kept to this module: the publish step
(assets/publish/outputs.py) calls it; the report's own code is unchanged.
"""

from __future__ import annotations

from assets.report.html import esc

HISTORY_DIR = "report/history"
INDEX = f"{HISTORY_DIR}/index.html"
LINK_HTML = (
    '<p class="earlier-releases"><a href="history/index.html">Earlier releases</a> '
    "(the reports of the kept releases, each with its &ldquo;What changed&rdquo;)</p>\n"
)
# in a page moved into history/, the same link points to the index beside it
HISTORY_LINK_HTML = LINK_HTML.replace('href="history/index.html"', 'href="index.html"')


def with_history_link(page: str) -> str:
    """The report page with its link to the earlier releases (end of the page's main part)."""
    return page.replace("</main>", LINK_HTML + "</main>", 1)


def as_history_page(page: str) -> str:
    """A published report, as kept in a later release's ``history/`` (its link fixed)."""
    return page.replace(LINK_HTML, HISTORY_LINK_HTML, 1)


def history_index(entries: list[tuple[str, str | None]]) -> str:
    """The list of earlier reports, newest first: (release id, published at)."""
    items = "".join(
        f'<li><a href="{esc(rid)}.html">{esc(rid)}</a> published {esc(when or "?")}</li>'
        for rid, when in sorted(entries, reverse=True)
    )
    body = f"<ul>{items}</ul>" if items else "<p>No earlier release is kept.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>SCR measure: earlier releases</title></head><body><main>"
        '<h1>Earlier releases</h1><p><a href="../index.html">The current report</a></p>'
        f"{body}</main></body></html>\n"
    )
