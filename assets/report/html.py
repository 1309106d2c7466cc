"""HTML building blocks for the quarterly report: number formats and escaped tables.

Why a module of its own: every value that reaches the page passes through ``cell`` (which
escapes it), so the rule "escape every data value" lives in one place, and the formats an
analyst reads (``22.9%``, ``1,083``, ``$8.8M``) are the same in every table.
"""

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

DASH = "\u2014"


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_count(v: object) -> str:
    return DASH if _missing(v) else f"{int(v):,}"


def fmt_pct(v: object) -> str:
    """A fraction as a percent with one decimal: 0.229 -> 22.9%."""
    return DASH if _missing(v) else f"{float(v) * 100:.1f}%"


def fmt_measure(v: object, measure_type: str) -> str:
    """The measure in its published unit: percent through FY2020, count from FY2021."""
    return fmt_pct(v) if measure_type == "percent" else fmt_count(v)


def fmt_money(v: object) -> str:
    if _missing(v):
        return DASH
    v = float(v)
    return f"${v / 1e6:,.1f}M" if abs(v) >= 1e6 else f"${v:,.0f}"


def fmt_met(v: object) -> str:
    return "no target" if _missing(v) else ("met" if v else "not met")


def tone_met(v: object) -> str:
    return "" if _missing(v) else ("good" if v else "bad")


def fmt_text(v: object) -> str:
    if _missing(v):
        return DASH
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def fmt_auto(v: object) -> str:
    """For tables whose columns are not known in advance (tables built by other stages)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return fmt_count(v)
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float) and not _missing(v):
        return f"{v:,.2f}" if v != int(v) else f"{v:,.0f}"
    return fmt_text(v)


@dataclass(frozen=True)
class Col:
    key: str
    heading: str
    fmt: Callable[[object], str] = fmt_text
    numeric: bool = False
    tone: Callable[[object], str] | None = None  # a CSS class from the raw value


def cell(tag: str, col: Col, text: str, extra_class: str = "") -> str:
    classes = " ".join(c for c in ("num" if col.numeric else "", extra_class) if c)
    attr = f' class="{classes}"' if classes else ""
    return f'<{tag} data-col="{esc(col.key)}"{attr}>{esc(text)}</{tag}>'


def table(
    cols: Sequence[Col],
    rows: Sequence[dict],
    table_id: str,
    caption: str = "",
    footer: dict | None = None,
    row_class: Callable[[dict], str] | None = None,
) -> str:
    """An escaped HTML table; ``footer`` (same keys) becomes a totals row."""
    head = "".join(
        f'<th scope="col"{" class=num" if c.numeric else ""}>{esc(c.heading)}</th>' for c in cols
    )
    body = []
    for r in rows:
        cls = row_class(r) if row_class else ""
        cls_attr = f' class="{esc(cls)}"' if cls else ""
        body.append(
            f"<tr{cls_attr}>"
            + "".join(
                cell("td", c, c.fmt(r.get(c.key)), c.tone(r.get(c.key)) if c.tone else "")
                for c in cols
            )
            + "</tr>"
        )
    foot = ""
    if footer is not None:
        foot = (
            "<tfoot><tr>"
            + "".join(
                cell("td", c, c.fmt(footer.get(c.key)) if c.key in footer else "") for c in cols
            )
            + "</tr></tfoot>"
        )
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<table id="{esc(table_id)}">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>{foot}</table>"
    )


def totals(rows: Sequence[dict], keys: Sequence[str], label_key: str, label: str) -> dict:
    """A totals row for ``table``: sums of ``keys`` (None when every value is missing)."""
    out: dict = {label_key: label}
    for k in keys:
        vals = [r.get(k) for r in rows if not _missing(r.get(k))]
        out[k] = sum(vals) if vals else None
    return out


def figure(svg: str, caption: str) -> str:
    """A chart (trusted SVG from report_charts, never data-derived markup) with its caption."""
    return f'<figure class="chart">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def section(anchor: str, title: str, intro: str, body: str) -> str:
    intro_html = f'<p class="intro">{esc(intro)}</p>' if intro else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{intro_html}{body}</section>'


def key_figure(label: str, value: str, note: str, tone: str = "") -> str:
    return (
        f'<div class="kpi {esc(tone)}"><div class="kpi-label">{esc(label)}</div>'
        f'<div class="kpi-value">{esc(value)}</div><div class="kpi-note">{esc(note)}</div></div>'
    )
