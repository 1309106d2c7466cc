"""Charts for the quarterly report, drawn as inline SVG text by a few lines of plain Python.

Why SVG: the report must open offline and print sharply, so every chart is a real vector
drawing embedded in the HTML (no scripts, no CDN); text stays text, so the page font applies
and the numbers are searchable. Why by hand rather than a plotting library: three bar charts
need rectangles, lines and labels, and drawing them here takes milliseconds where matplotlib
took about 2 s per publish (its import and SVG back end), paid by every refresh.
Every label that comes from data (category names) is XML-escaped.
"""

from __future__ import annotations

import math
from html import escape

OLD = "#9aa5b1"  # approval-based count: neutral grey
TCO = "#1f4e79"  # TCO-validated: the office's navy
TARGET = "#c0392b"
NON_TCO = "#d98c2b"
UNDETERMINED = "#c9ced6"
REASONS = {
    "no_association": ("No association of individuals", "#e3a34f"),
    "no_border_crossing": ("No border crossing", "#b5651d"),
    "both": ("Neither prong", "#7b3f00"),
    "indicator_no": ("TCO checkbox 'N'", "#8e6c8a"),
}
WIDTH = 1100  # user units; the page scales the drawing to its column (CSS width: 100%)
AXIS, GRID, INK = "#555555", "#e5e7eb", "#222222"


def _n(v: float) -> str:
    """A coordinate with two decimals at most (short, stable text)."""
    return f"{v:.2f}".rstrip("0").rstrip(".")


class _Drawing:
    """The elements of one chart, in drawing order."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, title: str = "") -> None:
        """A bar; ``title`` is the tooltip a browser shows on hover (and a screen reader reads)."""
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" '
            f'fill="{fill}">{tip}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str, width: float) -> None:
        self.parts.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{color}" stroke-width="{_n(width)}"/>'
        )

    def text(
        self, x: float, y: float, s: str, anchor: str = "middle", size: float = 13,
        color: str = INK, bold: bool = False, rotate: float = 0,
    ) -> None:  # fmt: skip
        weight = ' font-weight="bold"' if bold else ""
        turn = f' transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"' if rotate else ""
        self.parts.append(
            f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{_n(size)}" '
            f'fill="{color}"{weight}{turn}>{escape(s)}</text>'
        )

    def svg(self, height: float, name: str) -> str:
        body = "".join(self.parts)
        return (
            f'<svg role="img" aria-label="{name} chart" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {WIDTH} {_n(height)}" width="{WIDTH}" height="{_n(height)}" '
            f'font-family="sans-serif">{body}</svg>'
        )


def nice_ticks(top: float, integer: bool) -> list[float]:
    """0 up to the first 'nice' value (1, 2, 2.5 or 5 times a power of ten) at or above
    ``top``, in 3 to 6 equal steps (whole steps when ``integer``)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def _tick_label(v: float, pct: bool) -> str:
    return f"{v:.0f}%" if pct else f"{v:,.0f}"


def _legend(d: _Drawing, items: list[tuple[str, str, bool]], y: float) -> None:
    """Centred legend: (label, color, as a line) per item."""
    widths = [28 + 7.2 * len(label) for label, _, _ in items]
    x = (WIDTH - sum(widths) - 16 * (len(items) - 1)) / 2
    for (label, color, as_line), w in zip(items, widths, strict=True):
        if as_line:
            d.line(x, y - 4, x + 18, y - 4, color, 2.5)
        else:
            d.rect(x, y - 11, 18, 12, color)
        d.text(x + 24, y, label, anchor="start", size=12)
        x += w + 16


def _value_axis(
    d: _Drawing, x0: float, x1: float, y0: float, y1: float, ticks: list[float], pct: bool,
    label: str,
) -> None:  # fmt: skip
    """Horizontal grid lines with tick labels left of ``x0``; ``y0`` is the zero line."""
    top = ticks[-1]
    for t in ticks:
        y = y0 - (y0 - y1) * t / top
        d.line(x0, y, x1, y, GRID, 1)
        d.text(x0 - 6, y + 4, _tick_label(t, pct), anchor="end", size=11, color=AXIS)
    d.line(x0, y0, x1, y0, AXIS, 1)
    d.line(x0, y0, x0, y1, AXIS, 1)
    d.text(x0 - 52, (y0 + y1) / 2, label, size=12, color=AXIS, rotate=-90)


def _panel(
    d: _Drawing, x0: float, x1: float, rows: list[dict], pct: bool, title: str, label: str
) -> None:
    """Old vs TCO-validated bars per fiscal year with the target as a red line (one panel)."""
    scale = 100.0 if pct else 1.0
    old = [(r["result_old_method"] or 0) * scale for r in rows]
    tco = [(r["result_tco_validated"] or 0) * scale for r in rows]
    target = [None if r["target"] is None else r["target"] * scale for r in rows]
    ticks = nice_ticks(max(old + tco + [t for t in target if t is not None] + [0]), not pct)
    y0, y1 = 330.0, 80.0
    d.text((x0 + x1) / 2, 66, title, size=14, bold=True)
    _value_axis(d, x0, x1, y0, y1, ticks, pct, label)
    slot = (x1 - x0) / len(rows)
    bar = slot * 0.32
    for i, r in enumerate(rows):
        mid = x0 + slot * (i + 0.5)
        year = f"FY{r['fiscal_year']}"
        for x, v, color, what in (
            (mid - bar, old[i], OLD, "old method"),
            (mid, tco[i], TCO, "TCO"),
        ):
            h = (y0 - y1) * v / ticks[-1]
            d.rect(x, y0 - h, bar, h, color, f"{year} {what}: {_tick_label(v, pct)}")
        h = (y0 - y1) * tco[i] / ticks[-1]
        value = f"{tco[i]:.1f}%" if pct else f"{tco[i]:,.0f}"
        d.text(mid + bar / 2, y0 - h - 4, value, size=11, color=TCO)
        if target[i] is not None:
            ty = y0 - (y0 - y1) * target[i] / ticks[-1]
            d.line(mid - bar - 6, ty, mid + bar + 6, ty, TARGET, 2.5)
        d.text(mid, y0 + 18, year, size=12)
        quarters = r.get("quarters_reported") or 4
        if quarters < 4:
            d.text(mid, y0 + 33, f"(Q1-Q{quarters} only)", size=11, color=AXIS)
    d.text((x0 + x1) / 2, y0 + 52, "Fiscal year", size=12, color=AXIS)


def annual_chart(rows: list[dict]) -> str:
    """Two panels: the percent years (FY2017-FY2020) and the count years (FY2021 on)."""
    d = _Drawing()
    _legend(
        d,
        [("Old method (approvals)", OLD, False), ("TCO-validated", TCO, False),
         ("Published target", TARGET, True)],
        22,
    )  # fmt: skip
    pct = [r for r in rows if r["measure_type"] == "percent"]
    cnt = [r for r in rows if r["measure_type"] != "percent"]
    panels = [(p, kind) for p, kind in ((pct, True), (cnt, False)) if p]
    left, gap, right = 80.0, 100.0, WIDTH - 20.0
    usable = right - left - gap * (len(panels) - 1)
    total = sum(len(p) for p, _ in panels)
    x = left
    for panel, is_pct in panels:
        width = usable * len(panel) / total
        if is_pct:
            title, label = "Percent of approved initial investigations", "Share of initial (%)"
        else:
            title, label = "Count of disruptions and dismantlements", "Disruptions + dismantlements"
        _panel(d, x, x + width, panel, is_pct, title, label)
        x += width + gap
    return d.svg(395, "annual")


def quarterly_chart(rows: list[dict]) -> str:
    """Stacked bars per quarter: TCO, non-TCO, undetermined (the whole bar is the old count)."""
    d = _Drawing()
    parts = (("dd_tco", TCO, "TCO"), ("dd_non_tco", NON_TCO, "Not a TCO"),
             ("dd_undetermined", UNDETERMINED, "Undetermined"))  # fmt: skip
    _legend(d, [(label, color, False) for _, color, label in parts], 22)
    totals = [sum(r[c] or 0 for c, _, _ in parts) for r in rows]
    ticks = nice_ticks(max(totals + [0]), integer=True)
    x0, x1, y0, y1 = 90.0, WIDTH - 20.0, 290.0, 50.0
    _value_axis(d, x0, x1, y0, y1, ticks, False, "Disruptions + dismantlements")
    slot = (x1 - x0) / max(len(rows), 1)
    bar = slot * 0.6
    tilt = len(rows) > 12  # many quarters: slanted labels so that they do not overlap
    for i, r in enumerate(rows):
        mid = x0 + slot * (i + 0.5)
        quarter = f"FY{r['fiscal_year']} Q{r['fiscal_quarter']}"
        base = y0
        for col, color, label in parts:
            h = (y0 - y1) * (r[col] or 0) / ticks[-1]
            d.rect(mid - bar / 2, base - h, bar, h, color, f"{quarter} {label}: {r[col] or 0:,}")
            base -= h
        if len(rows) <= 24:  # more quarters: the totals are in the table below
            d.text(mid, base - 4, f"{totals[i]:,}", size=11 if len(rows) <= 16 else 9)
        if tilt:
            d.text(mid, y0 + 14, quarter, anchor="end", size=10, rotate=-40)
        else:
            d.text(mid, y0 + 18, quarter, size=11)
    height = y0 + (78 if tilt else 50)
    d.text((x0 + x1) / 2, height - 8, "Fiscal quarter", size=12, color=AXIS)
    return d.svg(height, "quarterly")


def category_chart(rows: list[dict]) -> str:
    """Horizontal stacked bars: non-TCO disruptions/dismantlements per category, by reason,
    the largest on top."""
    d = _Drawing()
    _legend(d, [(label, color, False) for label, color in REASONS.values()], 22)
    rows = sorted(rows, key=lambda r: r["dd_non_tco"] or 0, reverse=True)
    totals = [sum(r[c] or 0 for c in REASONS) for r in rows]
    ticks = nice_ticks(max(totals + [0]), integer=True)
    x0, x1, top, band = 300.0, WIDTH - 30.0, 44.0, 30.0
    y_end = top + band * len(rows)
    for t in ticks:
        x = x0 + (x1 - x0) * t / ticks[-1]
        d.line(x, top, x, y_end, GRID, 1)
        d.text(x, y_end + 16, _tick_label(t, False), size=11, color=AXIS)
    d.line(x0, top, x0, y_end, AXIS, 1)
    d.line(x0, y_end, x1, y_end, AXIS, 1)
    for i, r in enumerate(rows):
        y = top + band * i + band * 0.19
        d.text(x0 - 8, y + band * 0.31 + 4, str(r["criminal_category"]), anchor="end", size=12)
        left = x0
        for col, (label, color) in REASONS.items():
            w = (x1 - x0) * (r[col] or 0) / ticks[-1]
            d.rect(
                left,
                y,
                w,
                band * 0.62,
                color,
                f"{r['criminal_category']}, {label}: {r[col] or 0:,}",
            )
            left += w
    d.text(
        (x0 + x1) / 2, y_end + 38, "Disruptions + dismantlements not describing a TCO (SCRs)",
        size=12, color=AXIS,
    )  # fmt: skip
    return d.svg(y_end + 50, "category")
